-- Certificates: renewal information (RFC 9773 ARI) and the issuers' budgets as
-- token buckets (docs/certs.md "Renewal" and "Budgets").
ALTER TABLE certificates ADD COLUMN ari_check_at INTEGER;      -- next renewalInfo request; NULL: none planned
ALTER TABLE certificates ADD COLUMN ari_window_start INTEGER;  -- last suggested window (ms), NULL: none
ALTER TABLE certificates ADD COLUMN ari_window_end INTEGER;

-- One GCRA bucket per issuer, limit and key: `tat` is the theoretical
-- arrival time (ms); a bucket with no row is full.
CREATE TABLE cert_budget_buckets (
  issuer  TEXT NOT NULL,
  bucket  TEXT NOT NULL,      -- new_orders | certs_per_domain | duplicates | failed_validations
  key     TEXT NOT NULL,      -- '' | registered domain | names_key | hostname
  tat     INTEGER NOT NULL,
  PRIMARY KEY (issuer, bucket, key)
);
