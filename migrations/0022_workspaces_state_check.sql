-- workspaces.state's CHECK as comparisons (issue #16, docs/BENCHMARKS.md
-- "Scheduler"): SQLite evaluates `state IN (3 values)` through an ephemeral
-- b-tree built on every INSERT (EXPLAIN: OpenEphemeral; ~3 % of the daemon's
-- CPU per placement), `a = x OR a = y OR a = z` without one. Same rows, same
-- rule. A CHECK cannot be altered, so the table is rebuilt; placements
-- (ON DELETE CASCADE to workspaces) is set aside first, so dropping the old
-- table deletes none of its rows, and put back after. Columns, keys and
-- indexes as before (0002, 0012's observed_since, 0016's suspended).
CREATE TABLE workspaces_0022 (
  id                  TEXT PRIMARY KEY,             -- ws_<time-ordered id>
  name                TEXT NOT NULL UNIQUE,
  region              TEXT NOT NULL REFERENCES regions(id),
  target_region       TEXT REFERENCES regions(id),  -- while migrating
  state               TEXT NOT NULL DEFAULT 'scheduled'
                        CHECK (state = 'scheduled' OR state = 'migrating' OR state = 'deleting'),
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
  updated_at          INTEGER NOT NULL,
  observed_since      INTEGER NOT NULL DEFAULT 0,
  suspended           INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO workspaces_0022(id, name, region, target_region, state, generation, memory_mib,
  cpu_millis, placement, spec, observed_generation, observed_phase, observed_message, dns_region,
  created_at, updated_at, observed_since, suspended)
SELECT id, name, region, target_region, state, generation, memory_mib, cpu_millis, placement,
  spec, observed_generation, observed_phase, observed_message, dns_region, created_at,
  updated_at, observed_since, suspended
FROM workspaces;

CREATE TABLE placements_0022 AS
  SELECT workspace_id, region, memory_mib, cpu_millis, releasing FROM placements;
DROP TABLE placements;
DROP TABLE workspaces;
ALTER TABLE workspaces_0022 RENAME TO workspaces;
CREATE INDEX workspaces_region ON workspaces(region, id);
CREATE INDEX workspaces_state ON workspaces(state, id);

CREATE TABLE placements (
  workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  region        TEXT NOT NULL REFERENCES regions(id),
  memory_mib    INTEGER NOT NULL,
  cpu_millis    INTEGER NOT NULL,
  releasing     INTEGER NOT NULL DEFAULT 0,         -- 1: waiting for the agent's `deleted`
  PRIMARY KEY (workspace_id, region)
) WITHOUT ROWID;
CREATE INDEX placements_region ON placements(region);
INSERT INTO placements(workspace_id, region, memory_mib, cpu_millis, releasing)
  SELECT workspace_id, region, memory_mib, cpu_millis, releasing FROM placements_0022;
DROP TABLE placements_0022;
