-- Several daemons on one PostgreSQL (issue #15 §2, docs/storage.md "Several
-- daemons"): the leader lease. One row per lease ('leader'). A daemon takes
-- it over only once expires_at_ms (the database's clock) has passed, and
-- every takeover increments epoch: the fencing token. The leader's every
-- write transaction checks, in the same transaction, that the row still
-- names its holder and epoch, so a paused old leader can never write after a
-- new one took over. advertise_url: where the standbys forward requests.
-- SQLite (one daemon, always the leader) never uses it.
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  advertise_url TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL
);
