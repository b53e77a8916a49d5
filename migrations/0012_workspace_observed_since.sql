-- The last transition of what the agent observed (issue #18): the time the
-- reported phase or generation last changed, served as `observed.since`.
-- Unix ms; 0 = nothing reported yet.
ALTER TABLE workspaces ADD COLUMN observed_since INTEGER NOT NULL DEFAULT 0;
UPDATE workspaces SET observed_since = updated_at WHERE observed_generation > 0;
