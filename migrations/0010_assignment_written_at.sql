-- Changelog retention by time as well as by count (scheduler.changelog_retention_s):
-- when each assignment row was last written. Rows written before this
-- migration read 0, i.e. "old enough", so only the count rule holds them.
ALTER TABLE assignments ADD COLUMN written_at INTEGER NOT NULL DEFAULT 0;  -- unix ms
