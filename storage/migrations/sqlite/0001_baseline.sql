-- Release 0.1's schema (user_version 6): the baseline every later migration builds on.
-- A database created by 0.1 is marked as having applied this one, never run again.

CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    provider TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    event_type TEXT NOT NULL,
    session_id TEXT,
    ts_ms INTEGER NOT NULL,
    fqn TEXT,
    app_id TEXT,
    received_at_ms INTEGER NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (account, idempotency_key)
);
-- Few indexes on purpose: every index with random keys costs whole WAL pages per commit.

-- JaaS USAGE: one row per element of data[].
CREATE TABLE IF NOT EXISTS usage_devices (
    event_id INTEGER NOT NULL REFERENCES events(id),
    account TEXT NOT NULL,
    session_id TEXT,
    ts_ms INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    user_id TEXT,
    email TEXT,
    kid TEXT,
    call_direction TEXT,
    participant_id TEXT
);

-- The first time each distinct entity (a JaaS device, a chat user...) was seen in a cycle,
-- kept at ingest so that MAU never needs COUNT(DISTINCT) over the raw rows.
CREATE TABLE IF NOT EXISTS entity_first_seen (
    account TEXT NOT NULL,
    metric TEXT NOT NULL,
    cycle_start_ms INTEGER NOT NULL,
    entity TEXT NOT NULL,
    first_ts_ms INTEGER NOT NULL,
    session_id TEXT,
    user_id TEXT,
    email TEXT,
    PRIMARY KEY (account, metric, cycle_start_ms, entity)
) WITHOUT ROWID;

-- Sightings and events per hour (event time): the activity the forecast and the silence
-- check need, without scanning raw rows.
CREATE TABLE IF NOT EXISTS activity_hourly (
    account TEXT NOT NULL,
    metric TEXT NOT NULL,
    hour_ms INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (account, metric, hour_ms)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS participants (
    event_id INTEGER NOT NULL REFERENCES events(id),
    account TEXT NOT NULL,
    session_id TEXT,
    ts_ms INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    lobby INTEGER NOT NULL,
    joined INTEGER NOT NULL,
    participant_id TEXT,
    user_id TEXT,
    name TEXT,
    email TEXT,
    moderator INTEGER,
    disconnect_reason TEXT,
    is_breakout INTEGER,
    breakout_room_id TEXT
);
CREATE INDEX IF NOT EXISTS participants_account_session ON participants (account, session_id);

CREATE TABLE IF NOT EXISTS recordings (
    event_id INTEGER NOT NULL REFERENCES events(id),
    account TEXT NOT NULL,
    session_id TEXT,
    ts_ms INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    duration_sec INTEGER,
    start_ts_ms INTEGER,
    end_ts_ms INTEGER,
    recording_session_id TEXT,
    initiator_id TEXT,
    link TEXT
);
CREATE INDEX IF NOT EXISTS recordings_account_ts ON recordings (account, ts_ms);

CREATE TABLE IF NOT EXISTS uploads (
    event_id INTEGER NOT NULL REFERENCES events(id),
    account TEXT NOT NULL,
    session_id TEXT,
    ts_ms INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    link TEXT
);
CREATE INDEX IF NOT EXISTS uploads_account_ts ON uploads (account, ts_ms);

CREATE TABLE IF NOT EXISTS rooms (
    event_id INTEGER NOT NULL REFERENCES events(id),
    account TEXT NOT NULL,
    session_id TEXT,
    ts_ms INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    conference TEXT,
    is_breakout INTEGER,
    breakout_room_id TEXT
);
CREATE INDEX IF NOT EXISTS rooms_account_session ON rooms (account, session_id);

-- DIAL_*, SIP_* and LIVE_STREAM_*: STARTED/ENDED halves, paired into intervals later.
CREATE TABLE IF NOT EXISTS calls (
    event_id INTEGER NOT NULL REFERENCES events(id),
    account TEXT NOT NULL,
    session_id TEXT,
    ts_ms INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    kind TEXT NOT NULL,
    phase TEXT NOT NULL,
    participant_id TEXT,
    nick TEXT,
    sip_address TEXT
);
CREATE INDEX IF NOT EXISTS calls_account_ts ON calls (account, ts_ms);

-- What each alert rule has fired, per account, cycle, metric and level: never twice.
CREATE TABLE IF NOT EXISTS alert_state (
    account TEXT NOT NULL,
    cycle_start_ms INTEGER NOT NULL,
    metric TEXT NOT NULL,
    rule TEXT NOT NULL,
    level TEXT NOT NULL,
    fired_at_ms INTEGER NOT NULL,
    outbox_key TEXT NOT NULL,
    PRIMARY KEY (account, cycle_start_ms, metric, rule, level)
) WITHOUT ROWID;

-- Email is recorded here before sending and marked sent only when the server accepts it.
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    claimed_until_ms INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at_ms INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status, next_attempt_ms);

-- Leases: one scheduler (and one reconciliation pass) per database at a time.
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    last_run_ms INTEGER NOT NULL DEFAULT 0
);

-- CometChat connection changes (legacy snapshots list every open connection of a user).
CREATE TABLE IF NOT EXISTS connections (
    event_id INTEGER NOT NULL REFERENCES events(id),
    account TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    uid TEXT NOT NULL,
    action TEXT NOT NULL,
    connection_id TEXT,
    snapshot TEXT
);
CREATE INDEX IF NOT EXISTS connections_account_ts ON connections (account, ts_ms);

-- CometChat call_ended / meeting_ended: participant and session seconds.
CREATE TABLE IF NOT EXISTS call_sessions (
    event_id INTEGER NOT NULL REFERENCES events(id),
    account TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    kind TEXT,
    session_id TEXT,
    voice_s REAL NOT NULL,
    video_s REAL NOT NULL,
    session_s REAL NOT NULL,
    audio_only INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS call_sessions_account_ts ON call_sessions (account, ts_ms);

-- WLL and custom events: who did what, with properties for segmentation.
CREATE TABLE IF NOT EXISTS custom_events (
    event_id INTEGER NOT NULL REFERENCES events(id),
    account TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    event TEXT NOT NULL,
    system INTEGER NOT NULL,
    properties TEXT
);
CREATE INDEX IF NOT EXISTS custom_events_account_ts ON custom_events (account, ts_ms);

-- Rejected and duplicate deliveries, counted per account, reason and hour; no bodies.
-- Sessions that had at least one USAGE event (meetings without one suggest lost webhooks).
CREATE TABLE IF NOT EXISTS usage_sessions (
    account TEXT NOT NULL,
    session_id TEXT NOT NULL,
    PRIMARY KEY (account, session_id)
) WITHOUT ROWID;

-- What the provider invoiced or its console showed (`meterwise invoice record`).
CREATE TABLE IF NOT EXISTS provider_figures (
    account TEXT NOT NULL,
    cycle_start_ms INTEGER NOT NULL,
    mau INTEGER,
    total TEXT,
    lines TEXT NOT NULL,
    recorded_at_ms INTEGER NOT NULL,
    note TEXT,
    PRIMARY KEY (account, cycle_start_ms)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS delivery_counts (
    account TEXT NOT NULL,
    reason TEXT NOT NULL,
    hour_ms INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (account, reason, hour_ms)
) WITHOUT ROWID;
