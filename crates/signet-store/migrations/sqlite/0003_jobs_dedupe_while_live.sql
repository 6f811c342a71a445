-- A dedupe key holds only while a job with it is pending or running: a later job reusing the key
-- (a second invitation, a new reminder) must run, not be dropped. SQLite cannot drop a column's
-- UNIQUE constraint, so the table is rebuilt with the same columns and a partial unique index.

CREATE TABLE jobs_new (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT,
    state TEXT NOT NULL,
    run_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    lease_until INTEGER,
    worker TEXT,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
) STRICT;
INSERT INTO jobs_new (id, kind, payload, dedupe_key, state, run_at, attempts, max_attempts,
                      lease_until, worker, last_error, created_at, finished_at)
    SELECT id, kind, payload, dedupe_key, state, run_at, attempts, max_attempts,
           lease_until, worker, last_error, created_at, finished_at
    FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_due ON jobs(state, run_at);
CREATE UNIQUE INDEX jobs_live_dedupe_key ON jobs(dedupe_key) WHERE state IN ('pending', 'running');
