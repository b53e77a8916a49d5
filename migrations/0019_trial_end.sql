-- The end of a plan's trial (tenants/, docs/tenants.md "Trials"): a workspace
-- whose trial_ends_at has passed gets workspace.trial_ended once (and is
-- suspended when its plan says suspend_after_trial); trial_ended records that
-- it was done, so a restart does it nothing twice.
ALTER TABLE workspace_tenancy ADD COLUMN trial_ended INTEGER NOT NULL DEFAULT 0;  -- 1 once ended
CREATE INDEX workspace_tenancy_trial ON workspace_tenancy(trial_ended, trial_ends_at);
