# Included from tests/CMakeLists.txt for replay_acme (seed corpus replay).
target_link_libraries(replay_acme PRIVATE fc_certs)
