-- depends: 0006_first_seen_rollups
-- Release 0.3: the dashboard. Sessions live here (by the SHA-256 of their id, so a copy of
-- the database signs nobody in) so a sign-out ends them on every host; failed sign-ins are
-- counted here so the limit holds across workers and hosts. The fold keeps each account's
-- first and last receipt, for "last webhook received" without scanning the events.

CREATE TABLE dashboard_sessions (
    sid_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at_ms);

CREATE TABLE account_receipts (
    account TEXT PRIMARY KEY,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO account_receipts (account, first_ms, last_ms)
SELECT account, min(received_at_ms), max(received_at_ms) FROM events GROUP BY account;
