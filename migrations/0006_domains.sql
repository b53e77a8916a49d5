-- Custom domains (docs/domains.md): one row per claim. Several workspaces may
-- hold pending claims for one hostname; only one live row per hostname may be
-- verified. Deleted rows stay as reservations until reserved_until.
CREATE TABLE domains (
  id              TEXT PRIMARY KEY,                 -- dom_<time-ordered id>
  hostname        TEXT NOT NULL,                    -- normalised A-label form
  workspace_id    TEXT NOT NULL,                    -- no FK: rows outlive the workspace (reservation)
  status          TEXT NOT NULL CHECK (status IN ('pending_verification', 'issuing', 'active',
                                                  'failed', 'moved', 'deleted')),
  token           TEXT NOT NULL,                    -- fc-verify=…
  verified_at     INTEGER,
  routing_type    TEXT NOT NULL DEFAULT 'CNAME',
  routing_ok      INTEGER NOT NULL DEFAULT 0,
  routing_found   TEXT NOT NULL DEFAULT '',
  challenge       TEXT,                             -- http-01 | dns-01, once ordered
  certificate_id  TEXT,
  cert_generation INTEGER,                          -- workspace generation carrying the certificate
  routed          INTEGER NOT NULL DEFAULT 0,       -- 1: in the assignment's hostnames
  last_error      TEXT,
  attempts        INTEGER NOT NULL DEFAULT 0,       -- failed checks in the current state (backoff)
  last_checked_at INTEGER,
  moved_at        INTEGER,
  deleted_at      INTEGER,
  reserved_until  INTEGER,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX domains_claim ON domains(hostname, workspace_id) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX domains_verified ON domains(hostname) WHERE verified_at IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX domains_hostname ON domains(hostname, created_at);
CREATE INDEX domains_workspace ON domains(workspace_id, created_at);
CREATE INDEX domains_issuing ON domains(status) WHERE status = 'issuing';
