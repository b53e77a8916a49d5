-- What fleetcommand pushed to each external DNS provider (RFC 2136 primary),
-- per owner name and type, and what it wants there now. The reconciler
-- (app/dns_publisher, job kind "dns.provider.sync") sends the difference and
-- only ever deletes records listed in `pushed`: records added by others in
-- the same zone are never touched.
CREATE TABLE dns_provider_records (
  provider    TEXT NOT NULL,     -- "<server>/<zone>" as configured in dns.providers
  name        TEXT NOT NULL,     -- absolute owner name, no trailing dot, lower case
  type        TEXT NOT NULL,     -- "A", "AAAA", "CNAME", "TXT"
  ttl         INTEGER NOT NULL,
  desired     TEXT,              -- JSON list of rdata (presentation); NULL = remove
  pushed      TEXT,              -- JSON list last accepted by the provider; NULL = nothing
  state       TEXT NOT NULL CHECK (state IN ('synced', 'pending', 'failed')),
  last_error  TEXT,
  synced_at   INTEGER,           -- unix ms of the last successful push
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (provider, name, type)
);
CREATE INDEX dns_provider_records_name ON dns_provider_records(name);
CREATE INDEX dns_provider_records_unsynced ON dns_provider_records(provider) WHERE state <> 'synced';
