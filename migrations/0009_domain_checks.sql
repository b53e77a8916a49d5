-- The custom-domain verifier schedules itself from the domains table
-- (docs/domains.md "Verification and limits"): one indexed next_check_at per
-- live domain instead of one `domain.check` row per domain in the shared job
-- queue, so 10,000 pending domains cost no lease/retry writes and never queue
-- in front of certificate orders or DNS provider jobs.
ALTER TABLE domains ADD COLUMN next_check_at INTEGER;  -- unix ms; NULL for deleted rows
UPDATE domains SET next_check_at = (SELECT j.run_at FROM jobs j WHERE j.kind = 'domain.check' AND j.key = domains.id)
  WHERE deleted_at IS NULL;
UPDATE domains SET next_check_at = updated_at WHERE deleted_at IS NULL AND next_check_at IS NULL;
DELETE FROM jobs WHERE kind = 'domain.check';
CREATE INDEX domains_due ON domains(next_check_at) WHERE deleted_at IS NULL;
