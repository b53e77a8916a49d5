-- Releases and rollouts (releases/, docs/releases.md). A release is an
-- immutable application version; a channel names the release its followers
-- run; workspace_releases says which channel a workspace follows (or which
-- release it pins) and which release its spec carries. A rollout is a durable
-- plan: every member is assigned to a wave when it starts, and each member's
-- state is stored, so a restart resumes exactly where it stopped.
CREATE TABLE releases (
  name       TEXT PRIMARY KEY,
  seq        INTEGER NOT NULL,            -- creation order: the version order of upgrade paths
  image      TEXT NOT NULL,
  digest     TEXT NOT NULL DEFAULT '',    -- sha256:… or ''
  env        TEXT NOT NULL DEFAULT '{}',  -- JSON object of default env
  min_from   TEXT,                        -- oldest release that may upgrade to this one
  max_from   TEXT,                        -- newest release that may upgrade to this one
  body_hash  TEXT NOT NULL,               -- SHA-256 of the canonical body (idempotent POST)
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX releases_seq ON releases(seq);

CREATE TABLE channels (
  name       TEXT PRIMARY KEY,
  release    TEXT NOT NULL REFERENCES releases(name),
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE workspace_releases (
  workspace_id TEXT PRIMARY KEY,  -- no FK: the scheduler owns workspaces
  channel      TEXT,              -- followed channel, NULL when pinned
  pinned       TEXT,              -- pinned release, NULL when following a channel
  release      TEXT,              -- the release the workspace's spec carries
  updated_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX workspace_releases_channel ON workspace_releases(channel);

CREATE TABLE rollouts (
  id              TEXT PRIMARY KEY,      -- ro_<time-ordered id>
  channel         TEXT,                  -- NULL for a selector rollout
  selector        TEXT NOT NULL,         -- JSON, as given
  from_release    TEXT,
  to_release      TEXT NOT NULL,
  spec            TEXT NOT NULL,         -- JSON: waves, max_unavailable, bake_s, gate, on_failure
  state           TEXT NOT NULL,         -- running | paused | aborting | rolling_back | completed | aborted | rolled_back
  wave            INTEGER NOT NULL DEFAULT 0,
  waves           INTEGER NOT NULL,
  wave_started_at INTEGER NOT NULL,
  bake_started_at INTEGER,               -- the current wave passed its gate at
  promoted_wave   INTEGER,               -- promote skipped this wave's bake
  acked_wave      INTEGER,               -- resume accepted this wave's failed gate
  conditions      TEXT NOT NULL DEFAULT '[]',  -- JSON pause conditions [{reason,message,since}]
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  finished_at     INTEGER
) WITHOUT ROWID;
CREATE INDEX rollouts_active ON rollouts(state, id);

CREATE TABLE rollout_members (
  rollout_id   TEXT NOT NULL REFERENCES rollouts(id),
  workspace_id TEXT NOT NULL,
  region       TEXT NOT NULL,
  wave         INTEGER NOT NULL,
  state        TEXT NOT NULL,  -- pending | in_flight | done | failed | skipped_region_down | skipped_busy | rolled_back
  from_spec    TEXT NOT NULL,  -- JSON: the workspace's spec before (rollback)
  from_release TEXT,
  generation   INTEGER NOT NULL DEFAULT 0,  -- the generation carrying to_release
  message      TEXT NOT NULL DEFAULT '',
  started_at   INTEGER,
  finished_at  INTEGER,
  PRIMARY KEY (rollout_id, workspace_id)
) WITHOUT ROWID;
CREATE INDEX rollout_members_wave ON rollout_members(rollout_id, wave, state);
CREATE INDEX rollout_members_workspace ON rollout_members(workspace_id);
