"""Reads about time and knowledge in PostgreSQL: observation, what was known at an instant,
closing reports and late arrivals (the same semantics as SQLite's `knowledge.py`).

"Known at" shadows every read table with a TEMP view (PostgreSQL searches the session's
temporary schema first) on one connection, pinned for the duration, so every read inside
goes through the views; reads outside use other connections and see the tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from meterwise.storage.errors import StorageUnavailable
from meterwise.storage.postgres.base import UNAVAILABLE, PgBase
from meterwise.storage.sqlite.ingest import NORMALIZED_TABLES

_KNOWN_VIEWS = {
    "events": "SELECT * FROM events WHERE received_at_ms <= {t}",
    "entity_first_seen": "SELECT * FROM entity_first_seen WHERE coalesce(known_ms, 0) <= {t}",
    **{
        table: f"SELECT x.* FROM {table} x JOIN events e ON e.id = x.event_id "
        "WHERE e.received_at_ms <= {t}"
        for table in sorted(NORMALIZED_TABLES)
    },
}


class PgKnowledgeOps(PgBase):
    """Observation, what was known at an instant, closing reports and late arrivals."""

    def record_observation(self, account: str, now_ms: int) -> None:
        """Note that observation of ``account`` began now, unless it began earlier."""
        self._exec(
            "INSERT INTO observation (account, since_ms) SELECT %s, LEAST(%s, coalesce(("
            "SELECT min(ts_ms) FROM events WHERE account = %s), %s)) ON CONFLICT DO NOTHING",
            (account, now_ms, account, now_ms),
        )

    def observed_since(self, account: str) -> int | None:
        """When observation of ``account`` began (None: unknown, treated as always)."""
        row = self._one("SELECT since_ms FROM observation WHERE account = %s", (account,))
        return int(row[0]) if row else None

    @contextmanager
    def known_at(self, known_ms: int | None) -> Iterator[None]:
        """Inside, reads see only what had been received at ``known_ms`` (None: everything)."""
        if known_ms is None:
            yield
            return
        try:
            with self.pool.connection() as conn:
                with conn.transaction():
                    for table, sql in _KNOWN_VIEWS.items():
                        conn.execute(f"CREATE TEMP VIEW {table} AS {sql.format(t=int(known_ms))}")
                self._pinned, self.known_ms = conn, known_ms
                try:
                    yield
                finally:
                    self._pinned, self.known_ms = None, None
                    with conn.transaction():
                        for table in reversed(_KNOWN_VIEWS):  # dependents first
                            conn.execute(f"DROP VIEW IF EXISTS pg_temp.{table}")
        except UNAVAILABLE as exc:
            raise StorageUnavailable(str(exc)) from None

    def closing_mailed_ms(self, account: str, cycle_start_ms: int) -> int | None:
        """When the closing report of a cycle was queued (None: not yet)."""
        row = self._one(
            "SELECT fired_at_ms FROM alert_state WHERE account = %s AND cycle_start_ms = %s "
            "AND metric = '*' AND rule = 'final' AND level = 'closed'",
            (account, cycle_start_ms),
        )
        return int(row[0]) if row else None

    def late_arrivals(
        self, account: str, start_ms: int, end_ms: int, after_ms: int, until_ms: int | None
    ) -> tuple[int, int | None, int | None]:
        """(count, first, last receipt) of events dated in [start, end) received after
        ``after_ms`` (and by ``until_ms`` when given)."""
        try:  # the tables, never known_at's views: a connection of its own
            with self.pool.connection() as conn:
                row = conn.execute(
                    "SELECT count(*), min(received_at_ms), max(received_at_ms) FROM events "
                    "WHERE account = %s AND ts_ms >= %s AND ts_ms < %s AND received_at_ms > %s "
                    "AND received_at_ms <= %s",
                    (
                        account,
                        start_ms,
                        end_ms,
                        after_ms,
                        until_ms if until_ms is not None else 2**62,
                    ),
                ).fetchone()
        except UNAVAILABLE as exc:
            raise StorageUnavailable(str(exc)) from None
        n, first, last = row if row else (0, None, None)
        return int(n), first, last
