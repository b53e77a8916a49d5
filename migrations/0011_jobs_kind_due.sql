-- The job runner leases per kind (fair selection across kinds): one range of
-- (kind, state, run_at) per kind, in run_at order, however many jobs of
-- another kind are due. It replaces jobs_due, which no query needs any more
-- (one index less to update per lease and outcome).
CREATE INDEX jobs_kind_due ON jobs(kind, state, run_at);
DROP INDEX jobs_due;
