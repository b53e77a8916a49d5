-- Scheduler: regions, workspaces, the capacity ledger (placements) and the
-- per-region assignment log.

CREATE TABLE regions (
  id                TEXT PRIMARY KEY,
  name              TEXT NOT NULL,
  labels            TEXT NOT NULL DEFAULT '{}',     -- JSON object
  ingress           TEXT NOT NULL DEFAULT '{}',     -- {"ipv4":[],"ipv6":[],"hostname":null}
  cap_memory_mib    INTEGER NOT NULL CHECK (cap_memory_mib > 0),
  cap_cpu_millis    INTEGER NOT NULL CHECK (cap_cpu_millis > 0),
  cap_workspaces    INTEGER NOT NULL CHECK (cap_workspaces > 0),
  alloc_memory_mib  INTEGER NOT NULL DEFAULT 0 CHECK (alloc_memory_mib >= 0),
  alloc_cpu_millis  INTEGER NOT NULL DEFAULT 0 CHECK (alloc_cpu_millis >= 0),
  alloc_workspaces  INTEGER NOT NULL DEFAULT 0 CHECK (alloc_workspaces >= 0),
  state             TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'cordoned', 'draining')),
  revision          INTEGER NOT NULL DEFAULT 0,     -- newest assignment-log revision
  min_revision      INTEGER NOT NULL DEFAULT 0,     -- a `since` below this gets 410
  last_heartbeat_at INTEGER,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE workspaces (
  id                  TEXT PRIMARY KEY,             -- ws_<time-ordered id>
  name                TEXT NOT NULL UNIQUE,
  region              TEXT NOT NULL REFERENCES regions(id),
  target_region       TEXT REFERENCES regions(id),  -- while migrating
  state               TEXT NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled', 'migrating', 'deleting')),
  generation          INTEGER NOT NULL DEFAULT 1,
  memory_mib          INTEGER NOT NULL,
  cpu_millis          INTEGER NOT NULL,
  placement           TEXT NOT NULL DEFAULT '{}',
  spec                TEXT NOT NULL DEFAULT '{}',
  observed_generation INTEGER NOT NULL DEFAULT 0,
  observed_phase      TEXT NOT NULL DEFAULT 'pending',
  observed_message    TEXT NOT NULL DEFAULT '',
  dns_region          TEXT,                         -- region DNS points at; NULL until running
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX workspaces_region ON workspaces(region, id);
CREATE INDEX workspaces_state ON workspaces(state, id);

-- The capacity ledger: one row per region a workspace holds capacity in
-- (two during a migration). regions.alloc_* is the sum of these rows.
CREATE TABLE placements (
  workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  region        TEXT NOT NULL REFERENCES regions(id),
  memory_mib    INTEGER NOT NULL,
  cpu_millis    INTEGER NOT NULL,
  releasing     INTEGER NOT NULL DEFAULT 0,         -- 1: waiting for the agent's `deleted`
  PRIMARY KEY (workspace_id, region)
) WITHOUT ROWID;
CREATE INDEX placements_region ON placements(region);

-- The assignment log, compacted by key: the newest assignment per (region,
-- workspace) with the revision that last changed it. `delete` rows are
-- tombstones, removed by compaction once older than the retention, which
-- raises regions.min_revision.
CREATE TABLE assignments (
  region        TEXT NOT NULL,
  workspace_id  TEXT NOT NULL,
  revision      INTEGER NOT NULL,
  action        TEXT NOT NULL CHECK (action IN ('apply', 'delete')),
  body          TEXT NOT NULL,                      -- the assignment as served (JSON)
  PRIMARY KEY (region, workspace_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX assignments_revision ON assignments(region, revision);
