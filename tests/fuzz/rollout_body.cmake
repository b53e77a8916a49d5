# Included from tests/CMakeLists.txt: the rollout body fuzz target needs the releases core.
target_link_libraries(replay_rollout_body PRIVATE fc_releases)
