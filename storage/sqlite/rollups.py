"""Rollups of first sightings, kept by the fold, so a live report reads O(hours + sessions
+ users) rows instead of every distinct entity of the cycle.

Three tables, each a count of first-seen entities per cycle:

- ``first_seen_hours``: per hour of the cycle (hours counted from the cycle's start, so a
  day is always 24 of them, in any time zone);
- ``first_seen_sessions``: per (first session, has a user id, email domain);
- ``first_seen_users``: per (user id, email domain), for entities with a user id.

The fold reads the state of every entity its batch touches before and after the upsert and
moves each changed entity from its old buckets to its new ones, in the same transaction:
the rollups always equal a GROUP BY over ``entity_first_seen`` (the property tests check).
Reads that need an instant inside the cycle take whole buckets and count only the few rows
at the edge (an hour holding a plan switch or the instant itself, or sightings after it)
from ``entity_first_seen``, by its time index. Reads "as known at" an earlier instant do not
use them (the rollups hold what is known now).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence

from meterwise.storage.buckets import (
    HOUR_MS,
    Key,
    State,
    bucket_deltas,
    day_period_counts,
    edge_hours,
    session_counts,
    user_counts,
)

_BUCKET_COLUMNS = (
    "coalesce(session_id, ''), CASE WHEN user_id IS NOT NULL AND user_id != '' "
    "THEN user_id END, CASE WHEN email IS NULL THEN '' "
    "ELSE lower(substr(email, instr(email, '@') + 1)) END"
)
_STATE_COLUMNS = "first_ts_ms, " + _BUCKET_COLUMNS
_CYCLE = "account = ? AND metric = ? AND cycle_start_ms = ?"

# Recompute one account's rollups from entity_first_seen (after a purge, and in migrations).
REFRESH = (
    "DELETE FROM first_seen_hours WHERE account = :a",
    "DELETE FROM first_seen_sessions WHERE account = :a",
    "DELETE FROM first_seen_users WHERE account = :a",
    "INSERT INTO first_seen_hours (account, metric, cycle_start_ms, hour, count) SELECT "
    f"account, metric, cycle_start_ms, (first_ts_ms - cycle_start_ms) / {HOUR_MS}, count(*) "
    "FROM entity_first_seen WHERE account = :a GROUP BY 1, 2, 3, 4",
    "INSERT INTO first_seen_sessions (account, metric, cycle_start_ms, session_id, has_user, "
    "domain, count) SELECT account, metric, cycle_start_ms, coalesce(session_id, ''), "
    "(user_id IS NOT NULL AND user_id != ''), CASE WHEN email IS NULL THEN '' ELSE "
    "lower(substr(email, instr(email, '@') + 1)) END, count(*) FROM entity_first_seen "
    "WHERE account = :a GROUP BY 1, 2, 3, 4, 5, 6",
    "INSERT INTO first_seen_users (account, metric, cycle_start_ms, user_id, domain, count) "
    "SELECT account, metric, cycle_start_ms, user_id, CASE WHEN email IS NULL THEN '' ELSE "
    "lower(substr(email, instr(email, '@') + 1)) END, count(*) FROM entity_first_seen "
    "WHERE account = :a AND user_id IS NOT NULL AND user_id != '' GROUP BY 1, 2, 3, 4, 5",
)


def refresh(conn: sqlite3.Connection, account: str) -> None:
    """Recompute ``account``'s rollups from its first sightings (the caller's transaction)."""
    for sql in REFRESH:
        conn.execute(sql, {"a": account})


def states(conn: sqlite3.Connection, account: str, keys: Iterable[Key]) -> dict[Key, State]:
    """The bucket keys of these entities as stored now (absent: not seen yet)."""
    by_cycle: dict[tuple[str, int], list[str]] = {}
    for metric, cycle, entity in keys:
        by_cycle.setdefault((metric, cycle), []).append(entity)
    out: dict[Key, State] = {}
    for (metric, cycle), entities in by_cycle.items():
        for i in range(0, len(entities), 500):
            chunk = entities[i : i + 500]
            marks = ", ".join("?" for _ in chunk)
            for entity, ts, session, user, domain in conn.execute(
                f"SELECT entity, {_STATE_COLUMNS} FROM entity_first_seen WHERE {_CYCLE} "
                f"AND entity IN ({marks})",
                (account, metric, cycle, *chunk),
            ):
                out[metric, cycle, entity] = (int(ts), session, user, domain)
    return out


def move(
    conn: sqlite3.Connection, account: str, before: dict[Key, State], after: dict[Key, State]
) -> None:
    """Move each entity whose state changed from its old buckets to its new ones."""
    hours, sessions, users = bucket_deltas(before, after)
    _add(conn, "first_seen_hours", ("hour",), account, hours)
    _add(conn, "first_seen_sessions", ("session_id", "has_user", "domain"), account, sessions)
    _add(conn, "first_seen_users", ("user_id", "domain"), account, users)


def _add(
    conn: sqlite3.Connection,
    table: str,
    columns: Sequence[str],
    account: str,
    deltas: Counter[tuple[object, ...]],
) -> None:
    changed = [(account, *k, n) for k, n in deltas.items() if n]
    if not changed:
        return
    shrunk = any(n < 0 for n in deltas.values())
    names = ", ".join(["account", "metric", "cycle_start_ms", *columns])
    marks = ", ".join("?" for _ in range(len(columns) + 4))
    conn.executemany(
        f"INSERT INTO {table} ({names}, count) VALUES ({marks}) ON CONFLICT ({names}) "
        "DO UPDATE SET count = count + excluded.count",
        changed,
    )
    if shrunk:
        conn.execute(f"DELETE FROM {table} WHERE account = ? AND count = 0", (account,))


def groups(
    conn: sqlite3.Connection,
    account: str,
    metric: str,
    start_ms: int,
    before_ms: int,
    cuts: Sequence[int],
) -> list[tuple[int, int, int]]:
    """First sightings before ``before_ms`` per (cycle day, plan period): whole hours from
    the rollup, the hours that hold a cut or ``before_ms`` row by row."""
    edges = edge_hours(start_ms, before_ms, cuts)
    hours = conn.execute(
        f"SELECT hour, count FROM first_seen_hours WHERE {_CYCLE} AND hour < ?",
        (account, metric, start_ms, (before_ms - start_ms) // HOUR_MS),
    ).fetchall()
    edge_rows: list[int] = []
    for hour in edges:
        at = start_ms + hour * HOUR_MS
        edge_rows += [
            int(ts)
            for (ts,) in conn.execute(
                f"SELECT first_ts_ms FROM entity_first_seen WHERE {_CYCLE} AND "
                "first_ts_ms >= ? AND first_ts_ms < ?",
                (account, metric, start_ms, at, min(at + HOUR_MS, before_ms)),
            )
        ]
    return day_period_counts(hours, edge_rows, edges, start_ms, cuts)


def _later(
    conn: sqlite3.Connection, account: str, metric: str, start_ms: int, before_ms: int
) -> list[tuple[str, str | None, str]]:
    """(session, user, domain) of the cycle's entities first seen at or after ``before_ms``."""
    return list(
        conn.execute(
            f"SELECT {_BUCKET_COLUMNS} FROM entity_first_seen WHERE {_CYCLE} AND first_ts_ms >= ?",
            (account, metric, start_ms, before_ms),
        )
    )


