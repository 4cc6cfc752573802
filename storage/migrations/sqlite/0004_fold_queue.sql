-- depends: 0003_purges
-- Release 0.3: the request path only inserts. Each delivery stores its sightings (the
-- distinct entities it names) and queues its events for folding; the aggregates
-- (entity_first_seen, activity_hourly, usage_sessions) are updated by the fold, in batches,
-- in the same transaction that removes the folded events from the queue: exactly once, in
-- whatever order events commit. Events stored by earlier releases are already folded.

CREATE TABLE sightings (
    event_id INTEGER NOT NULL REFERENCES events(id),
    account TEXT NOT NULL,
    metric TEXT NOT NULL,
    entity TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    session_id TEXT,
    user_id TEXT,
    email TEXT
);
CREATE INDEX sightings_event ON sightings (event_id);

CREATE TABLE fold_pending (
    account TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    PRIMARY KEY (account, event_id)
) WITHOUT ROWID;
