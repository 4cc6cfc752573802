"""The rollups' buckets, for every engine: which counts an entity's first sighting adds to,
and how a batch of changed entities moves between them. Pure."""

from __future__ import annotations

from collections import Counter

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
