"""Reads of one cycle: first sightings, activity, minutes' raw rows, attribution inputs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from meterwise.storage.sqlite.base import SqliteBase

DAY_MS = 86_400_000


class CycleReads(SqliteBase):
    """Reads of one cycle's counts, sightings, minutes and attribution."""

    def count_first_seen(
        self, account: str, metric: str, cycle_start_ms: int, before_ms: int
    ) -> int:
        """Distinct entities of a cycle first seen before ``before_ms``."""
        return int(
            self._rows(
                "SELECT count(*) FROM entity_first_seen WHERE account = ? AND "
                "metric = ? AND cycle_start_ms = ? AND first_ts_ms < ?",
                (account, metric, cycle_start_ms, before_ms),
            )[0][0]
        )

    def new_per_day(
        self, account: str, metric: str, cycle_start_ms: int, before_ms: int, days: int
    ) -> list[int]:
        """New distinct entities per day of the cycle (day 0 starts at the cycle start)."""
        out = [0] * days
        for day, n in self._rows(
            "SELECT (first_ts_ms - ?) / ? AS d, count(*) FROM entity_first_seen"
            " WHERE account = ? AND metric = ? AND cycle_start_ms = ? AND "
            "first_ts_ms < ? GROUP BY d",
            (cycle_start_ms, DAY_MS, account, metric, cycle_start_ms, before_ms),
        ):
            if 0 <= day < days:
                out[day] += n
        return out

    def activity_per_day(
        self, account: str, metric: str, start_ms: int, before_ms: int, days: int
    ) -> list[int]:
        """Sightings per day from the hourly activity table."""
        out = [0] * days
        for day, n in self._rows(
            "SELECT (hour_ms - ?) / ? AS d, sum(count) FROM activity_hourly "
            "WHERE account = ? AND metric = ? AND hour_ms >= ? AND hour_ms < ? "
            "GROUP BY d",
            (start_ms, DAY_MS, account, metric, start_ms, before_ms),
        ):
            if 0 <= day < days:
                out[day] += n
        return out

    def has_activity(self, account: str, metric: str, start_ms: int, end_ms: int) -> bool:
        """True when any activity of ``metric`` was recorded in [start, end)."""
        return bool(
            self._rows(
                "SELECT 1 FROM activity_hourly WHERE account = ? AND metric = ? AND "
                "hour_ms >= ? AND hour_ms < ? LIMIT 1",
                (account, metric, start_ms, end_ms),
            )
        )

    def nth_first_seen_ms(
        self, account: str, metric: str, cycle_start_ms: int, n: int
    ) -> int | None:
        """When the n-th (1-based) distinct entity of the cycle was first seen."""
        found = self._rows(
            "SELECT first_ts_ms FROM entity_first_seen WHERE account = ? AND "
            "metric = ? AND cycle_start_ms = ? ORDER BY first_ts_ms LIMIT 1 OFFSET ?",
            (account, metric, cycle_start_ms, n - 1),
        )
        return int(found[0][0]) if found else None

    def recordings(self, account: str, start_ms: int, end_ms: int) -> list[tuple[int, int | None]]:
        """(ts_ms, durationSec) of RECORDING_UPLOADED events in [start, end)."""
        return [
            (int(ts), dur)
            for ts, dur in self._rows(
                "SELECT ts_ms, duration_sec FROM recordings WHERE account = ? AND event_type = "
                "'RECORDING_UPLOADED' AND ts_ms >= ? AND ts_ms < ?",
                (account, start_ms, end_ms),
            )
        ]

    def call_events(
        self, account: str, start_ms: int, end_ms: int
    ) -> list[tuple[str, str, str | None, str | None, int]]:
        """(kind, phase, session, participant, ts) of STARTED/ENDED halves in [start, end)."""
        return [
            (kind, phase, session, participant, int(ts))
            for kind, phase, session, participant, ts in self._rows(
                "SELECT kind, phase, session_id, participant_id, ts_ms FROM calls WHERE "
                "account = ? AND ts_ms >= ? AND ts_ms < ?",
                (account, start_ms, end_ms),
            )
        ]

    def transcribed_sessions(
        self, account: str, start_ms: int, end_ms: int
    ) -> list[tuple[str, int]]:
        """(session, ts_ms) of TRANSCRIPTION_UPLOADED events in [start, end)."""
        return [
            (s, int(ts))
            for s, ts in self._rows(
                "SELECT session_id, min(ts_ms) FROM uploads WHERE account = ? AND event_type = "
                "'TRANSCRIPTION_UPLOADED' AND ts_ms >= ? AND ts_ms < ? GROUP BY session_id",
                (account, start_ms, end_ms),
            )
        ]

    def _spans(
        self, sql: str, account: str, sessions: Sequence[str]
    ) -> dict[str, tuple[int | None, int | None]]:
        spans: dict[str, tuple[int | None, int | None]] = {}
        for i in range(0, len(sessions), 500):
            chunk = list(sessions[i : i + 500])
            marks = ", ".join("?" for _ in chunk)
            for session, start, end in self._rows(sql.format(marks=marks), (account, *chunk)):
                spans[session] = (start, end)
        return spans

    def room_spans(
        self, account: str, sessions: Sequence[str]
    ) -> dict[str, tuple[int | None, int | None]]:
        """ROOM_CREATED to ROOM_DESTROYED per session."""
        return self._spans(
            "SELECT session_id, min(CASE WHEN event_type = 'ROOM_CREATED' THEN ts_ms "
            "END), max(CASE WHEN event_type = 'ROOM_DESTROYED' THEN ts_ms END) FROM rooms "
            "WHERE account = ? AND session_id IN ({marks}) GROUP BY session_id",
            account,
            sessions,
        )

    def presence_spans(
        self, account: str, sessions: Sequence[str]
    ) -> dict[str, tuple[int | None, int | None]]:
        """First join to last leave per session (lobby excluded)."""
        return self._spans(
            "SELECT session_id, min(CASE WHEN joined = 1 THEN ts_ms END), "
            "max(CASE WHEN joined = 0 THEN ts_ms END) FROM participants WHERE "
            "account = ? AND lobby = 0 AND session_id IN ({marks}) GROUP BY session_id",
            account,
            sessions,
        )

    def attribution_inputs(
        self,
        account: str,
        metric: str,
        cycle_start_ms: int,
        before_ms: int,
        domains: Sequence[str],
    ) -> tuple[
        dict[str, int],
        dict[str | None, int],
        dict[str, list[tuple[int, str | None, str | None, bool]]],
        dict[str, str],
    ]:
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
            for u, n in self._rows(
                f"SELECT user_id, count(*) FROM entity_first_seen WHERE {where} AND {internal_sql} "
                "GROUP BY user_id",
                [*params, *domain_params],
            )
        }
        guests = {
            s: int(n)
            for s, n in self._rows(
                f"SELECT session_id, count(*) FROM entity_first_seen WHERE {where} AND NOT "
                f"({internal_sql}) GROUP BY session_id",
                [*params, *domain_params],
            )
        }
        joins: dict[str, list[tuple[int, str | None, str | None, bool]]] = defaultdict(list)
        names: dict[str, str] = {}
        sessions = [s for s in guests if s]
        for i in range(0, len(sessions), 500):
            chunk = sessions[i : i + 500]
            marks = ", ".join("?" for _ in chunk)
            for session, ts, user, name, moderator in self._rows(
                "SELECT session_id, ts_ms, user_id, name, moderator FROM participants WHERE "
                f"account = ? AND joined = 1 AND lobby = 0 AND session_id IN ({marks})",
                (account, *chunk),
            ):
                joins[session].append((int(ts), user, name, bool(moderator)))
        for user, name in self._rows(
            "SELECT user_id, max(name) FROM participants WHERE account = ? "
            "AND user_id IS NOT NULL AND name IS NOT NULL GROUP BY user_id",
            (account,),
        ):
            names[user] = name
        return internal, guests, dict(joins), names
