"""Writes of the receiver: each delivery in one transaction, duplicates stored once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import sqlite_utils

from meterwise.config.settings import Account
from meterwise.receiver.providers.base import Parsed
from meterwise.reconciler.cycles import cycle_containing, from_ms, to_ms

NORMALIZED_TABLES = frozenset(
    {
        "usage_devices",
        "participants",
        "recordings",
        "uploads",
        "rooms",
        "calls",
        "connections",
        "call_sessions",
        "custom_events",
    }
)
HOUR_MS = 3_600_000
_INSERT_EVENT = """
INSERT INTO events (account, provider, idempotency_key, event_type, session_id, ts_ms, fqn,
                    app_id, received_at_ms, body)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account, idempotency_key) DO NOTHING
"""
# Keep the earliest sighting (webhooks arrive out of order); a userId seen on any row sticks.
_UPSERT_ENTITY = """
INSERT INTO entity_first_seen (account, metric, cycle_start_ms, entity, first_ts_ms,
                               session_id, user_id, email, known_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account, metric, cycle_start_ms, entity) DO UPDATE SET
    known_ms = min(coalesce(known_ms, excluded.known_ms), excluded.known_ms),
    session_id = CASE WHEN excluded.first_ts_ms < first_ts_ms
                      THEN excluded.session_id ELSE session_id END,
    user_id = CASE WHEN excluded.first_ts_ms < first_ts_ms
                   THEN coalesce(excluded.user_id, user_id)
                   ELSE coalesce(user_id, excluded.user_id) END,
    email = CASE WHEN excluded.first_ts_ms < first_ts_ms
                 THEN coalesce(excluded.email, email) ELSE coalesce(email, excluded.email) END,
    first_ts_ms = min(first_ts_ms, excluded.first_ts_ms)
"""


def cycle_start_ms(account: Account, kind: str, ts_ms: int) -> int:
    """Start (epoch ms) of the account's billing cycle containing ``ts_ms``."""
    return to_ms(cycle_containing(account.cycle_anchor, account.tz, from_ms(ts_ms), kind).start)


def upsert_entities(
    db: sqlite_utils.Database,
    account: Account,
    kind: str,
    parsed: Iterable[Parsed],
    received_at_ms: Callable[[Parsed], int],
) -> None:
    """Record first sightings per cycle, hourly activity and the sessions that had USAGE
    (for the lost-webhook check); the caller holds the transaction."""
    parsed = list(parsed)
    sessions = {
        (account.id, p.session_id) for p in parsed if p.event_type == "USAGE" and p.session_id
    }
    if sessions:
        db.conn.executemany(
            "INSERT OR IGNORE INTO usage_sessions (account, session_id) VALUES (?, ?)", sessions
        )
    rows = [
        (
            account.id,
            e.metric,
            cycle_start_ms(account, kind, e.ts_ms),
            e.entity,
            e.ts_ms,
            e.session_id,
            e.user_id,
            e.email,
            received_at_ms(p),
        )
        for p in parsed
        for e in p.entities
    ]
    if rows:
        db.conn.executemany(_UPSERT_ENTITY, rows)
    hours: Counter[tuple[str, int]] = Counter()
    for p in parsed:
        hours["events", p.ts_ms - p.ts_ms % HOUR_MS] += 1
        for e in p.entities:
            hours[e.metric, e.ts_ms - e.ts_ms % HOUR_MS] += 1
    db.conn.executemany(
        "INSERT INTO activity_hourly (account, metric, hour_ms, count) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (account, metric, hour_ms) DO UPDATE SET count = count + excluded.count",
        [(account.id, metric, hour, n) for (metric, hour), n in hours.items()],
    )


def _insert_rows(
    db: sqlite_utils.Database,
    table: str,
    account: str,
    event_id: int,
    rows: Sequence[dict[str, object]],
) -> None:
    if table not in NORMALIZED_TABLES:
        raise ValueError(f"not a normalized table: {table}")
    if not rows:
        return
    columns = ["event_id", "account", *rows[0]]
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    db.conn.executemany(sql, [(event_id, account, *row.values()) for row in rows])


def store_events(
    db: sqlite_utils.Database,
    account: Account,
    provider: str,
    kind: str,
    events: Sequence[Parsed],
    received_at_ms: int,
) -> list[int]:
    """Store a delivery atomically; return the ids of new events ([] when all are duplicates).

    The caller answers 2xx only after this returns, i.e. after COMMIT.
    """
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        new_ids: list[int] = []
        fresh: list[Parsed] = []
        for ev in events:
            cur = conn.execute(
                _INSERT_EVENT,
                (
                    account.id,
                    provider,
                    ev.idempotency_key,
                    ev.event_type,
                    ev.session_id,
                    ev.ts_ms,
                    ev.fqn,
                    ev.app_id,
                    received_at_ms,
                    ev.body,
                ),
            )
            if cur.rowcount == 0:
                continue  # already stored: a duplicate delivery changes nothing
            event_id = int(cur.lastrowid or 0)
            new_ids.append(event_id)
            fresh.append(ev)
            for table, rows in ev.rows.items():
                _insert_rows(db, table, account.id, event_id, rows)
        upsert_entities(db, account, kind, fresh, lambda _: received_at_ms)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return new_ids


def is_stored(db: sqlite_utils.Database, account: str, idempotency_key: str) -> bool:
    """True when this account already stored an event with this key."""
    row = db.conn.execute(
        "SELECT 1 FROM events WHERE account = ? AND idempotency_key = ?",
        (account, idempotency_key),
    ).fetchone()
    return row is not None


def count_delivery(db: sqlite_utils.Database, account: str, reason: str, now_ms: int) -> None:
    """Add one to the hourly count of rejected or duplicate deliveries for ``reason``."""
    hour = now_ms - now_ms % 3_600_000
    db.conn.execute(
        "INSERT INTO delivery_counts (account, reason, hour_ms, count) VALUES (?, ?, ?, 1) "
        "ON CONFLICT (account, reason, hour_ms) DO UPDATE SET count = count + 1",
        (account, reason, hour),
    )
