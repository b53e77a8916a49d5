# Included from tests/CMakeLists.txt: the hostname fuzz target needs the domains core.
target_link_libraries(replay_hostname PRIVATE fc_domains)
