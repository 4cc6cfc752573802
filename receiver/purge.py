"""Drop raw webhook bodies and personal fields older than a date, keeping every figure.

What goes: the raw body of each event (replaced by ``{}``), names, emails, phone numbers
(dial-in/out nicks), SIP addresses, download links, and the ``name``/``email``/``phone``
properties of custom events. What stays: ids (devices, users, sessions), times, durations and
the derived tables, so MAU, minutes, invoices, attribution and checks of those cycles are
unchanged. Only events dated before the start of the account's current billing cycle can be
purged (closed cycles), and `meterwise rebuild` leaves purged cycles as they are.
"""

from __future__ import annotations

from typing import Any

from meterwise.receiver.db import write_lock

_SCRUB = (
    "UPDATE events SET body = CAST('{}' AS BLOB) WHERE account = ? AND ts_ms < ?",
    "UPDATE participants SET name = NULL, email = NULL WHERE account = ? AND ts_ms < ?",
    "UPDATE usage_devices SET email = NULL WHERE account = ? AND ts_ms < ?",
    "UPDATE entity_first_seen SET email = NULL WHERE account = ? AND first_ts_ms < ?",
    "UPDATE calls SET nick = NULL, sip_address = NULL WHERE account = ? AND ts_ms < ?",
    "UPDATE recordings SET link = NULL WHERE account = ? AND ts_ms < ?",
    "UPDATE uploads SET link = NULL WHERE account = ? AND ts_ms < ?",
    "UPDATE custom_events SET properties = json_remove(properties, '$.name', '$.email', "
    "'$.phone') WHERE account = ? AND ts_ms < ? AND json_valid(properties)",
)


def purge(db: Any, path: str, account: str, before_ms: int, now_ms: int) -> int:
    """Purge ``account``'s personal data dated before ``before_ms``; return events touched."""
    conn = db.conn
    with write_lock(path):
        conn.execute("BEGIN IMMEDIATE")
        try:
            touched = conn.execute(
                "SELECT count(*) FROM events WHERE account = ? AND ts_ms < ? AND body != ?",
                (account, before_ms, b"{}"),
            ).fetchone()[0]
            for sql in _SCRUB:
                conn.execute(sql, (account, before_ms))
            conn.execute(
                "INSERT INTO purges (account, before_ms, purged_at_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (account) DO UPDATE SET before_ms = max(before_ms, "
                "excluded.before_ms), purged_at_ms = excluded.purged_at_ms",
                (account, before_ms, now_ms),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return int(touched)


def purged_before(db: Any, account: str) -> int:
    """Events dated before this (epoch ms) have been purged (0: none)."""
    row = db.conn.execute("SELECT before_ms FROM purges WHERE account = ?", (account,)).fetchone()
    return int(row[0]) if row else 0


def boundary(cycle_start_ms: int, current_cycle_start_ms: int) -> int:
    """Purge whole closed cycles only: never past the start of the current cycle."""
    return min(cycle_start_ms, current_cycle_start_ms)
