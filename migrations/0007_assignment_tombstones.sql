-- Log compaction looks only at delete tombstones; keep that scan off the
-- (many) live apply rows of a region.
CREATE INDEX assignments_tombstones ON assignments(region, revision) WHERE action = 'delete';
