"""What every group of PostgreSQL operations shares: the pool, reads, one transaction, and
the mapping of driver errors to the storage layer's (`StorageUnavailable`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from meterwise.storage.errors import StorageTimeout, StorageUnavailable

UNAVAILABLE = (psycopg.Error, PoolTimeout, OSError)


class PgBase:
    """Operations on this process's pool; each call is its own transaction unless inside
    `_transaction`."""

    pool: ConnectionPool
    known_ms: int | None = None  # inside `known_at`: reads see what was received by then
    _pinned: psycopg.Connection[Any] | None = None  # the connection holding known_at's views

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction: COMMIT at the end, ROLLBACK on any exception (re-raised as
        `StorageUnavailable` when the server is the cause). Inside `known_at`, on the
        connection that holds its views."""
        if self._pinned is not None:
            try:
                with self._pinned.transaction():
                    yield self._pinned
            except psycopg.errors.QueryCanceled as exc:
                raise StorageTimeout(str(exc)) from None
            except UNAVAILABLE as exc:
                raise StorageUnavailable(str(exc)) from None
            return
        try:
            with self.pool.connection() as conn, conn.transaction():
                yield conn
        except psycopg.errors.QueryCanceled as exc:
            raise StorageTimeout(str(exc)) from None
        except UNAVAILABLE as exc:
            raise StorageUnavailable(str(exc)) from None

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._transaction() as conn:
            return list(conn.execute(sql, tuple(params)).fetchall())

    def _one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with self._transaction() as conn:
            row = conn.execute(sql, tuple(params)).fetchone()
        return None if row is None else tuple(row)

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement in its own transaction; the rows it touched."""
        with self._transaction() as conn:
            return conn.execute(sql, tuple(params)).rowcount
