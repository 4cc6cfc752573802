"""Maintenance: rebuild the derived tables, purge personal data, health probe, audit rows.

What a purge drops: the raw body of each event (replaced by ``{}``), names, emails, phone
numbers (dial-in/out nicks), SIP addresses, download links, and the ``name``/``email``/
``phone`` properties of custom events. What stays: ids (devices, users, sessions), times,
durations and the derived tables, so MAU, minutes, invoices, attribution and checks of those
cycles are unchanged. `rebuild_derived` leaves purged cycles as they are.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from meterwise.storage.records import CycleOf, Reparse
from meterwise.storage.sqlite import rollups
from meterwise.storage.sqlite.base import SqliteBase
from meterwise.storage.sqlite.ingest import (
    INSERT_SIGHTING,
    EventRow,
    SightingRow,
    fold_rows,
    parsed_rows,
)

_SCRUB = (
    "UPDATE events SET body = CAST('{}' AS BLOB) WHERE account = ? AND ts_ms < ?",
    "UPDATE participants SET name = NULL, email = NULL WHERE account = ? AND ts_ms < ?",
    "UPDATE usage_devices SET email = NULL WHERE account = ? AND ts_ms < ?",
    "UPDATE entity_first_seen SET email = NULL WHERE account = ? AND first_ts_ms < ?",
    "UPDATE sightings SET email = NULL WHERE account = ? AND ts_ms < ?",
    "UPDATE calls SET nick = NULL, sip_address = NULL WHERE account = ? AND ts_ms < ?",
    "UPDATE recordings SET link = NULL WHERE account = ? AND ts_ms < ?",
    "UPDATE uploads SET link = NULL WHERE account = ? AND ts_ms < ?",
    "UPDATE custom_events SET properties = json_remove(properties, '$.name', '$.email', "
    "'$.phone') WHERE account = ? AND ts_ms < ? AND json_valid(properties)",
)


class AdminOps(SqliteBase):
    """Rebuild, purge, probe and the device audit trail."""

    def purge(self, account: str, before_ms: int, now_ms: int) -> int:
        """Purge ``account``'s personal data dated before ``before_ms``; return events
        touched."""
        with self._write() as conn:
            touched = conn.execute(
                "SELECT count(*) FROM events WHERE account = ? AND ts_ms < ? AND body != ?",
                (account, before_ms, b"{}"),
            ).fetchone()[0]
            for sql in _SCRUB:
                conn.execute(sql, (account, before_ms))
            rollups.refresh(conn, account)  # emails dropped: their domains leave the rollups
            conn.execute(
                "INSERT INTO purges (account, before_ms, purged_at_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (account) DO UPDATE SET before_ms = max(before_ms, "
                "excluded.before_ms), purged_at_ms = excluded.purged_at_ms",
                (account, before_ms, now_ms),
            )
        return int(touched)

    def purged_before(self, account: str) -> int:
        """Events dated before this (epoch ms) have been purged (0: none)."""
        row = self._one("SELECT before_ms FROM purges WHERE account = ?", (account,))
        return int(row[0]) if row else 0

    def rebuild_derived(
        self, account: str, reparse: Reparse, cycle_of: CycleOf, batch: int = 5000
    ) -> tuple[int, int]:
        """Recompute the sightings and the aggregates (first sightings, hourly activity and
        USAGE sessions) of ``account`` from its stored bodies, in one transaction; replayed
        events leave the fold queue. Return (events replayed, first-seen rows)."""
        with self._write() as conn:
            # Purged cycles have no bodies to replay: their derived rows stay as they are.
            keep = self.purged_before(account)
            conn.execute(
                "DELETE FROM entity_first_seen WHERE account = ? AND cycle_start_ms >= ?",
                (account, keep),
            )
            for table in ("first_seen_hours", "first_seen_sessions", "first_seen_users"):
                conn.execute(
                    f"DELETE FROM {table} WHERE account = ? AND cycle_start_ms >= ?",
                    (account, keep),
                )
            conn.execute(
                "DELETE FROM activity_hourly WHERE account = ? AND hour_ms >= ?", (account, keep)
            )
            if not keep:
                conn.execute("DELETE FROM usage_sessions WHERE account = ?", (account,))
            replayed, last_id = 0, 0
            while True:
                rows = conn.execute(
                    "SELECT id, body, idempotency_key, received_at_ms FROM events "
                    "WHERE account = ? AND id > ? AND ts_ms >= ? ORDER BY id LIMIT ?",
                    (account, last_id, keep, batch),
                ).fetchall()
                if not rows:
                    break
                events: list[EventRow] = []
                sightings: list[SightingRow] = []
                for event_id, body, key, received_ms in rows:
                    last_id = event_id
                    found, seen = parsed_rows(
                        reparse(bytes(body), key, int(received_ms)), int(received_ms)
                    )
                    conn.execute("DELETE FROM sightings WHERE event_id = ?", (event_id,))
                    conn.executemany(INSERT_SIGHTING, [(event_id, account, *r[:6]) for r in seen])
                    events += found
                    sightings += seen
                fold_rows(conn, account, cycle_of, events, sightings)
                conn.execute(
                    "DELETE FROM fold_pending WHERE account = ? AND event_id <= ? AND "
                    "event_id IN (SELECT id FROM events WHERE account = ? AND ts_ms >= ?)",
                    (account, last_id, account, keep),
                )
                replayed += len(rows)
            entities = conn.execute(
                "SELECT count(*) FROM entity_first_seen WHERE account = ?", (account,)
            ).fetchone()[0]
        return replayed, int(entities)

    def probe_write(self) -> None:
        """Commit a real write (a heartbeat row), so a full disk or read-only file shows."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO leases (name, holder, expires_ms) VALUES ('healthz', ?, 0) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder",
                (f"{os.getpid()}",),
            )

    def first_sightings(
        self, account: str, metric: str, cycle_start_ms: int, before_ms: int
    ) -> Iterator[tuple[str, int, str | None, str | None, str | None]]:
        """(entity, first ts, session, user, email) of a cycle, oldest first."""
        yield from self.conn.execute(
            "SELECT entity, first_ts_ms, session_id, user_id, email FROM entity_first_seen "
            "WHERE account = ? AND metric = ? AND cycle_start_ms = ? AND first_ts_ms < ? "
            "ORDER BY first_ts_ms, entity",
            (account, metric, cycle_start_ms, before_ms),
        )
