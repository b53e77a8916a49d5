-- Status chains (issue #11 §3, docs/status.md): the highest assignment-log
-- revision an agent of the region has fetched. Kept in memory on the serving
-- path and written here at most once a second (with the heartbeats), so a
-- restart still knows which generations were delivered. 0 = nothing fetched.
ALTER TABLE regions ADD COLUMN delivered_revision INTEGER NOT NULL DEFAULT 0;
