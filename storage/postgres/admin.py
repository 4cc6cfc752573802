"""Maintenance in PostgreSQL: rebuild the derived tables, purge personal data, health probe,
the device audit trail (the same semantics as SQLite's `admin.py`)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from meterwise.storage.postgres.base import PgBase
from meterwise.storage.postgres.fold import Conn, fold_rows
from meterwise.storage.records import CycleOf, Reparse
from meterwise.storage.sqlite.ingest import EventRow, SightingRow, parsed_rows

_SCRUB = (
    "UPDATE events SET body = '\\x7b7d'::bytea WHERE account = %s AND ts_ms < %s",
    "UPDATE participants SET name = NULL, email = NULL WHERE account = %s AND ts_ms < %s",
    "UPDATE usage_devices SET email = NULL WHERE account = %s AND ts_ms < %s",
    "UPDATE entity_first_seen SET email = NULL WHERE account = %s AND first_ts_ms < %s",
    "UPDATE sightings SET email = NULL WHERE account = %s AND ts_ms < %s",
    "UPDATE calls SET nick = NULL, sip_address = NULL WHERE account = %s AND ts_ms < %s",
    "UPDATE recordings SET link = NULL WHERE account = %s AND ts_ms < %s",
    "UPDATE uploads SET link = NULL WHERE account = %s AND ts_ms < %s",
)
_ROLLUPS = ("first_seen_hours", "first_seen_sessions", "first_seen_users")


def _bucket_subquery() -> str:
    return (
        "SELECT account, metric, cycle_start_ms, coalesce(session_id, '') AS session, "
        "CASE WHEN user_id IS NOT NULL AND user_id != '' THEN user_id END AS usr, "
        "CASE WHEN email IS NULL THEN '' ELSE lower(substr(email, strpos(email, '@') + 1)) "
        "END AS domain FROM entity_first_seen WHERE account = %(a)s"
    )


def refresh(conn: Conn, account: str) -> None:
    """Recompute ``account``'s rollups from its first sightings (the caller's transaction)."""
    for table in _ROLLUPS:
        conn.execute(f"DELETE FROM {table} WHERE account = %s", (account,))
    buckets = _bucket_subquery()
    conn.execute(
        "INSERT INTO first_seen_hours (account, metric, cycle_start_ms, hour, count) SELECT "
        "account, metric, cycle_start_ms, (first_ts_ms - cycle_start_ms) / 3600000, count(*) "
        "FROM entity_first_seen WHERE account = %(a)s GROUP BY 1, 2, 3, 4",
        {"a": account},
    )
    conn.execute(
        "INSERT INTO first_seen_sessions (account, metric, cycle_start_ms, session_id, "
        "has_user, domain, count) SELECT account, metric, cycle_start_ms, session, "
        f"(usr IS NOT NULL)::int, domain, count(*) FROM ({buckets}) b GROUP BY 1, 2, 3, 4, 5, 6",
        {"a": account},
    )
    conn.execute(
        "INSERT INTO first_seen_users (account, metric, cycle_start_ms, user_id, domain, count) "
        f"SELECT account, metric, cycle_start_ms, usr, domain, count(*) FROM ({buckets}) b "
        "WHERE usr IS NOT NULL GROUP BY 1, 2, 3, 4, 5",
        {"a": account},
    )


def _scrub_properties(conn: Conn, account: str, before_ms: int) -> None:
    """Drop name, email and phone from custom events' JSON properties (rows whose properties
    are not valid JSON stay as they are, as in SQLite)."""
    rows = conn.execute(
        "SELECT event_id, properties FROM custom_events WHERE account = %s AND ts_ms < %s "
        "AND properties IS NOT NULL",
        (account, before_ms),
    ).fetchall()
    for event_id, properties in rows:
        try:
            found: Any = json.loads(properties)
        except ValueError:
            continue
        if not isinstance(found, dict) or not {"name", "email", "phone"} & set(found):
            continue
        kept = {k: v for k, v in found.items() if k not in ("name", "email", "phone")}
        conn.execute(
            "UPDATE custom_events SET properties = %s WHERE event_id = %s AND properties = %s",
            (json.dumps(kept, separators=(",", ":")), event_id, properties),
        )


class PgAdminOps(PgBase):
    """Rebuild, purge, probe and the device audit trail."""

    def purge(self, account: str, before_ms: int, now_ms: int) -> int:
        """Purge ``account``'s personal data dated before ``before_ms``; events touched."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT count(*) FROM events WHERE account = %s AND ts_ms < %s AND body != "
                "'\\x7b7d'::bytea",
                (account, before_ms),
            ).fetchone()
            for sql in _SCRUB:
                conn.execute(sql, (account, before_ms))
            _scrub_properties(conn, account, before_ms)
            refresh(conn, account)  # emails dropped: their domains leave the rollups
            conn.execute(
                "INSERT INTO purges AS p (account, before_ms, purged_at_ms) VALUES (%s, %s, %s) "
                "ON CONFLICT (account) DO UPDATE SET before_ms = GREATEST(p.before_ms, "
                "excluded.before_ms), purged_at_ms = excluded.purged_at_ms",
                (account, before_ms, now_ms),
            )
        return int(row[0]) if row else 0

    def purged_before(self, account: str) -> int:
        """Events dated before this (epoch ms) have been purged (0: none)."""
        row = self._one("SELECT before_ms FROM purges WHERE account = %s", (account,))
        return int(row[0]) if row else 0

    def rebuild_derived(
        self, account: str, reparse: Reparse, cycle_of: CycleOf, batch: int = 5000
    ) -> tuple[int, int]:
        """Recompute the sightings and the aggregates of ``account`` from its stored bodies,
        in one transaction; replayed events leave the fold queue. (events, first-seen rows)"""
        keep = self.purged_before(account)
        with self._transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"fold:{account}",))
            conn.execute(
                "DELETE FROM entity_first_seen WHERE account = %s AND cycle_start_ms >= %s",
                (account, keep),
            )
            for table in _ROLLUPS:
                conn.execute(
                    f"DELETE FROM {table} WHERE account = %s AND cycle_start_ms >= %s",
                    (account, keep),
                )
            conn.execute(
                "DELETE FROM activity_hourly WHERE account = %s AND hour_ms >= %s", (account, keep)
            )
            if not keep:
                conn.execute("DELETE FROM usage_sessions WHERE account = %s", (account,))
            replayed, last_id = 0, 0
            while True:
                rows = conn.execute(
                    "SELECT id, body, idempotency_key, received_at_ms FROM events WHERE "
                    "account = %s AND id > %s AND ts_ms >= %s ORDER BY id LIMIT %s",
                    (account, last_id, keep, batch),
                ).fetchall()
                if not rows:
                    break
                events: list[EventRow] = []
                sightings: list[SightingRow] = []
                with conn.cursor() as cur:
                    for event_id, body, key, received_ms in rows:
                        last_id = event_id
                        found, seen = parsed_rows(
                            reparse(bytes(body), key, int(received_ms)), int(received_ms)
                        )
                        cur.execute("DELETE FROM sightings WHERE event_id = %s", (event_id,))
                        cur.executemany(
                            "INSERT INTO sightings (event_id, account, metric, entity, ts_ms, "
                            "session_id, user_id, email) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                            [(event_id, account, *r[:6]) for r in seen],
                        )
                        events += found
                        sightings += seen
                fold_rows(conn, account, cycle_of, events, sightings)
                conn.execute(
                    "DELETE FROM fold_pending WHERE account = %s AND event_id <= %s AND "
                    "event_id IN (SELECT id FROM events WHERE account = %s AND ts_ms >= %s)",
                    (account, last_id, account, keep),
                )
                replayed += len(rows)
            entities = conn.execute(
                "SELECT count(*) FROM entity_first_seen WHERE account = %s", (account,)
            ).fetchone()
        return replayed, int(entities[0]) if entities else 0

    def probe_write(self) -> None:
        """Commit a real write (a heartbeat row), so a server that cannot commit shows."""
        self._exec(
            "INSERT INTO leases (name, holder, expires_ms) VALUES ('healthz', %s, 0) "
            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder",
            (f"{os.getpid()}",),
        )

    def first_sightings(
        self, account: str, metric: str, cycle_start_ms: int, before_ms: int
    ) -> Iterator[tuple[str, int, str | None, str | None, str | None]]:
        """(entity, first ts, session, user, email) of a cycle, oldest first."""
        yield from self._rows(
            "SELECT entity, first_ts_ms, session_id, user_id, email FROM entity_first_seen "
            "WHERE account = %s AND metric = %s AND cycle_start_ms = %s AND first_ts_ms < %s "
            'ORDER BY first_ts_ms, entity COLLATE "C"',
            (account, metric, cycle_start_ms, before_ms),
        )
