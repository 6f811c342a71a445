-- A dedupe key holds only while a job with it is pending or running: a later job reusing the key
-- (a second invitation, a new reminder) must run, not be dropped.

ALTER TABLE jobs DROP CONSTRAINT IF EXISTS jobs_dedupe_key_key;
CREATE UNIQUE INDEX jobs_live_dedupe_key ON jobs(dedupe_key) WHERE state IN ('pending', 'running');
