"""Reads of one cycle: first sightings, activity, minutes' raw rows, attribution inputs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from meterwise.storage.sqlite import rollups
from meterwise.storage.sqlite.base import SqliteBase

DAY_MS = 86_400_000


def _internal(domains: Sequence[str]) -> tuple[str, list[str]]:
    """SQL for "an internal device" (a user id, and an email at one of ``domains`` if any)."""
    sql = "user_id IS NOT NULL AND user_id != ''"
    if domains:
        marks = ", ".join("?" for _ in domains)
        sql += f" AND lower(substr(email, instr(email, '@') + 1)) IN ({marks})"
    return sql, [d.lower() for d in domains]


_CYCLE = "account = ? AND metric = ? AND cycle_start_ms = ? AND first_ts_ms < ?"


class CycleReads(SqliteBase):
    """Reads of one cycle's counts, sightings, minutes and attribution."""

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

    def first_seen_groups(
        self,
        account: str,
        metric: str,
        cycle_start_ms: int,
        before_ms: int,
        cuts: Sequence[int],
    ) -> list[tuple[int, int, int]]:
        """One pass over a cycle's first sightings before ``before_ms``: how many per
        (cycle day, plan period); the period is how many of ``cuts`` (plan switches, ms) lie
        at or before the sighting."""
        if self.known_ms is None:
            return rollups.groups(self.conn, account, metric, cycle_start_ms, before_ms, cuts)
        period = " + ".join(f"(first_ts_ms >= {int(c)})" for c in cuts) or "0"
        return [
            (int(d), int(b), int(n))
            for d, b, n in self._rows(
                f"SELECT (first_ts_ms - ?) / {DAY_MS} AS d, {period} AS b, count(*) FROM "
                f"entity_first_seen WHERE {_CYCLE} GROUP BY d, b",
                [cycle_start_ms, account, metric, cycle_start_ms, before_ms],
            )
        ]

    def first_seen_by_session(
        self,
        account: str,
        metric: str,
        cycle_start_ms: int,
        before_ms: int,
        domains: Sequence[str],
    ) -> list[tuple[str | None, bool, int]]:
        """How many first sightings per (first session, internal or guest)."""
        if self.known_ms is None:
            return rollups.by_session(
                self.conn, account, metric, cycle_start_ms, before_ms, domains
            )
        internal, params = _internal(domains)
        return [
            (session, bool(i), int(n))
            for session, i, n in self._rows(
                # A user without an email compares NULL: a guest, grouped with the others.
                f"SELECT session_id, coalesce({internal}, 0) AS i, count(*) FROM "
                f"entity_first_seen WHERE {_CYCLE} GROUP BY session_id, i",
                [*params, account, metric, cycle_start_ms, before_ms],
            )
        ]

    def nth_first_seen_ms(
        self, account: str, metric: str, cycle_start_ms: int, n: int, from_ms: int, to_ms: int
    ) -> int | None:
        """When the n-th (1-based) entity first seen in [from, to) of the cycle was seen."""
        found = self._one(
            "SELECT first_ts_ms FROM entity_first_seen WHERE account = ? AND metric = ? AND "
            "cycle_start_ms = ? AND first_ts_ms >= ? AND first_ts_ms < ? ORDER BY first_ts_ms "
            "LIMIT 1 OFFSET ?",
            (account, metric, cycle_start_ms, from_ms, to_ms, n - 1),
        )
        return int(found[0]) if found else None

    def internal_by_user(
        self,
        account: str,
        metric: str,
        cycle_start_ms: int,
        before_ms: int,
        domains: Sequence[str],
    ) -> dict[str, int]:
        """Internal devices first seen in the cycle, per user."""
        if self.known_ms is None:
            return rollups.by_user(self.conn, account, metric, cycle_start_ms, before_ms, domains)
        internal, params = _internal(domains)
        return {
            u: int(n)
            for u, n in self._rows(
                f"SELECT user_id, count(*) FROM entity_first_seen WHERE {_CYCLE} AND "
                f"{internal} GROUP BY user_id",
                [account, metric, cycle_start_ms, before_ms, *params],
            )
        }

    def meeting_joins(
        self, account: str, sessions: Sequence[str]
    ) -> dict[str, list[tuple[int, str | None, str | None, bool]]]:
        """(ts, user, name, moderator) of every join (lobby excluded) of these sessions."""
        joins: dict[str, list[tuple[int, str | None, str | None, bool]]] = defaultdict(list)
        for i in range(0, len(sessions), 500):
            chunk = list(sessions[i : i + 500])
            marks = ", ".join("?" for _ in chunk)
            for session, ts, user, name, moderator in self._rows(
                "SELECT session_id, ts_ms, user_id, name, moderator FROM participants WHERE "
                f"account = ? AND joined = 1 AND lobby = 0 AND session_id IN ({marks})",
                (account, *chunk),
            ):
                joins[session].append((int(ts), user, name, bool(moderator)))
        return dict(joins)

    def display_names(self, account: str) -> dict[str, str]:
        """A display name per user id (any one the participant rows carry)."""
        return dict(
            self._rows(
                "SELECT user_id, max(name) FROM participants WHERE account = ? "
                "AND user_id IS NOT NULL AND name IS NOT NULL GROUP BY user_id",
                (account,),
            )
        )

    def room_names(self, account: str, sessions: Sequence[str]) -> dict[str, str]:
        """The conference name of each session that had a ROOM_CREATED."""
        names: dict[str, str] = {}
        for i in range(0, len(sessions), 500):
            chunk = list(sessions[i : i + 500])
            marks = ", ".join("?" for _ in chunk)
            names.update(
                self._rows(
                    "SELECT session_id, max(conference) FROM rooms WHERE account = ? AND "
                    f"session_id IN ({marks}) GROUP BY session_id",
                    (account, *chunk),
                )
            )
        return names
