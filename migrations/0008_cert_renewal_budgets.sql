-- Certificates: renewal information (RFC 9773 ARI) and the issuers' budgets as
-- token buckets, and DNS-01 TXT values in external zones (docs/certs.md).
ALTER TABLE certificates ADD COLUMN ari_check_at INTEGER;      -- next renewalInfo request; NULL: none planned
ALTER TABLE certificates ADD COLUMN ari_window_start INTEGER;  -- last suggested window (ms), NULL: none
ALTER TABLE certificates ADD COLUMN ari_window_end INTEGER;

-- From now on cert_order_names.domain (0005) holds the registered domain by
-- the Public Suffix List (example.co.uk), no longer the last two labels.

-- One GCRA bucket per issuer, limit and key: `tat` is the theoretical
-- arrival time (ms); a bucket with no row is full.
CREATE TABLE cert_budget_buckets (
  issuer  TEXT NOT NULL,
  bucket  TEXT NOT NULL,      -- new_orders | certs_per_domain | duplicates | failed_validations
  key     TEXT NOT NULL,      -- '' | registered domain | names_key | hostname
  tat     INTEGER NOT NULL,
  PRIMARY KEY (issuer, bucket, key)
);

-- DNS-01 TXT values written to external zones by RFC 2136 (dns.providers[]):
-- deleted after validation; a leftover (crash, dropped order) is deleted by
-- the daemon's sweep once expires_at has passed.
CREATE TABLE cert_dns01_external (
  server      TEXT NOT NULL,
  zone        TEXT NOT NULL,
  name        TEXT NOT NULL,
  value       TEXT NOT NULL,
  expires_at  INTEGER NOT NULL,
  PRIMARY KEY (server, zone, name, value)
);