def by_session(
    conn: sqlite3.Connection,
    account: str,
    metric: str,
    start_ms: int,
    before_ms: int,
    domains: Sequence[str],
) -> list[tuple[str | None, bool, int]]:
    """First sightings before ``before_ms`` per (first session, internal)."""
    buckets = conn.execute(
        "SELECT session_id, has_user, domain, count FROM first_seen_sessions WHERE " + _CYCLE,
        (account, metric, start_ms),
    ).fetchall()
    return session_counts(buckets, _later(conn, account, metric, start_ms, before_ms), domains)


def by_user(
    conn: sqlite3.Connection,
    account: str,
    metric: str,
    start_ms: int,
    before_ms: int,
    domains: Sequence[str],
) -> dict[str, int]:
    """Internal entities first seen before ``before_ms``, per user."""
    buckets = conn.execute(
        "SELECT user_id, domain, count FROM first_seen_users WHERE " + _CYCLE,
        (account, metric, start_ms),
    ).fetchall()
    return user_counts(buckets, _later(conn, account, metric, start_ms, before_ms), domains)


def per_cycle(conn: sqlite3.Connection, account: str, metric: str) -> list[tuple[int, int]]:
    """(cycle start, distinct count) of every stored cycle, oldest first."""
    return [
        (int(c), int(n))
        for c, n in conn.execute(
            "SELECT cycle_start_ms, sum(count) FROM first_seen_hours WHERE account = ? AND "
            "metric = ? GROUP BY cycle_start_ms HAVING sum(count) > 0 ORDER BY cycle_start_ms",
            (account, metric),
        )
    ]
