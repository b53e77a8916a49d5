-- Certificates (certs/, docs/certs.md "Daemon"): one row per set of names,
-- its current version (chain + sealed key), the ACME order in flight (its
-- OrderState with the certificate key sealed separately), the orders history
-- that budgets are derived from, HTTP-01 answers served from the database and
-- sealed service secrets (KEK check value, ACME account keys, internal root).
CREATE TABLE certs_meta (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL                     -- sealed values are base64url
);

CREATE TABLE certificates (
  id               TEXT PRIMARY KEY,       -- crt_<id>
  names_key        TEXT NOT NULL UNIQUE,   -- sorted lower-case names joined by ','
  hostnames        TEXT NOT NULL,          -- JSON list, as asked
  workspace_id     TEXT NOT NULL DEFAULT '',
  challenge        TEXT NOT NULL,          -- http-01 | dns-01
  dns01_delegate   TEXT NOT NULL DEFAULT '',
  status           TEXT NOT NULL,          -- pending|valid|renewing|failed|expired
  issuer           TEXT NOT NULL DEFAULT '',  -- issuer of the current version
  issuer_index     INTEGER NOT NULL DEFAULT 0, -- issuer for the next order
  issuer_failures  INTEGER NOT NULL DEFAULT 0, -- failed orders with that issuer in a row
  failures         INTEGER NOT NULL DEFAULT 0, -- failed attempts in a row (backoff)
  version          INTEGER NOT NULL DEFAULT 0,
  not_before       INTEGER,
  not_after        INTEGER,
  renew_after      INTEGER,
  next_attempt_at  INTEGER,
  last_error       TEXT,
  renew            INTEGER NOT NULL DEFAULT 1, -- 0: domain moved, never renew
  chain_pem        TEXT,
  key_sealed       TEXT,
  order_issuer     INTEGER,                -- issuer index of the order in flight
  order_url        TEXT,                   -- of the order in flight
  order_state      TEXT,                   -- OrderState JSON without key_pem
  order_key_sealed TEXT,                   -- its certificate key, sealed
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
);
CREATE INDEX certificates_workspace ON certificates(workspace_id);

CREATE TABLE cert_orders (
  id          INTEGER PRIMARY KEY,
  issuer      TEXT NOT NULL,
  cert_id     TEXT NOT NULL,
  names_key   TEXT NOT NULL,
  order_url   TEXT NOT NULL,
  renewal     INTEGER NOT NULL,
  result      TEXT NOT NULL DEFAULT 'pending',  -- pending|valid|invalid
  created_at  INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX cert_orders_issuer ON cert_orders(issuer, created_at);
CREATE INDEX cert_orders_names ON cert_orders(names_key, finished_at);

CREATE TABLE cert_order_names (
  order_id  INTEGER NOT NULL REFERENCES cert_orders(id) ON DELETE CASCADE,
  name      TEXT NOT NULL,
  domain    TEXT NOT NULL                  -- registered domain (last two labels)
);
CREATE INDEX cert_order_names_name ON cert_order_names(name);
CREATE INDEX cert_order_names_domain ON cert_order_names(domain);

CREATE TABLE acme_http_tokens (
  token              TEXT PRIMARY KEY,
  key_authorization  TEXT NOT NULL,
  cert_id            TEXT NOT NULL,
  expires_at         INTEGER NOT NULL
);
