"""The reconciler's reads: SQL in, values out. The only module of the reconciler with SQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from reconciler.attribution import Join
from reconciler.usage import CallEvent

DAY_MS = 86_400_000


def _rows(db: Any, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    return list(db.conn.execute(sql, tuple(params)).fetchall())


def count_first_seen(
    db: Any, account: str, metric: str, cycle_start_ms: int, before_ms: int
) -> int:
    """Distinct entities of a cycle first seen before ``before_ms``."""
    return int(
        _rows(
            db,
            "SELECT count(*) FROM entity_first_seen WHERE account = ? AND "
            "metric = ? AND cycle_start_ms = ? AND first_ts_ms < ?",
            (account, metric, cycle_start_ms, before_ms),
        )[0][0]
    )


def new_per_day(
    db: Any, account: str, metric: str, cycle_start_ms: int, before_ms: int, days: int
) -> list[int]:
    """New distinct entities per day of the cycle (day 0 starts at the cycle start)."""
    out = [0] * days
    for day, n in _rows(
        db,
        "SELECT (first_ts_ms - ?) / ? AS d, count(*) FROM entity_first_seen"
        " WHERE account = ? AND metric = ? AND cycle_start_ms = ? AND "
        "first_ts_ms < ? GROUP BY d",
        (cycle_start_ms, DAY_MS, account, metric, cycle_start_ms, before_ms),
    ):
        if 0 <= day < days:
            out[day] += n
    return out


def activity_per_day(
    db: Any, account: str, metric: str, start_ms: int, before_ms: int, days: int
) -> list[int]:
    """Sightings per day from the hourly activity table."""
    out = [0] * days
    for day, n in _rows(
        db,
        "SELECT (hour_ms - ?) / ? AS d, sum(count) FROM activity_hourly "
        "WHERE account = ? AND metric = ? AND hour_ms >= ? AND hour_ms < ? "
        "GROUP BY d",
        (start_ms, DAY_MS, account, metric, start_ms, before_ms),
    ):
        if 0 <= day < days:
            out[day] += n
    return out


def has_activity(db: Any, account: str, metric: str, start_ms: int, end_ms: int) -> bool:
    """True when any activity of ``metric`` was recorded in [start, end)."""
    return bool(
        _rows(
            db,
            "SELECT 1 FROM activity_hourly WHERE account = ? AND metric = ? AND "
            "hour_ms >= ? AND hour_ms < ? LIMIT 1",
            (account, metric, start_ms, end_ms),
        )
    )


def nth_first_seen_ms(
    db: Any, account: str, metric: str, cycle_start_ms: int, n: int
) -> int | None:
    """When the n-th (1-based) distinct entity of the cycle was first seen."""
    rows = _rows(
        db,
        "SELECT first_ts_ms FROM entity_first_seen WHERE account = ? AND "
        "metric = ? AND cycle_start_ms = ? ORDER BY first_ts_ms LIMIT 1 OFFSET ?",
        (account, metric, cycle_start_ms, n - 1),
    )
    return int(rows[0][0]) if rows else None


def recordings(db: Any, account: str, start_ms: int, end_ms: int) -> list[tuple[int, int | None]]:
    """(ts_ms, durationSec) of RECORDING_UPLOADED events in [start, end)."""
    return [
        (int(ts), dur)
        for ts, dur in _rows(
            db,
            "SELECT ts_ms, duration_sec FROM recordings WHERE account = ? AND event_type = "
            "'RECORDING_UPLOADED' AND ts_ms >= ? AND ts_ms < ?",
            (account, start_ms, end_ms),
        )
    ]


def call_events(db: Any, account: str, start_ms: int, end_ms: int) -> list[CallEvent]:
    """STARTED/ENDED halves with timestamps in [start, end)."""
    return [
        CallEvent(kind, phase, session, participant, int(ts))
        for kind, phase, session, participant, ts in _rows(
            db,
            "SELECT kind, phase, session_id, participant_id, ts_ms FROM calls WHERE "
            "account = ? AND ts_ms >= ? AND ts_ms < ?",
            (account, start_ms, end_ms),
        )
    ]


def transcribed_sessions(
    db: Any, account: str, start_ms: int, end_ms: int
) -> list[tuple[str, int]]:
    """(session, ts_ms) of TRANSCRIPTION_UPLOADED events in [start, end)."""
    return [
        (s, int(ts))
        for s, ts in _rows(
            db,
            "SELECT session_id, min(ts_ms) FROM uploads WHERE account = ? AND event_type = "
            "'TRANSCRIPTION_UPLOADED' AND ts_ms >= ? AND ts_ms < ? GROUP BY session_id",
            (account, start_ms, end_ms),
        )
    ]


def _spans(
    db: Any, sql: str, account: str, sessions: Sequence[str]
) -> dict[str, tuple[int | None, int | None]]:
    spans: dict[str, tuple[int | None, int | None]] = {}
    for i in range(0, len(sessions), 500):
        chunk = list(sessions[i : i + 500])
        marks = ", ".join("?" for _ in chunk)
        for session, start, end in _rows(db, sql.format(marks=marks), (account, *chunk)):
            spans[session] = (start, end)
    return spans


def room_spans(
    db: Any, account: str, sessions: Sequence[str]
) -> dict[str, tuple[int | None, int | None]]:
    """ROOM_CREATED to ROOM_DESTROYED per session."""
    return _spans(
        db,
        "SELECT session_id, min(CASE WHEN event_type = 'ROOM_CREATED' THEN ts_ms "
        "END), max(CASE WHEN event_type = 'ROOM_DESTROYED' THEN ts_ms END) FROM rooms "
        "WHERE account = ? AND session_id IN ({marks}) GROUP BY session_id",
        account,
        sessions,
    )


def presence_spans(
    db: Any, account: str, sessions: Sequence[str]
) -> dict[str, tuple[int | None, int | None]]:
    """First join to last leave per session (lobby excluded)."""
    return _spans(
        db,
        "SELECT session_id, min(CASE WHEN joined = 1 THEN ts_ms END), "
        "max(CASE WHEN joined = 0 THEN ts_ms END) FROM participants WHERE "
        "account = ? AND lobby = 0 AND session_id IN ({marks}) GROUP BY session_id",
        account,
        sessions,
    )


def attribution_inputs(
    db: Any,
    account: str,
    metric: str,
    cycle_start_ms: int,
    before_ms: int,
    domains: Sequence[str],
) -> tuple[dict[str, int], dict[str | None, int], dict[str, list[Join]], dict[str, str]]:
    """Internal devices per user, guest devices per first session, the joins of those
    sessions, and display names — aggregated in SQL so it scales with devices."""
    where = "account = ? AND metric = ? AND cycle_start_ms = ? AND first_ts_ms < ?"
    params: list[Any] = [account, metric, cycle_start_ms, before_ms]
    internal_sql = "user_id IS NOT NULL AND user_id != ''"
    if domains:
        marks = ", ".join("?" for _ in domains)
        internal_sql += f" AND lower(substr(email, instr(email, '@') + 1)) IN ({marks})"
    domain_params = [d.lower() for d in domains]
    internal = {
        u: int(n)
        for u, n in _rows(
            db,
            f"SELECT user_id, count(*) FROM entity_first_seen WHERE {where} AND {internal_sql} "
            "GROUP BY user_id",
            [*params, *domain_params],
        )
    }
    guests = {
        s: int(n)
        for s, n in _rows(
            db,
            f"SELECT session_id, count(*) FROM entity_first_seen WHERE {where} AND NOT "
            f"({internal_sql}) GROUP BY session_id",
            [*params, *domain_params],
        )
    }
    joins: dict[str, list[Join]] = defaultdict(list)
    names: dict[str, str] = {}
    sessions = [s for s in guests if s]
    for i in range(0, len(sessions), 500):
        chunk = sessions[i : i + 500]
        marks = ", ".join("?" for _ in chunk)
        for session, ts, user, name, moderator in _rows(
            db,
            "SELECT session_id, ts_ms, user_id, name, moderator FROM participants WHERE "
            f"account = ? AND joined = 1 AND lobby = 0 AND session_id IN ({marks})",
            (account, *chunk),
        ):
            joins[session].append(Join(int(ts), user, name, bool(moderator)))
    for user, name in _rows(
        db,
        "SELECT user_id, max(name) FROM participants WHERE account = ? "
        "AND user_id IS NOT NULL AND name IS NOT NULL GROUP BY user_id",
        (account,),
    ):
        names[user] = name
    return internal, guests, dict(joins), names


def delivery_counts(db: Any, account: str, start_ms: int, end_ms: int) -> dict[str, int]:
    """Rejected and duplicate deliveries per reason in [start, end)."""
    return {
        r: int(n)
        for r, n in _rows(
            db,
            "SELECT reason, sum(count) FROM delivery_counts WHERE account = ? AND hour_ms >= ? "
            "AND hour_ms < ? GROUP BY reason",
            (account, start_ms, end_ms),
        )
    }


def connection_events(db: Any, account: str, start_ms: int, end_ms: int) -> list[Any]:
    """CometChat connection changes and snapshots with timestamps in [start, end)."""
    from reconciler.concurrency import ConnectionEvent

    return [
        ConnectionEvent(
            int(ts),
            uid,
            action,
            cid,
            tuple((snap or "").split("\n")) if action == "snapshot" and snap else (),
        )
        for ts, uid, action, cid, snap in _rows(
            db,
            "SELECT ts_ms, uid, action, connection_id, snapshot FROM connections "
            "WHERE account = ? AND ts_ms >= ? AND ts_ms < ?",
            (account, start_ms, end_ms),
        )
    ]


def call_session_seconds(
    db: Any, account: str, start_ms: int, end_ms: int
) -> list[tuple[int, float, float, float, bool]]:
    """(ts, voice participant s, video participant s, session s, audio only) per call."""
    return [
        (int(ts), float(v), float(vi), float(s), bool(a))
        for ts, v, vi, s, a in _rows(
            db,
            "SELECT ts_ms, voice_s, video_s, session_s, audio_only FROM call_sessions WHERE "
            "account = ? AND ts_ms >= ? AND ts_ms < ?",
            (account, start_ms, end_ms),
        )
    ]


def distinct_by_cycle(db: Any, account: str, metric: str) -> list[tuple[int, int]]:
    """(cycle start ms, distinct count) for every stored cycle, oldest first."""
    return [
        (int(c), int(n))
        for c, n in _rows(
            db,
            "SELECT cycle_start_ms, count(*) FROM entity_first_seen WHERE account = ? AND "
            "metric = ? GROUP BY cycle_start_ms ORDER BY cycle_start_ms",
            (account, metric),
        )
    ]


def system_only_by_type(
    db: Any, account: str, cycle_start_ms: int, start_ms: int, end_ms: int
) -> dict[str, int]:
    """Users active only through system-triggered events, per event type that made them."""
    return {
        e: int(n)
        for e, n in _rows(
            db,
            "SELECT event, count(DISTINCT user_id) FROM custom_events WHERE account = ? AND "
            "ts_ms >= ? AND ts_ms < ? AND system = 1 AND user_id NOT IN (SELECT entity FROM "
            "entity_first_seen WHERE account = ? AND metric = 'mau_engaged' AND "
            "cycle_start_ms = ?) GROUP BY event ORDER BY 2 DESC",
            (account, start_ms, end_ms, account, cycle_start_ms),
        )
    }


def segments(db: Any, account: str, start_ms: int, end_ms: int, prop: str) -> dict[str, int]:
    """Distinct users per value of an event property in [start, end)."""
    return {
        ("(none)" if v is None else str(v)): int(n)
        for v, n in _rows(
            db,
            "SELECT json_extract(properties, ?) AS v, count(DISTINCT user_id) FROM "
            "custom_events WHERE account = ? AND ts_ms >= ? AND ts_ms < ? GROUP BY v "
            "ORDER BY 2 DESC, 1",
            (f'$."{prop}"', account, start_ms, end_ms),
        )
    }
