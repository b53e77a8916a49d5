-- TXT records the embedded DNS server publishes for open ACME DNS-01
-- challenges: `_acme-challenge.<name>` for names in the platform zone, and
-- `<id>._acme.<zone>` for customers who delegated their `_acme-challenge`
-- by CNAME. Written by certs/, read by the zone builder.
CREATE TABLE dns_challenges (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,              -- absolute owner name, no trailing dot, lower case
  value       TEXT NOT NULL,              -- the TXT value (base64url digest)
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL            -- removed after this even if never cleaned up
);
CREATE INDEX dns_challenges_name ON dns_challenges(name);
