-- Webhook endpoints and their deliveries (webhooks/, docs/webhooks.md).
-- An endpoint's `cursor` is the global event sequence (events.seq) up to which
-- its deliveries were created; a delivery row is one event for one endpoint,
-- kept as the endpoint's delivery log. Secrets are sealed with the
-- key-encryption key (docs/certs.md), never stored in clear.
CREATE TABLE webhook_endpoints (
  id                  TEXT PRIMARY KEY,            -- "whk_" + time-ordered id
  url                 TEXT NOT NULL,
  event_types         TEXT NOT NULL DEFAULT '[]',  -- JSON list of types or "family.*"; [] = all
  description         TEXT NOT NULL DEFAULT '',
  secret_sealed       TEXT NOT NULL,
  old_secret_sealed   TEXT,                        -- signs too until old_secret_until
  old_secret_until    INTEGER,
  state               TEXT NOT NULL DEFAULT 'enabled',  -- enabled | disabled
  disabled_reason     TEXT,
  cursor              INTEGER NOT NULL DEFAULT 0,
  failing_since       INTEGER,                     -- first failure since the last success
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
);
CREATE TABLE webhook_deliveries (
  id              INTEGER PRIMARY KEY,
  endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  event_seq       INTEGER NOT NULL,
  event_id        TEXT NOT NULL,
  event_type      TEXT NOT NULL,
  workspace_id    TEXT NOT NULL DEFAULT '',
  lane            INTEGER NOT NULL,                -- hash(workspace_id) mod lanes
  state           TEXT NOT NULL DEFAULT 'pending', -- pending | delivered
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_status     INTEGER,                         -- HTTP status of the last attempt
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  delivered_at    INTEGER
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(endpoint_id, state, lane, id);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries(endpoint_id, id);
