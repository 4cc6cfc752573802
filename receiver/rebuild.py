"""Recompute the derived tables (first-seen per cycle, hourly activity, sessions with USAGE)
from the raw events."""

from __future__ import annotations

from functools import partial
from typing import Any

from meterwise.config.settings import Settings
from meterwise.receiver.db import write_lock
from meterwise.receiver.providers import PROVIDERS
from meterwise.receiver.providers.base import REPLAY, BadPayload, Parsed
from meterwise.receiver.purge import purged_before
from meterwise.receiver.store import upsert_entities


def _received(received: dict[int, int], parsed: Parsed) -> int:
    return received[id(parsed)]


def rebuild(db: Any, settings: Settings, account_id: str, batch: int = 5000) -> tuple[int, int]:
    """Re-parse every stored event of an account; return (events replayed, first-seen rows)."""
    account = settings.accounts[account_id]
    adapter = PROVIDERS[account.provider]
    kind = settings.catalog.get(account.plan).cycle
    conn = db.conn
    with write_lock(settings.storage_path):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Purged cycles have no bodies to replay: their derived rows stay as they are.
            keep = purged_before(db, account_id)
            conn.execute(
                "DELETE FROM entity_first_seen WHERE account = ? AND cycle_start_ms >= ?",
                (account_id, keep),
            )
            conn.execute(
                "DELETE FROM activity_hourly WHERE account = ? AND hour_ms >= ?", (account_id, keep)
            )
            if not keep:
                conn.execute("DELETE FROM usage_sessions WHERE account = ?", (account_id,))
            replayed, last_id = 0, 0
            while True:
                rows = conn.execute(
                    "SELECT id, body, idempotency_key, received_at_ms FROM events "
                    "WHERE account = ? AND id > ? AND ts_ms >= ? ORDER BY id LIMIT ?",
                    (account_id, last_id, keep, batch),
                ).fetchall()
                if not rows:
                    break
                parsed, received = [], {}
                for event_id, body, key, ts in rows:
                    last_id = event_id
                    try:
                        found = adapter.parse(
                            bytes(body), account, {"webhook-id": key, REPLAY: "1"}, ts
                        )
                    except BadPayload:
                        continue  # stored under older rules; kept raw, not counted
                    parsed += found
                    received.update({id(p): int(ts) for p in found})
                upsert_entities(db, account, kind, parsed, partial(_received, received))
                replayed += len(rows)
            entities = conn.execute(
                "SELECT count(*) FROM entity_first_seen WHERE account = ?", (account_id,)
            ).fetchone()[0]
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return replayed, int(entities)
