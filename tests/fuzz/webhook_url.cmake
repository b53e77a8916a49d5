# Included from tests/CMakeLists.txt: the webhook URL guard (webhooks/guard.cpp).
target_link_libraries(replay_webhook_url PRIVATE fc_webhooks)
