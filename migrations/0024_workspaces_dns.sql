-- The names DNS publishes (dns::Publisher's build at start, docs/dns.md
-- "Publishing"): a partial covering index, so the start reads ~40 bytes per
-- published workspace in (dns_region, name) order instead of scanning the
-- whole workspaces table (~700 bytes a row with its spec) at 1M workspaces.
CREATE INDEX workspaces_dns ON workspaces(dns_region, name) WHERE dns_region IS NOT NULL;
