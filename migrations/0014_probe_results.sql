-- Live checks (probes/, docs/probes.md): the latest probe result per hostname
-- and how many probes in a row failed (a live hostname turns failing on the
-- second), plus the leaf fingerprint the hostname served at its last success,
-- which stays accepted until the agent serves the renewed certificate.
CREATE TABLE probe_results (
  hostname     TEXT PRIMARY KEY,            -- lower case, no trailing dot
  workspace_id TEXT NOT NULL DEFAULT '',
  status       TEXT NOT NULL,               -- live | failing | unknown
  step         TEXT NOT NULL,               -- dns | connect | tls | certificate | http
  detail       TEXT NOT NULL DEFAULT '',
  failures     INTEGER NOT NULL DEFAULT 0,  -- consecutive failed probes
  fingerprint  TEXT NOT NULL DEFAULT '',    -- SHA-256 (hex) of the leaf at the last success
  checked_at   INTEGER NOT NULL             -- ms since the epoch
);
CREATE INDEX probe_results_workspace ON probe_results(workspace_id);
