"""Writes of the receiver: each delivery in one transaction, duplicates stored once."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from meterwise.storage.errors import StorageUnavailable, UnstorableValue
from meterwise.storage.records import CycleOf, Parsed
from meterwise.storage.sqlite import rollups
from meterwise.storage.sqlite.base import SqliteBase

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
_EVENTS_INTO = """events (account, provider, idempotency_key, event_type, session_id, ts_ms, fqn,
        app_id, received_at_ms, body)"""
_ON_CONFLICT = " ON CONFLICT (account, idempotency_key) DO NOTHING"
_INSERT_EVENT = f"INSERT INTO {_EVENTS_INTO} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?){_ON_CONFLICT}"
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

# What the fold needs of one event and of one sighting (both with the event's receipt time).
EventRow = tuple[str, str | None, int, int]  # (event type, session, ts, received at)
SightingRow = tuple[str, str, int, str | None, str | None, str | None, int]
_SIGHTING_COLUMNS = (
    "sightings (event_id, account, metric, entity, ts_ms, session_id, user_id, email)"
)
INSERT_SIGHTING = f"INSERT INTO {_SIGHTING_COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def fold_rows(
    conn: sqlite3.Connection,
    account: str,
    cycle_of: CycleOf,
    events: Iterable[EventRow],
    sightings: Iterable[SightingRow],
) -> None:
    """Fold events and their sightings into the aggregates: first sightings per cycle (and
    their rollups), hourly activity and the sessions that had USAGE. The caller holds the
    transaction."""
    events = list(events)
    sessions = {(account, s) for kind, s, _, _ in events if kind == "USAGE" and s}
    if sessions:
        conn.executemany(
            "INSERT OR IGNORE INTO usage_sessions (account, session_id) VALUES (?, ?)", sessions
        )
    hours: Counter[tuple[str, int]] = Counter()
    for _, _, ts, _ in events:
        hours["events", ts - ts % HOUR_MS] += 1
    if events:
        receipts = [r for *_, r in events]
        conn.execute(
            "INSERT INTO account_receipts (account, first_ms, last_ms) VALUES (?, ?, ?) "
            "ON CONFLICT (account) DO UPDATE SET first_ms = min(first_ms, excluded.first_ms), "
            "last_ms = max(last_ms, excluded.last_ms)",
            (account, min(receipts), max(receipts)),
        )
    rows = []
    for metric, entity, ts, session, user, email, received in sightings:
        hours[metric, ts - ts % HOUR_MS] += 1
        rows.append((account, metric, cycle_of(ts), entity, ts, session, user, email, received))
    if rows:
        keys = {(r[1], r[2], r[3]) for r in rows}
        before = rollups.states(conn, account, keys)
        conn.executemany(_UPSERT_ENTITY, rows)
        rollups.move(conn, account, before, rollups.states(conn, account, keys))
    conn.executemany(
        "INSERT INTO activity_hourly (account, metric, hour_ms, count) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (account, metric, hour_ms) DO UPDATE SET count = count + excluded.count",
        [(account, metric, hour, n) for (metric, hour), n in hours.items()],
    )


def parsed_rows(
    parsed: Iterable[Parsed], received_at_ms: int
) -> tuple[list[EventRow], list[SightingRow]]:
    """The fold's rows of freshly parsed events (`meterwise rebuild`)."""
    events: list[EventRow] = []
    sightings: list[SightingRow] = []
    for p in parsed:
        events.append((p.event_type, p.session_id, p.ts_ms, received_at_ms))
        sightings += [
            (e.metric, e.entity, e.ts_ms, e.session_id, e.user_id, e.email, received_at_ms)
            for e in p.entities
        ]
    return events, sightings


