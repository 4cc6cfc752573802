"""Reads about time and knowledge: when observation began, what was known at an instant,
when a cycle's closing report was mailed and what arrived after it. SQL only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from meterwise.storage.sqlite.base import SqliteBase
from meterwise.storage.sqlite.ingest import NORMALIZED_TABLES

# What Meterwise knew at an instant: every read table shadowed by a TEMP view (SQLite resolves
# unqualified names in the temp schema first) that keeps only rows received by then.
_KNOWN_VIEWS = {
    "events": "SELECT * FROM main.events WHERE received_at_ms <= {t}",
    "entity_first_seen": "SELECT * FROM main.entity_first_seen WHERE coalesce(known_ms, 0) <= {t}",
    **{
        table: f"SELECT x.* FROM main.{table} x JOIN main.events e ON e.id = x.event_id "
        "WHERE e.received_at_ms <= {t}"
        for table in sorted(NORMALIZED_TABLES)
    },
}


class KnowledgeOps(SqliteBase):
    """Observation, what was known at an instant, closing reports and late arrivals."""

    def record_observation(self, account: str, now_ms: int) -> None:
        """Note that observation of ``account`` began now, unless it began earlier (events
        stored by an earlier release count as observed from the first of them)."""
        self.conn.execute(
            "INSERT OR IGNORE INTO observation (account, since_ms) SELECT ?, min(?, coalesce(("
            "SELECT min(ts_ms) FROM events WHERE account = ?), ?))",
            (account, now_ms, account, now_ms),
        )

    def observed_since(self, account: str) -> int | None:
        """When observation of ``account`` began (None: unknown, treated as always)."""
        row = self.conn.execute(
            "SELECT since_ms FROM observation WHERE account = ?", (account,)
        ).fetchone()
        return int(row[0]) if row else None

    @contextmanager
    def known_at(self, known_ms: int | None) -> Iterator[None]:
        """Inside, reads see only what had been received at ``known_ms`` (None: everything).

        The connection must not write meanwhile: the views shadow the tables until the end.
        """
        if known_ms is None:
            yield
            return
        self.known_ms = known_ms  # the rollups hold what is known now: the reads skip them
        try:
            for table, sql in _KNOWN_VIEWS.items():
                self.conn.execute(f"CREATE TEMP VIEW {table} AS {sql.format(t=int(known_ms))}")
            yield
        finally:
            self.known_ms = None
            for table in _KNOWN_VIEWS:
                self.conn.execute(f"DROP VIEW IF EXISTS temp.{table}")

    def closing_mailed_ms(self, account: str, cycle_start_ms: int) -> int | None:
        """When the closing report of a cycle was queued (None: not yet)."""
        row = self.conn.execute(
            "SELECT fired_at_ms FROM alert_state WHERE account = ? AND cycle_start_ms = ? AND "
            "metric = '*' AND rule = 'final' AND level = 'closed'",
            (account, cycle_start_ms),
        ).fetchone()
        return int(row[0]) if row else None

    def late_arrivals(
        self, account: str, start_ms: int, end_ms: int, after_ms: int, until_ms: int | None
    ) -> tuple[int, int | None, int | None]:
        """(count, first, last receipt) of events dated in [start, end) received after
        ``after_ms`` (and by ``until_ms`` when given)."""
        n, first, last = self.conn.execute(
            "SELECT count(*), min(received_at_ms), max(received_at_ms) FROM main.events WHERE "
            "account = ? AND ts_ms >= ? AND ts_ms < ? AND received_at_ms > ? AND "
            "received_at_ms <= ?",
            (account, start_ms, end_ms, after_ms, until_ms if until_ms is not None else 2**62),
        ).fetchone()
        return int(n), first, last
