"""What every group of SQLite operations shares: the connection, reads, one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from meterwise.storage.sqlite.connection import WriteLock


class SqliteBase:
    """The connection of one thread, its database file and the file's write lock."""

    path: Path
    conn: sqlite3.Connection
    lock: WriteLock
    known_ms: int | None = None  # inside `known_at`: reads see what was received by then

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(sql, tuple(params)).fetchall())

    def _one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self.conn.execute(sql, tuple(params)).fetchone()
        return None if row is None else tuple(row)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; ROLLBACK on any exception (the caller sees it)."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A transaction under the process-wide write lock (deliveries, folds, purges):
        writers across processes queue on the lock instead of polling SQLite's."""
        with self.lock, self._transaction() as conn:
            yield conn
