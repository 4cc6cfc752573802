"""Reads through the first-sighting rollups in PostgreSQL (the same results as SQLite's
`rollups.py`: whole buckets, and the edge rows through the time index)."""

from __future__ import annotations

from collections.abc import Sequence

from meterwise.storage.buckets import (
    HOUR_MS,
    day_period_counts,
    edge_hours,
    session_counts,
    user_counts,
)
from meterwise.storage.postgres.fold import BUCKET_COLUMNS, Conn

_CYCLE = "account = %s AND metric = %s AND cycle_start_ms = %s"


def groups(
    conn: Conn,
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
        f"SELECT hour, count FROM first_seen_hours WHERE {_CYCLE} AND hour < %s",
        (account, metric, start_ms, (before_ms - start_ms) // HOUR_MS),
    ).fetchall()
    edge_rows: list[int] = []
    for hour in edges:
        at = start_ms + hour * HOUR_MS
        edge_rows += [
            int(ts)
            for (ts,) in conn.execute(
                f"SELECT first_ts_ms FROM entity_first_seen WHERE {_CYCLE} AND "
                "first_ts_ms >= %s AND first_ts_ms < %s",
                (account, metric, start_ms, at, min(at + HOUR_MS, before_ms)),
            )
        ]
    return day_period_counts(hours, edge_rows, edges, start_ms, cuts)


def _later(
    conn: Conn, account: str, metric: str, start_ms: int, before_ms: int
) -> list[tuple[str, str | None, str]]:
    """(session, user, domain) of the cycle's entities first seen at or after ``before_ms``."""
    return list(
        conn.execute(
            f"SELECT {BUCKET_COLUMNS} FROM entity_first_seen WHERE {_CYCLE} AND first_ts_ms >= %s",
            (account, metric, start_ms, before_ms),
        )
    )


def by_session(
    conn: Conn,
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
    conn: Conn,
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


def per_cycle(conn: Conn, account: str, metric: str) -> list[tuple[int, int]]:
    """(cycle start, distinct count) of every stored cycle, oldest first."""
    return [
        (int(c), int(n))
        for c, n in conn.execute(
            "SELECT cycle_start_ms, sum(count)::bigint FROM first_seen_hours WHERE "
            "account = %s AND metric = %s GROUP BY cycle_start_ms HAVING sum(count) > 0 "
            "ORDER BY cycle_start_ms",
            (account, metric),
        )
    ]
