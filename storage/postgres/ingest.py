"""Deliveries into PostgreSQL: each in one transaction, duplicates stored once, inserts only.

The same semantics as SQLite's `ingest.py` in this engine's SQL: the unique index on
(account, idempotency_key) makes a second host posting the same key at the same moment wait
for the first's COMMIT and then store nothing (`duplicate`); if the first rolls back, the
second stores it. Nothing is acknowledged before COMMIT.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from meterwise.storage.errors import StorageUnavailable, UnstorableValue
from meterwise.storage.records import Parsed
from meterwise.storage.sqlite.ingest import NORMALIZED_TABLES

_INSERT_EVENT = (
    "INSERT INTO events (account, provider, idempotency_key, event_type, session_id, ts_ms, "
    "fqn, app_id, received_at_ms, body) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (account, idempotency_key) DO NOTHING RETURNING id"
)
_INSERT_SIGHTING = (
    "INSERT INTO sightings (event_id, account, metric, entity, ts_ms, session_id, user_id, "
    "email) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
# What the input can do wrong at INSERT time (the parsers should have refused it): a 422.
UNSTORABLE = (psycopg.errors.DataError, psycopg.errors.IntegrityError, UnicodeEncodeError)
UNAVAILABLE = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout, OSError)


def _cell(value: object) -> object:
    """A normalized row's value as this schema holds it (flags are 0/1 integers)."""
    return int(value) if isinstance(value, bool) else value


def insert_delivery(
    conn: psycopg.Connection,
    account: str,
    provider: str,
    events: Sequence[Parsed],
    received_at_ms: int,
) -> list[int]:
    """Insert one delivery inside the caller's transaction; the ids of its new events."""
    new_ids: list[int] = []
    with conn.cursor() as cur:
        for ev in events:
            cur.execute(
                _INSERT_EVENT,
                (
                    account,
                    provider,
                    ev.idempotency_key,
                    ev.event_type,
                    ev.session_id,
                    ev.ts_ms,
                    ev.fqn,
                    ev.app_id,
                    received_at_ms,
                    ev.body,
                ),
            )
            row = cur.fetchone()
            if row is None:
                continue  # already stored: a duplicate delivery changes nothing
            event_id = int(row[0])
            new_ids.append(event_id)
            for table, rows in ev.rows.items():
                if table not in NORMALIZED_TABLES:
                    raise ValueError(f"not a normalized table: {table}")
                if rows:
                    columns = ["event_id", "account", *rows[0]]
                    marks = ", ".join("%s" for _ in columns)
                    cur.executemany(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                        [(event_id, account, *map(_cell, r.values())) for r in rows],
                    )
            if ev.entities:
                cur.executemany(
                    _INSERT_SIGHTING,
                    [
                        (
                            event_id,
                            account,
                            e.metric,
                            e.entity,
                            e.ts_ms,
                            e.session_id,
                            e.user_id,
                            e.email,
                        )
                        for e in ev.entities
                    ],
                )
        if new_ids:
            cur.executemany(
                "INSERT INTO fold_pending (account, event_id) VALUES (%s, %s)",
                [(account, i) for i in new_ids],
            )
    return new_ids


class PgIngestOps:
    """Deliveries in, duplicates counted (the pool is the engine class's)."""

    pool: ConnectionPool

    def store_delivery(
        self, account: str, provider: str, events: Sequence[Parsed], received_at_ms: int
    ) -> list[int]:
        """Store a delivery atomically; the ids of its new events ([] when all are
        duplicates). Returns only after COMMIT; raises `StorageUnavailable` (retry later:
        the server is down, restarting or unreachable) or `UnstorableValue`."""
        try:
            with self.pool.connection() as conn, conn.transaction():
                return insert_delivery(conn, account, provider, events, received_at_ms)
        except UNSTORABLE as exc:
            raise UnstorableValue(str(exc)) from None
        except (*UNAVAILABLE, psycopg.Error) as exc:
            raise StorageUnavailable(str(exc)) from None

    def is_stored(self, account: str, idempotency_key: str) -> bool:
        """True when this account already stored an event with this key."""
        try:
            with self.pool.connection() as conn:
                row = conn.execute(
                    "SELECT 1 FROM events WHERE account = %s AND idempotency_key = %s",
                    (account, idempotency_key),
                ).fetchone()
        except (*UNAVAILABLE, psycopg.Error) as exc:
            raise StorageUnavailable(str(exc)) from None
        return row is not None

    def count_delivery(self, account: str, reason: str, now_ms: int) -> None:
        """Log a rejected or duplicate delivery (a diagnostic: a failure never changes the
        answer)."""
        try:
            with self.pool.connection() as conn:
                conn.execute(
                    "INSERT INTO delivery_log (account, reason, at_ms) VALUES (%s, %s, %s)",
                    (account, reason, now_ms),
                )
        except (*UNAVAILABLE, psycopg.Error):
            pass
