-- depends: 0001_baseline
-- Release 0.2: when observation of each account began, and when each first sighting was
-- first received (for reports "as known at" an instant; NULL for rows stored by 0.1).

CREATE TABLE observation (
    account TEXT PRIMARY KEY,
    since_ms INTEGER NOT NULL
) WITHOUT ROWID;

ALTER TABLE entity_first_seen ADD COLUMN known_ms INTEGER;
