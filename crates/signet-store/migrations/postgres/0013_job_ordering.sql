-- Jobs that must run in the order they were enqueued (the sender callbacks of one envelope) share
-- an ordering key: one is not claimed while an earlier one with the key is pending or running.
-- "Earlier" is `seq`, taken from a sequence at insert (existing rows get theirs here).
CREATE SEQUENCE jobs_seq_values;
ALTER TABLE jobs ADD COLUMN ordering_key TEXT;
ALTER TABLE jobs ADD COLUMN seq BIGINT DEFAULT nextval('jobs_seq_values');
CREATE INDEX jobs_live_ordering_key ON jobs(ordering_key, seq)
    WHERE ordering_key IS NOT NULL AND state IN ('pending', 'running');
