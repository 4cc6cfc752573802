"""The fold: queued events added to the aggregates in batches, exactly once.

A delivery only inserts (its events, rows, sightings and a `fold_pending` entry). The fold
takes a batch of an account's queued events, adds them to first sightings, hourly activity
and USAGE sessions, and deletes their queue entries, all in one transaction: an event is
folded once or not at all, whatever order deliveries committed in. Nothing depends on ids
being handed out in commit order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from meterwise.storage.errors import StorageUnavailable
from meterwise.storage.records import CycleOf
from meterwise.storage.sqlite.base import SqliteBase
from meterwise.storage.sqlite.ingest import HOUR_MS, fold_rows


def _fold_deliveries(conn: sqlite3.Connection, account: str) -> None:
    """Add the logged rejections and duplicates to the hourly counts; empty the log."""
    conn.execute(
        "INSERT INTO delivery_counts (account, reason, hour_ms, count) SELECT account, reason, "
        f"at_ms - at_ms % {HOUR_MS}, count(*) FROM delivery_log WHERE account = ? GROUP BY 1, 2, 3 "
        "ON CONFLICT (account, reason, hour_ms) DO UPDATE SET count = count + excluded.count",
        (account,),
    )
    conn.execute("DELETE FROM delivery_log WHERE account = ?", (account,))


class FoldOps(SqliteBase):
    """Fold what is queued; say how much is."""

    def pending_folds(self, accounts: Iterable[str] | None = None) -> int:
        """Events stored but not yet folded (of ``accounts``, or of all)."""
        if accounts is None:
            row = self._one("SELECT count(*) FROM fold_pending")
        else:
            wanted = list(accounts)
            marks = ", ".join("?" for _ in wanted) or "NULL"
            row = self._one(f"SELECT count(*) FROM fold_pending WHERE account IN ({marks})", wanted)
        return int(row[0]) if row else 0

    def fold(self, cycles: Mapping[str, CycleOf], batch: int = 5000) -> int:
        """Fold up to ``batch`` queued events of each account in ``cycles`` (account ->
        its cycle function); return how many were folded. Events of accounts not given stay
        queued."""
        try:
            return self._fold(cycles, batch)
        except (sqlite3.Error, OSError) as exc:
            raise StorageUnavailable(f"the fold cannot be committed: {exc}") from None

    def _fold(self, cycles: Mapping[str, CycleOf], batch: int) -> int:
        folded = 0
        with self._write() as conn:
            for account, cycle_of in cycles.items():
                last = conn.execute(
                    "SELECT max(event_id) FROM (SELECT event_id FROM fold_pending WHERE "
                    "account = ? ORDER BY event_id LIMIT ?)",
                    (account, batch),
                ).fetchone()[0]
                _fold_deliveries(conn, account)
                if last is None:
                    continue
                events = conn.execute(
                    "SELECT e.event_type, e.session_id, e.ts_ms, e.received_at_ms FROM "
                    "fold_pending f JOIN events e ON e.id = f.event_id WHERE f.account = ? "
                    "AND f.event_id <= ? ORDER BY f.event_id",
                    (account, last),
                ).fetchall()
                sightings = conn.execute(
                    "SELECT s.metric, s.entity, s.ts_ms, s.session_id, s.user_id, s.email, "
                    "e.received_at_ms FROM fold_pending f JOIN sightings s ON s.event_id = "
                    "f.event_id JOIN events e ON e.id = f.event_id WHERE f.account = ? AND "
                    "f.event_id <= ? ORDER BY f.event_id",
                    (account, last),
                ).fetchall()
                fold_rows(conn, account, cycle_of, events, sightings)
                conn.execute(
                    "DELETE FROM fold_pending WHERE account = ? AND event_id <= ?",
                    (account, last),
                )
                folded += len(events)
        return folded
