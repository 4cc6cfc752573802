-- depends: 0005_delivery_log
-- Release 0.3: rollups of first sightings kept by the fold (per hour of the cycle, per first
-- session, per user), so a live report reads O(hours + sessions + users) rows instead of
-- every distinct entity; and a time index for the few rows at an instant's edge. Filled here
-- from what is stored, so an upgraded database reports the same figures at once.

CREATE INDEX entity_first_seen_ts ON entity_first_seen (account, metric, cycle_start_ms, first_ts_ms);

CREATE TABLE first_seen_hours (
    account TEXT NOT NULL,
    metric TEXT NOT NULL,
    cycle_start_ms INTEGER NOT NULL,
    hour INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (account, metric, cycle_start_ms, hour)
) WITHOUT ROWID;

CREATE TABLE first_seen_sessions (
    account TEXT NOT NULL,
    metric TEXT NOT NULL,
    cycle_start_ms INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    has_user INTEGER NOT NULL,
    domain TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (account, metric, cycle_start_ms, session_id, has_user, domain)
) WITHOUT ROWID;

CREATE TABLE first_seen_users (
    account TEXT NOT NULL,
    metric TEXT NOT NULL,
    cycle_start_ms INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (account, metric, cycle_start_ms, user_id, domain)
) WITHOUT ROWID;

INSERT INTO first_seen_hours (account, metric, cycle_start_ms, hour, count)
SELECT account, metric, cycle_start_ms, (first_ts_ms - cycle_start_ms) / 3600000, count(*)
FROM entity_first_seen GROUP BY 1, 2, 3, 4;

INSERT INTO first_seen_sessions (account, metric, cycle_start_ms, session_id, has_user, domain, count)
SELECT account, metric, cycle_start_ms, coalesce(session_id, ''),
       (user_id IS NOT NULL AND user_id != ''),
       CASE WHEN email IS NULL THEN '' ELSE lower(substr(email, instr(email, '@') + 1)) END,
       count(*)
FROM entity_first_seen GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO first_seen_users (account, metric, cycle_start_ms, user_id, domain, count)
SELECT account, metric, cycle_start_ms, user_id,
       CASE WHEN email IS NULL THEN '' ELSE lower(substr(email, instr(email, '@') + 1)) END,
       count(*)
FROM entity_first_seen WHERE user_id IS NOT NULL AND user_id != '' GROUP BY 1, 2, 3, 4, 5;
