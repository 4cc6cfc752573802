"""Reads for the providers' extra metrics and views in PostgreSQL (the same results as
SQLite's `extras.py`)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from meterwise.storage.postgres import rollups
from meterwise.storage.postgres.base import PgBase


class PgExtraReads(PgBase):
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
                "WHERE account = %s AND ts_ms >= %s AND ts_ms < %s",
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
                "account = %s AND ts_ms >= %s AND ts_ms < %s",
                (account, start_ms, end_ms),
            )
        ]

    def distinct_by_cycle(self, account: str, metric: str) -> list[tuple[int, int]]:
        """(cycle start ms, distinct count) for every stored cycle, oldest first."""
        if self.known_ms is None:
            with self._transaction() as conn:
                return rollups.per_cycle(conn, account, metric)
        return [
            (int(c), int(n))
            for c, n in self._rows(
                "SELECT cycle_start_ms, count(*) FROM entity_first_seen WHERE account = %s AND "
                "metric = %s GROUP BY cycle_start_ms ORDER BY cycle_start_ms",
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
                "SELECT event, count(DISTINCT user_id) FROM custom_events WHERE account = %s AND "
                "ts_ms >= %s AND ts_ms < %s AND system = 1 AND user_id NOT IN (SELECT entity FROM "
                "entity_first_seen WHERE account = %s AND metric = 'mau_engaged' AND "
                "cycle_start_ms = %s) GROUP BY event ORDER BY 2 DESC",
                (account, start_ms, end_ms, account, cycle_start_ms),
            )
        }

    def segments(self, account: str, start_ms: int, end_ms: int, prop: str) -> dict[str, int]:
        """Distinct users per value of an event property in [start, end).

        Properties that are not standard JSON (``NaN``, from 0.1) count as "(none)", as in
        SQLite; values are grouped as SQLite's json_extract gives them (true as 1).
        """
        users: dict[str, set[str]] = defaultdict(set)
        for user, properties in self._rows(
            "SELECT user_id, properties FROM custom_events WHERE account = %s AND ts_ms >= %s "
            "AND ts_ms < %s",
            (account, start_ms, end_ms),
        ):
            users[_value(properties, prop)].add(user)
        counted = sorted(((len(u), v) for v, u in users.items()), key=lambda c: (-c[0], c[1]))
        return {v: n for n, v in counted}


def _strict(constant: str) -> Any:
    raise ValueError(constant)


def _value(properties: str | None, prop: str) -> str:
    """The property as SQLite's json_extract and str() show it; "(none)" when absent."""
    try:
        found = json.loads(properties or "", parse_constant=_strict)
    except ValueError:
        return "(none)"
    if not isinstance(found, dict) or found.get(prop) is None:
        return "(none)"
    value = found[prop]
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
