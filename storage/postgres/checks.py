"""Reads behind the consistency checks, and the provider's own figures of a cycle, in
PostgreSQL (the same results as SQLite's `checks.py`)."""

from __future__ import annotations

from collections.abc import Sequence

from meterwise.storage.postgres.base import PgBase
from meterwise.storage.records import FiguresRow


class PgCheckReads(PgBase):
    """What the checks of a cycle read."""

    def joined_per_session(self, account: str, start_ms: int, end_ms: int) -> dict[str, int]:
        """Distinct participants who joined (lobby excluded), per session, in [start, end)."""
        return {
            s: int(n)
            for s, n in self._rows(
                "SELECT session_id, count(DISTINCT coalesce(participant_id, user_id, name)) "
                "FROM participants WHERE account = %s AND joined = 1 AND lobby = 0 AND "
                "ts_ms >= %s AND ts_ms < %s AND session_id IS NOT NULL GROUP BY session_id",
                (account, start_ms, end_ms),
            )
        }

    def sessions_with_usage(self, account: str, sessions: Sequence[str]) -> set[str]:
        """Which of ``sessions`` had a USAGE webhook."""
        return {
            s
            for (s,) in self._rows(
                "SELECT session_id FROM usage_sessions WHERE account = %s AND session_id = ANY(%s)",
                (account, list(sessions)),
            )
        }

    def recording_events(
        self, account: str, start_ms: int, end_ms: int
    ) -> list[tuple[str, str | None, str | None, int]]:
        """(event type, recording or meeting session, meeting session, ts) in [start, end)."""
        return [
            (k, r, s, int(ts))
            for k, r, s, ts in self._rows(
                "SELECT event_type, coalesce(recording_session_id, session_id), session_id, "
                "ts_ms FROM recordings WHERE account = %s AND ts_ms >= %s AND ts_ms < %s",
                (account, start_ms, end_ms),
            )
        ]

    def upload_events(
        self, account: str, start_ms: int, end_ms: int
    ) -> list[tuple[str, str | None, int]]:
        """(event type, session, ts) of transcription/chat uploads in [start, end)."""
        return [
            (k, s, int(ts))
            for k, s, ts in self._rows(
                "SELECT event_type, session_id, ts_ms FROM uploads WHERE account = %s AND "
                "ts_ms >= %s AND ts_ms < %s",
                (account, start_ms, end_ms),
            )
        ]

    def hourly(self, account: str, metric: str, start_ms: int, end_ms: int) -> dict[int, int]:
        """Counts per hour (event time) of ``metric`` in [start, end)."""
        return {
            int(h): int(n)
            for h, n in self._rows(
                "SELECT hour_ms, count FROM activity_hourly WHERE account = %s AND metric = %s "
                "AND hour_ms >= %s AND hour_ms < %s",
                (account, metric, start_ms, end_ms),
            )
        }

    def delivery_counts(self, account: str, start_ms: int, end_ms: int) -> dict[str, int]:
        """Rejected and duplicate deliveries per reason in [start, end)."""
        return {
            r: int(n)
            for r, n in self._rows(
                "SELECT reason, sum(count)::bigint FROM delivery_counts WHERE account = %s AND "
                "hour_ms >= %s AND hour_ms < %s GROUP BY reason",
                (account, start_ms, end_ms),
            )
        }

    def record_figures(
        self,
        account: str,
        cycle_start_ms: int,
        mau: int | None,
        total: str | None,
        lines_json: str,
        recorded_at_ms: int,
        note: str,
    ) -> None:
        """Store (or replace) what the provider said about a cycle."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO provider_figures (account, cycle_start_ms, mau, total, lines, "
                "recorded_at_ms, note) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT "
                "(account, cycle_start_ms) DO UPDATE SET mau = excluded.mau, total = "
                "excluded.total, lines = excluded.lines, recorded_at_ms = "
                "excluded.recorded_at_ms, note = excluded.note",
                (account, cycle_start_ms, mau, total, lines_json, recorded_at_ms, note),
            )

    def load_figures(self, account: str, cycle_start_ms: int) -> FiguresRow | None:
        """The provider's figures recorded for a cycle, if any."""
        row = self._one(
            "SELECT mau, total, lines, recorded_at_ms, note FROM provider_figures WHERE "
            "account = %s AND cycle_start_ms = %s",
            (account, cycle_start_ms),
        )
        if row is None:
            return None
        mau, total, lines, at, note = row
        return (None if mau is None else int(mau), total, lines, int(at), note)
