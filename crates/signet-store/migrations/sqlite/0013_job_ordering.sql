-- Jobs that must run in the order they were enqueued (the sender callbacks of one envelope) share
-- an ordering key: one is not claimed while an earlier one with the key is pending or running.
-- "Earlier" is `seq`: here the rowid, which SQLite gives in insertion order (one larger than the
-- largest), copied by a trigger because a column cannot default to it.
ALTER TABLE jobs ADD COLUMN ordering_key TEXT;
ALTER TABLE jobs ADD COLUMN seq INTEGER;
UPDATE jobs SET seq = rowid;
CREATE TRIGGER jobs_seq AFTER INSERT ON jobs
BEGIN
    UPDATE jobs SET seq = NEW.rowid WHERE rowid = NEW.rowid;
END;
CREATE INDEX jobs_live_ordering_key ON jobs(ordering_key, seq)
    WHERE ordering_key IS NOT NULL AND state IN ('pending', 'running');
