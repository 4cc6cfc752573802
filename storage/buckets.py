"""The rollups' buckets, for every engine: which counts an entity's first sighting adds to,
and how a batch of changed entities moves between them. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
# One entity's bucket keys: (first ts, first session, user id if any, email domain).
State = tuple[int, str, str | None, str]
Key = tuple[str, int, str]  # (metric, cycle start, entity)
Deltas = Counter[tuple[object, ...]]


def bucket_deltas(
    before: dict[Key, State], after: dict[Key, State]
) -> tuple[Deltas, Deltas, Deltas]:
    """Count changes per (metric, cycle, hour), per (metric, cycle, session, has user,
    domain) and per (metric, cycle, user, domain): -1 for each changed entity's old bucket,
    +1 for its new one."""
    hours: Deltas = Counter()
    sessions: Deltas = Counter()
    users: Deltas = Counter()
    for key, new in after.items():
        old = before.get(key)
        if old == new:
            continue
        metric, cycle, _ = key
        for state, sign in ((old, -1), (new, 1)):
            if state is None:
                continue
            ts, session, user, domain = state
            hours[metric, cycle, (ts - cycle) // HOUR_MS] += sign
            sessions[metric, cycle, session, user is not None, domain] += sign
            if user is not None:
                users[metric, cycle, user, domain] += sign
    return hours, sessions, users


# The rollup reads' arithmetic, the same on every engine: each engine runs the queries and
# hands the rows here.


def edge_hours(start_ms: int, before_ms: int, cuts: Sequence[int]) -> set[int]:
    """The cycle hours holding a plan switch or ``before_ms`` inside them (read row by row)."""
    return {(c - start_ms) // HOUR_MS for c in (*cuts, before_ms) if (c - start_ms) % HOUR_MS}


def day_period_counts(
    hours: Iterable[tuple[int, int]],
    edge_rows: Iterable[int],
    edges: set[int],
    start_ms: int,
    cuts: Sequence[int],
) -> list[tuple[int, int, int]]:
    """(cycle day, plan period, first sightings) from whole hours' counts (those not in
    ``edges``) and the first-sighting times of the edge hours."""
    out: Counter[tuple[int, int]] = Counter()
    for hour, n in hours:
        if hour not in edges:
            at = start_ms + hour * HOUR_MS
            out[hour * HOUR_MS // DAY_MS, sum(at >= c for c in cuts)] += int(n)
    for ts in edge_rows:
        out[(ts - start_ms) // DAY_MS, sum(ts >= c for c in cuts)] += 1
    return [(d, b, n) for (d, b), n in sorted(out.items()) if n]


def session_counts(
    buckets: Iterable[tuple[str, object, str, int]],
    later: Iterable[tuple[str, str | None, str]],
    domains: Sequence[str],
) -> list[tuple[str | None, bool, int]]:
    """(first session, internal, count) from the session buckets, less the entities first
    seen after the instant (``later``: session, user, domain)."""
    wanted = {d.lower() for d in domains}
    out: Counter[tuple[str | None, bool]] = Counter()
    for session, has_user, domain, n in buckets:
        out[session or None, bool(has_user) and (not wanted or domain in wanted)] += int(n)
    for session, user, domain in later:
        out[session or None, user is not None and (not wanted or domain in wanted)] -= 1
    return [(s, i, n) for (s, i), n in out.items() if n]


def user_counts(
    buckets: Iterable[tuple[str, str, int]],
    later: Iterable[tuple[str, str | None, str]],
    domains: Sequence[str],
) -> dict[str, int]:
    """Internal entities per user from the user buckets, less those seen after the instant."""
    wanted = {d.lower() for d in domains}
    out: Counter[str] = Counter()
    for user, domain, n in buckets:
        if not wanted or domain in wanted:
            out[user] += int(n)
    for _, later_user, domain in later:
        if later_user is not None and (not wanted or domain in wanted):
            out[later_user] -= 1
    return {u: n for u, n in out.items() if n}
