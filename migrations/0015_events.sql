-- Lifecycle events (events/, docs/events.md): the durable outbox every
-- component appends to inside the write transaction of the change that caused
-- the event, so an event commits or rolls back with its change. `seq` is the
-- global order (the feed's cursor and the webhooks dispatcher's); events of one
-- workspace also carry their own gap-free sequence.
CREATE TABLE events (
  seq           INTEGER PRIMARY KEY,         -- global, increasing in commit order
  id            TEXT NOT NULL UNIQUE,        -- "evt_" + time-ordered id, stable
  type          TEXT NOT NULL,               -- "workspace.created", "region.unhealthy", ...
  workspace_id  TEXT NOT NULL DEFAULT '',    -- '' when the event has no workspace
  workspace_seq INTEGER NOT NULL DEFAULT 0,  -- 1, 2, ... per workspace; 0 without one
  subject       TEXT NOT NULL DEFAULT '',    -- the resource's id (workspace, hostname, ...)
  data          TEXT NOT NULL,               -- the resource's view, a JSON object
  created_at    INTEGER NOT NULL             -- ms since the epoch
);
CREATE INDEX events_workspace ON events(workspace_id, workspace_seq);
CREATE INDEX events_type ON events(type, seq);
