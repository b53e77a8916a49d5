# Included from tests/CMakeLists.txt: the plain create body reader is in the API library.
target_link_libraries(replay_plain_create PRIVATE fc_api)
