# Included from tests/CMakeLists.txt: the usage query fuzz target needs the tenants core.
target_link_libraries(replay_usage_query PRIVATE fc_tenants)
