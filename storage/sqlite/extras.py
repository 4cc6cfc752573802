"""SQL reads for the providers' extra metrics and views, and the report's room ranking."""

from __future__ import annotations

from meterwise.storage.sqlite import rollups
from meterwise.storage.sqlite.base import SqliteBase


class ExtraReads(SqliteBase):
    """Reads for the providers' extra metrics and views, and the report's room ranking."""

    def connection_events(
        self, account: str, start_ms: int, end_ms: int
    ) -> list[tuple[int, str, str, str | None, tuple[str, ...]]]:
        """(ts, uid, action, connection id, snapshot ids) of CometChat connection changes and
        snapshots in [start, end)."""
        return [
            (
                int(ts),
                uid,
                action,
                cid,
                tuple((snap or "").split("\n")) if action == "snapshot" and snap else (),
            )
            for ts, uid, action, cid, snap in self._rows(
                "SELECT ts_ms, uid, action, connection_id, snapshot FROM connections "
                "WHERE account = ? AND ts_ms >= ? AND ts_ms < ?",
                (account, start_ms, end_ms),
            )
        ]

    def call_session_seconds(
        self, account: str, start_ms: int, end_ms: int
    ) -> list[tuple[int, float, float, float, bool]]:
        """(ts, voice participant s, video participant s, session s, audio only) per call."""
        return [
            (int(ts), float(v), float(vi), float(s), bool(a))
            for ts, v, vi, s, a in self._rows(
                "SELECT ts_ms, voice_s, video_s, session_s, audio_only FROM call_sessions WHERE "
                "account = ? AND ts_ms >= ? AND ts_ms < ?",
                (account, start_ms, end_ms),
            )
        ]

    def distinct_by_cycle(self, account: str, metric: str) -> list[tuple[int, int]]:
        """(cycle start ms, distinct count) for every stored cycle, oldest first."""
        if self.known_ms is None:
            return rollups.per_cycle(self.conn, account, metric)
        return [
            (int(c), int(n))
            for c, n in self._rows(
                "SELECT cycle_start_ms, count(*) FROM entity_first_seen WHERE account = ? AND "
                "metric = ? GROUP BY cycle_start_ms ORDER BY cycle_start_ms",
                (account, metric),
            )
        ]

    def system_only_by_type(
        self, account: str, cycle_start_ms: int, start_ms: int, end_ms: int
    ) -> dict[str, int]:
        """Users active only through system-triggered events, per event type that made them."""
        return {
            e: int(n)
            for e, n in self._rows(
                "SELECT event, count(DISTINCT user_id) FROM custom_events WHERE account = ? AND "
                "ts_ms >= ? AND ts_ms < ? AND system = 1 AND user_id NOT IN (SELECT entity FROM "
                "entity_first_seen WHERE account = ? AND metric = 'mau_engaged' AND "
                "cycle_start_ms = ?) GROUP BY event ORDER BY 2 DESC",
                (account, start_ms, end_ms, account, cycle_start_ms),
            )
        }

    def segments(self, account: str, start_ms: int, end_ms: int, prop: str) -> dict[str, int]:
        """Distinct users per value of an event property in [start, end).

        Rows stored by 0.1 may hold non-standard JSON (``NaN``): they count as "(none)" instead
        of failing the whole report.
        """
        return {
            ("(none)" if v is None else str(v)): int(n)
            for v, n in self._rows(
                "SELECT CASE WHEN json_valid(properties) THEN json_extract(properties, ?) END "
                "AS v, count(DISTINCT user_id) FROM "
                "custom_events WHERE account = ? AND ts_ms >= ? AND ts_ms < ? GROUP BY v "
                "ORDER BY 2 DESC, 1",
                (f'$."{prop}"', account, start_ms, end_ms),
            )
        }
