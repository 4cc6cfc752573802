-- depends: 0002_observation_known_at
-- Personal data purged per account: raw bodies and personal fields of events dated before
-- `before_ms` are gone; `meterwise rebuild` keeps the derived rows of those cycles.

CREATE TABLE purges (
    account TEXT PRIMARY KEY,
    before_ms INTEGER NOT NULL,
    purged_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
