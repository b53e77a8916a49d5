# Included from tests/CMakeLists.txt: the DNS fuzz target needs the codec.
target_link_libraries(replay_dns PRIVATE fc_dns)