def _insert_rows(
    conn: sqlite3.Connection,
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
    conn.executemany(sql, [(event_id, account, *row.values()) for row in rows])


# What the input can do wrong at INSERT time (the parsers should have refused it): a 422.
UNSTORABLE = (OverflowError, UnicodeEncodeError, sqlite3.InterfaceError, sqlite3.IntegrityError)


def insert_delivery(
    conn: sqlite3.Connection,
    account: str,
    provider: str,
    events: Sequence[Parsed],
    received_at_ms: int,
) -> list[int]:
    """Insert one delivery inside the caller's transaction; the ids of its new events."""
    new_ids: list[int] = []
    for ev in events:
        cur = conn.execute(
            _INSERT_EVENT,
            (
                account,
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
        for table, rows in ev.rows.items():
            _insert_rows(conn, table, account, event_id, rows)
        conn.executemany(
            INSERT_SIGHTING,
            [
                (event_id, account, e.metric, e.entity, e.ts_ms, e.session_id, e.user_id, e.email)
                for e in ev.entities
            ],
        )
    if new_ids:
        conn.executemany(
            "INSERT INTO fold_pending (account, event_id) VALUES (?, ?)",
            [(account, i) for i in new_ids],
        )
    return new_ids


Delivery = tuple[str, str, Sequence[Parsed], int]  # (account, provider, events, received at)


def insert_group(conn: sqlite3.Connection, group: Sequence[Delivery]) -> list[list[int]]:
    """Insert several deliveries inside the caller's transaction in a handful of statements
    (one INSERT ... RETURNING for their events, one per normalized table, one for the
    sightings and one for the fold queue); each delivery's new event ids, as
    `insert_delivery` would give them one after the other. Fewer statements matter to the
    writer thread: it must win the GIL back from the request threads after each one. An
    unstorable value fails the whole statement: the caller then stores them one by one."""
    flat = [(n, ev) for n, delivery in enumerate(group) for ev in delivery[2]]
    events: list[tuple[object, ...]] = []
    for n, ev in flat:
        account, provider, _, received_at_ms = group[n]
        events.append(
            (account, provider, ev.idempotency_key, ev.event_type, ev.session_id, ev.ts_ms)
            + (ev.fqn, ev.app_id, received_at_ms, ev.body)
        )
    returned = _insert_many(
        conn, _EVENTS_INTO, events, f"{_ON_CONFLICT} RETURNING id, account, idempotency_key"
    )
    fresh = {(account, key): int(event_id) for event_id, account, key in returned}
    new_ids: list[list[int]] = [[] for _ in group]
    tables: dict[tuple[str, tuple[str, ...]], list[tuple[object, ...]]] = {}
    sightings: list[tuple[object, ...]] = []
    queue: list[tuple[str, int]] = []
    for n, ev in flat:
        account = group[n][0]
        event_id = fresh.pop((account, ev.idempotency_key), None)
        if event_id is None:
            continue  # already stored, or an earlier copy in this group: stored once
        new_ids[n].append(event_id)
        queue.append((account, event_id))
        for table, rows in ev.rows.items():
            for row in rows:
                same = tables.setdefault((table, tuple(row)), [])
                same.append((event_id, account, *row.values()))
        sightings += [
            (event_id, account, e.metric, e.entity, e.ts_ms, e.session_id, e.user_id, e.email)
            for e in ev.entities
        ]
    for (table, columns), values_of in tables.items():
        if table not in NORMALIZED_TABLES:
            raise ValueError(f"not a normalized table: {table}")
        _insert_many(conn, f"{table} ({', '.join(['event_id', 'account', *columns])})", values_of)
    _insert_many(conn, _SIGHTING_COLUMNS, sightings)
    _insert_many(conn, "fold_pending (account, event_id)", queue)
    return new_ids


_MAX_PARAMETERS = 32_000  # per statement (SQLite allows 32766)


def _insert_many(
    conn: sqlite3.Connection, into: str, rows: Sequence[tuple[object, ...]], tail: str = ""
) -> list[Any]:
    """INSERT rows with one multi-row VALUES statement per chunk of at most
    `_MAX_PARAMETERS` values (``tail``: a conflict clause, RETURNING); the rows returned.
    One statement is one step, so the writer gives up the GIL once per statement rather
    than once per row (as executemany does)."""
    if not rows:
        return []
    width = len(rows[0])
    mark = f"({', '.join('?' * width)})"
    per = max(1, _MAX_PARAMETERS // width)
    returned: list[Any] = []
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        params = [value for row in chunk for value in row]
        sql = f"INSERT INTO {into} VALUES {', '.join([mark] * len(chunk))}{tail}"
        returned += conn.execute(sql, params).fetchall()
    return returned


class IngestOps(SqliteBase):
    """Deliveries in, duplicates counted."""

    def store_delivery(
        self, account: str, provider: str, events: Sequence[Parsed], received_at_ms: int
    ) -> list[int]:
        """Store a delivery atomically; return the ids of new events ([] when all are
        duplicates). Returns only after COMMIT, and after checking that the file committed
        to is still the one being served; raises `StorageUnavailable` (retry later) or
        `UnstorableValue` (the input cannot be held).

        Only inserts: the events, their normalized rows and sightings, and the queue entry
        that the fold removes when it adds them to the aggregates. No row that another
        delivery also writes is touched, so deliveries never wait on each other's rows.
        """
        try:
            with self._write() as conn:
                new_ids = insert_delivery(conn, account, provider, events, received_at_ms)
        except UNSTORABLE as exc:
            raise UnstorableValue(str(exc)) from None
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StorageUnavailable(str(exc)) from None
        self.check_file()
        return new_ids

    def check_file(self) -> None:
        """Raise `StorageUnavailable` when the file was removed, replaced or corrupted."""

    def is_stored(self, account: str, idempotency_key: str) -> bool:
        """True when this account already stored an event with this key."""
        try:
            return (
                self._one(
                    "SELECT 1 FROM events WHERE account = ? AND idempotency_key = ?",
                    (account, idempotency_key),
                )
                is not None
            )
        except sqlite3.Error as exc:
            raise StorageUnavailable(str(exc)) from None

    def count_delivery(self, account: str, reason: str, now_ms: int) -> None:
        """Log a rejected or duplicate delivery for ``reason`` (an insert: the fold adds it
        to the hourly counts; a diagnostic, so a failure to log never changes the answer)."""
        try:
            self.conn.execute(
                "INSERT INTO delivery_log (account, reason, at_ms) VALUES (?, ?, ?)",
                (account, reason, now_ms),
            )
        except sqlite3.Error:
            pass
