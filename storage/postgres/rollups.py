"""Reads through the first-sighting rollups in PostgreSQL (the same results as SQLite's
`rollups.py`: whole buckets, and the edge rows through the time index)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from meterwise.storage.buckets import DAY_MS, HOUR_MS
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
    edges = {(c - start_ms) // HOUR_MS for c in (*cuts, before_ms) if (c - start_ms) % HOUR_MS}
    out: Counter[tuple[int, int]] = Counter()
    for hour, n in conn.execute(
        f"SELECT hour, count FROM first_seen_hours WHERE {_CYCLE} AND hour < %s",
        (account, metric, start_ms, (before_ms - start_ms) // HOUR_MS),
    ):
        if hour not in edges:
            at = start_ms + hour * HOUR_MS
            out[hour * HOUR_MS // DAY_MS, sum(at >= c for c in cuts)] += n
    for hour in edges:
        at = start_ms + hour * HOUR_MS
        for (ts,) in conn.execute(
            f"SELECT first_ts_ms FROM entity_first_seen WHERE {_CYCLE} AND first_ts_ms >= %s "
            "AND first_ts_ms < %s",
            (account, metric, start_ms, at, min(at + HOUR_MS, before_ms)),
        ):
            out[(ts - start_ms) // DAY_MS, sum(ts >= c for c in cuts)] += 1
    return [(d, b, n) for (d, b), n in sorted(out.items()) if n]


def _later(
    conn: Conn, account: str, metric: str, start_ms: int, before_ms: int
) -> Iterable[tuple[str, str | None, str]]:
    """(session, user, domain) of the cycle's entities first seen at or after ``before_ms``."""
    yield from conn.execute(
        f"SELECT {BUCKET_COLUMNS} FROM entity_first_seen WHERE {_CYCLE} AND first_ts_ms >= %s",
        (account, metric, start_ms, before_ms),
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
    wanted = {d.lower() for d in domains}
    out: Counter[tuple[str | None, bool]] = Counter()
    for session, has_user, domain, n in conn.execute(
        "SELECT session_id, has_user, domain, count FROM first_seen_sessions WHERE " + _CYCLE,
        (account, metric, start_ms),
    ):
        out[session or None, bool(has_user) and (not wanted or domain in wanted)] += n
    for session, user, domain in _later(conn, account, metric, start_ms, before_ms):
        out[session or None, user is not None and (not wanted or domain in wanted)] -= 1
    return [(s, i, n) for (s, i), n in out.items() if n]


def by_user(
    conn: Conn,
    account: str,
    metric: str,
    start_ms: int,
    before_ms: int,
    domains: Sequence[str],
) -> dict[str, int]:
    """Internal entities first seen before ``before_ms``, per user."""
    wanted = {d.lower() for d in domains}
    out: Counter[str] = Counter()
    for user, domain, n in conn.execute(
        "SELECT user_id, domain, count FROM first_seen_users WHERE " + _CYCLE,
        (account, metric, start_ms),
    ):
        if not wanted or domain in wanted:
            out[user] += n
    for _, user, domain in _later(conn, account, metric, start_ms, before_ms):
        if user is not None and (not wanted or domain in wanted):
            out[user] -= 1
    return {u: n for u, n in out.items() if n}


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
