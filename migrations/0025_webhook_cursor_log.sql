-- Webhook delivery without a row per delivered event (docs/webhooks.md):
-- webhook_endpoints.cursor is now each endpoint's delivered-up-to event
-- sequence (every event it subscribes to at or below it was delivered, or has
-- a webhook_deliveries row), written once per record interval, not per event.
-- Rows are kept only for deliveries that failed and wait for a retry (and the
-- ones behind them in their lane), for replays, and from before this level;
-- the delivery log reads them by event sequence, hence this index. Existing
-- pending rows stay as they are and are delivered after the upgrade (their
-- events are at or below the cursor, which stays).
CREATE INDEX webhook_deliveries_event ON webhook_deliveries(endpoint_id, event_seq);
