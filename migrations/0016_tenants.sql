-- Tenants, plans and usage metering (tenants/, docs/tenants.md; issue #12).
--
-- A suspended workspace keeps its placement and DNS; its assignment says
-- "suspended" and the agent scales it to zero.
ALTER TABLE workspaces ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;

-- Tenant-wide tenant tokens (fc_tnt_…): see every workspace of the tenant.
-- '' for every other token (a per-workspace tenant token keeps workspace_id).
ALTER TABLE tokens ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';

-- A customer account. Owns workspaces through workspace_tenancy.
CREATE TABLE tenants (
  id         TEXT PRIMARY KEY,      -- ten_…
  name       TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL       -- ms since the epoch
);

-- The tenant and plan of a workspace (tenants/ owns it; the row goes with
-- the workspace through the scheduler's scope listener).
CREATE TABLE workspace_tenancy (
  workspace_id  TEXT PRIMARY KEY,
  tenant_id     TEXT NOT NULL DEFAULT '',  -- '' = no tenant
  plan          TEXT NOT NULL DEFAULT '',  -- '' = no plan
  trial_ends_at INTEGER NOT NULL DEFAULT 0 -- ms since the epoch; 0 = no trial
);
CREATE INDEX workspace_tenancy_tenant ON workspace_tenancy(tenant_id);

-- Usage metering: the one open interval of each metered workspace. It is
-- closed into usage_intervals at every transition and every hour boundary.
-- Times are whole seconds since the epoch (usage is exact to the second).
CREATE TABLE usage_open (
  workspace_id TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL,
  plan         TEXT NOT NULL,
  state        TEXT NOT NULL,      -- running | suspended
  memory_mib   INTEGER NOT NULL,
  cpu_millis   INTEGER NOT NULL,
  since_s      INTEGER NOT NULL
);

-- Closed intervals, each inside one hour [start_s, end_s), end_s > start_s.
-- Kept after the workspace is deleted (billing history).
CREATE TABLE usage_intervals (
  id           INTEGER PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  tenant_id    TEXT NOT NULL,
  plan         TEXT NOT NULL,
  state        TEXT NOT NULL,
  memory_mib   INTEGER NOT NULL,
  cpu_millis   INTEGER NOT NULL,
  start_s      INTEGER NOT NULL,
  end_s        INTEGER NOT NULL
);
CREATE INDEX usage_intervals_tenant ON usage_intervals(tenant_id, start_s);
CREATE INDEX usage_intervals_start ON usage_intervals(start_s);

-- The hours whose usage.hourly events were appended (once per hour, also
-- across restarts).
CREATE TABLE usage_hours_reported (
  hour_s INTEGER NOT NULL PRIMARY KEY
);
