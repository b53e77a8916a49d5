-- Foundation: API tokens, the durable job queue, idempotency keys, settings.
-- Times are Unix milliseconds (INTEGER) unless a column says otherwise.

CREATE TABLE tokens (
  id            TEXT PRIMARY KEY,           -- tok_<ulid>; not secret
  kind          TEXT NOT NULL CHECK (kind IN ('admin', 'agent', 'tenant')),
  sha256        TEXT NOT NULL UNIQUE,       -- hex SHA-256 of the whole token
  region        TEXT,                       -- agent tokens
  workspace_id  TEXT,                       -- tenant tokens
  created_at    INTEGER NOT NULL,
  last_used_at  INTEGER
) WITHOUT ROWID;

CREATE TABLE jobs (
  id           INTEGER PRIMARY KEY,
  kind         TEXT NOT NULL,
  key          TEXT NOT NULL,               -- dedupe key within kind ('' = none)
  payload      TEXT NOT NULL DEFAULT '{}',
  state        TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'leased', 'dead')),
  attempts     INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 0,  -- 0 = retry forever
  run_at       INTEGER NOT NULL,
  lease_until  INTEGER,
  last_error   TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX jobs_kind_key ON jobs(kind, key) WHERE key <> '';
CREATE INDEX jobs_due ON jobs(state, run_at);

CREATE TABLE idempotency_keys (
  scope        TEXT NOT NULL,               -- token id + route
  key          TEXT NOT NULL,
  body_sha256  TEXT NOT NULL,
  status       INTEGER NOT NULL,
  response     TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;

CREATE TABLE settings (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL
) WITHOUT ROWID;
