-- Fewer b-trees written per workspace create (issue #16, docs/BENCHMARKS.md
-- "Scheduler", docs/storage.md "Indexes on the create path"). Every index a
-- create maintains costs a b-tree insert and dirties pages that each group
-- commit writes to the WAL (4 KiB frames, synchronous=FULL).
--
-- workspaces_state (state, id) was read only for the ids of deleting
-- workspaces (domains' sweep); every other state filter is a scan (`?3 = ''
-- OR state = ?3`). A partial index of the deleting workspaces serves that
-- query and is not written by a create.
DROP INDEX workspaces_state;
CREATE INDEX workspaces_deleting ON workspaces(id) WHERE state = 'deleting';

-- events_type (type, seq) is read for region.* and certificate.* events
-- (events::newest_by_subject, events::newest_about), never for workspace.*
-- ones, which are most of the events and all of a create's: those are left
-- out of it.
DROP INDEX events_type;
CREATE INDEX events_type ON events(type, seq) WHERE substr(type, 1, 10) <> 'workspace.';

-- usage_open is read and written by its key (and scanned whole): WITHOUT ROWID
-- keeps the row in the key's b-tree instead of a rowid table plus a separate
-- unique index on workspace_id. Same columns and rows (PostgreSQL: a plain
-- copy, WITHOUT ROWID is SQLite's).
CREATE TABLE usage_open_0026 (
  workspace_id TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL,
  plan         TEXT NOT NULL,
  state        TEXT NOT NULL,      -- running | suspended
  memory_mib   INTEGER NOT NULL,
  cpu_millis   INTEGER NOT NULL,
  since_s      INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO usage_open_0026(workspace_id, tenant_id, plan, state, memory_mib, cpu_millis, since_s)
SELECT workspace_id, tenant_id, plan, state, memory_mib, cpu_millis, since_s FROM usage_open;
DROP TABLE usage_open;
ALTER TABLE usage_open_0026 RENAME TO usage_open;
