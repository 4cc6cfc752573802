"""The SQLite database: schema, and one connection per process and thread (never at import)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from pathlib import Path

import sqlite_utils

SCHEMA_VERSION = 7

SCHEMA = """
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
    known_ms INTEGER,  -- when a sighting was first received (NULL: stored by release 0.1)
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

-- When Meterwise began observing each account (first `meterwise serve` or scheduler start;
-- for a database of an earlier release, its first stored event): earlier usage is unknown.
CREATE TABLE IF NOT EXISTS observation (
    account TEXT PRIMARY KEY,
    since_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS delivery_counts (
    account TEXT NOT NULL,
    reason TEXT NOT NULL,
    hour_ms INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (account, reason, hour_ms)
) WITHOUT ROWID;
"""

_local = threading.local()
MAGIC = b"SQLite format 3\x00"


class StorageUnavailable(Exception):
    """The database cannot take a write that would be kept: answer 503, never 2xx."""


class FileIdentity:
    """The database file a connection opened, to notice it being removed or replaced.

    A connection keeps writing into a file that was unlinked (`rm var/meterwise.db*`) or
    renamed over, and those writes are lost with it; a zeroed header means corruption.
    Three system calls per check: stat the path, compare inodes, read the 16-byte header.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        st = os.fstat(self.fd)
        self.key = (st.st_dev, st.st_ino)

    def problem(self) -> str | None:
        """Why writes to this connection would not be kept, or None."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return "the database file was removed; restart meterwise"
        except OSError as exc:
            return f"the database file cannot be read: {exc.strerror}"
        if (st.st_dev, st.st_ino) != self.key:
            return "the database file was replaced; restart meterwise"
        header = os.pread(self.fd, len(MAGIC), 0)
        if header and header != MAGIC:
            return "the database file is corrupt (bad header); restore a backup"
        return None


def connect(path: str | os.PathLike[str], synchronous: str = "normal") -> sqlite_utils.Database:
    """Open a connection with WAL, a busy timeout and the schema in place."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a writer takes the lock
    # up front instead of failing to upgrade a read lock under contention.
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    conn.execute("PRAGMA foreign_keys = ON")
    db = sqlite_utils.Database(conn)
    if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
        try:
            conn.execute("BEGIN IMMEDIATE")
            for statement in _statements(SCHEMA):
                conn.execute(statement)
            columns = {r[1] for r in conn.execute("PRAGMA table_info(entity_first_seen)")}
            if "known_ms" not in columns:  # version 7: when each first sighting was known
                conn.execute("ALTER TABLE entity_first_seen ADD COLUMN known_ms INTEGER")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return db


def _statements(script: str) -> list[str]:
    """The statements of a schema script (no statement holds a ';' in a string)."""
    text = "\n".join(ln.split("--")[0] for ln in script.splitlines())
    return [s.strip() for s in text.split(";") if s.strip()]


def get_db(path: str | os.PathLike[str], synchronous: str = "normal") -> sqlite_utils.Database:
    """This process's and thread's connection to ``path``, opened on first use.

    Keyed by pid so that a connection inherited across fork() is never reused.
    """
    key = (os.getpid(), str(path))
    cache = getattr(_local, "dbs", None)
    if cache is None:
        cache = _local.dbs = {}
    if key not in cache:
        with _identity_lock:
            known = _identities.get(key)
            if known is not None and (problem := known.problem()):
                raise StorageUnavailable(problem)  # never create a new file in its place
            try:
                cache[key] = connect(path, synchronous)
                if known is None:
                    _identities[key] = FileIdentity(path)
            except (sqlite3.Error, OSError) as exc:
                raise StorageUnavailable(f"the database cannot be opened: {exc}") from None
    return cache[key]


_identities: dict[tuple[int, str], FileIdentity] = {}
_identity_lock = threading.Lock()


def checked_db(path: str | os.PathLike[str], synchronous: str = "normal") -> sqlite_utils.Database:
    """`get_db`, refusing (`StorageUnavailable`) a file that was removed, replaced or corrupted
    since this process first opened it."""
    db = get_db(path, synchronous)
    problem = _identities[(os.getpid(), str(path))].problem()
    if problem:
        raise StorageUnavailable(problem)
    return db


def probe_write(db: sqlite_utils.Database) -> None:
    """Commit a real write (a heartbeat row), so a full disk or read-only file shows."""
    conn = db.conn
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO leases (name, holder, expires_ms) VALUES ('healthz', ?, 0) "
            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder",
            (f"{os.getpid()}",),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class WriteLock:
    """Serialize writers across processes with a blocking flock beside the database.

    SQLite's busy handler polls with sleeps of 1 ms and more when another process holds the
    write lock; a blocking flock wakes the next writer as soon as the lock is released, which
    keeps latency flat with several gunicorn workers. A thread lock covers threads of one
    process (flock is per open file, shared by its threads).
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.path = f"{db_path}.lock"
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> WriteLock:
        self._thread_lock.acquire()
        try:
            if self._fd is None or self._pid != os.getpid():
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


_locks: dict[str, WriteLock] = {}


def write_lock(db_path: str | os.PathLike[str]) -> WriteLock:
    """The process's write lock for ``db_path``."""
    key = str(db_path)
    if key not in _locks:
        _locks[key] = WriteLock(key)
    return _locks[key]
