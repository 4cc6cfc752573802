"""The storage layer: every SQL statement, the connections and the schema live here.

Callers use named operations (`store_delivery`, `first_seen_groups`, `due_messages`, ...)
on a `Storage` (`storage/protocol.py`, a Protocol); nothing outside this package imports an
engine's driver or writes SQL. SQLite (`storage.sqlite`, through sqlite-utils) is the
embedded engine; a second engine is a second class with the same operations and its own
SQL, chosen from `[storage]`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from meterwise.config.settings import Settings
from meterwise.storage import engines as _pg
from meterwise.storage.errors import (
    SchemaMismatch,
    StorageTimeout,
    StorageUnavailable,
    UnstorableValue,
)
from meterwise.storage.protocol import Storage
from meterwise.storage.records import Entity, Parsed
from meterwise.storage.sqlite import SqliteStorage, thread_storage
from meterwise.storage.sqlite import files as _files
from meterwise.storage.sqlite import migrate as _migrate
from meterwise.storage.sqlite.ingest import NORMALIZED_TABLES
from meterwise.storage.sqlite.writer import writer_for

if TYPE_CHECKING:  # mypy proves here that each engine implements every operation of `Storage`
    from meterwise.storage.postgres import PgStorage

    _ENGINES: tuple[type[Storage], ...] = (SqliteStorage, PgStorage)

__all__ = [
    "NORMALIZED_TABLES",
    "Entity",
    "Parsed",
    "SchemaMismatch",
    "Storage",
    "StorageTimeout",
    "StorageUnavailable",
    "UnstorableValue",
    "backup",
    "connect",
    "integrity_problems",
    "migration_status",
    "open_storage",
    "storage_for",
    "store_delivery",
    "upgrade",
]


def connect(
    path: str | os.PathLike[str], synchronous: str = "normal", migrate: bool = True
) -> SqliteStorage:
    """A new connection to the SQLite database at ``path`` (the caller closes it; tests and
    benches reach its connection, the product's code only `Storage`'s operations)."""
    return SqliteStorage(path, synchronous, migrate)


def open_storage(settings: Settings, migrate: bool = True) -> Storage:
    """A new connection to the configured database (the caller closes it)."""
    if settings.storage_url:
        return _pg.open_pg(settings.storage_url, migrate)
    return connect(settings.storage_path, settings.synchronous, migrate)


def store_delivery(
    settings: Settings, account: str, provider: str, events: Sequence[Parsed], received_ms: int
) -> list[int]:
    """Store a delivery; the new event ids, returned only after the COMMIT that holds them
    (SQLite: through this process's writer, in groups; PostgreSQL: one transaction each,
    on this process's pool)."""
    if settings.storage_url:
        return storage_for(settings).store_delivery(account, provider, events, received_ms)
    return writer_for(str(settings.storage_path), settings.synchronous).store(
        account, provider, events, received_ms
    )


def storage_for(settings: Settings) -> Storage:
    """This process's and thread's connection to the configured database (kept open)."""
    if settings.storage_url:
        return _pg.thread_pg(settings.storage_url)
    return thread_storage(settings.storage_path, settings.synchronous)


def upgrade(settings: Settings) -> list[str]:
    """Apply every pending migration (under the engine's lock); return their ids."""
    if settings.storage_url:
        return _pg.upgrade(settings.storage_url)
    return _migrate.upgrade(settings.storage_path)


def migration_status(settings: Settings) -> _migrate.Status:
    """Applied, pending and unknown migrations of the configured database."""
    if settings.storage_url:
        return _pg.status(settings.storage_url)
    return _migrate.status(settings.storage_path)


def integrity_problems(settings: Settings) -> list[str]:
    """The engine's integrity check ([] when sound)."""
    if settings.storage_url:
        return _pg.integrity_problems(settings.storage_url)
    return _files.integrity_problems(settings.storage_path)


def backup(settings: Settings, target: str | os.PathLike[str]) -> str:
    """A consistent copy of the live database at ``target``; the copy's integrity verdict."""
    if settings.storage_url:
        raise SchemaMismatch(
            "meterwise db backup copies a SQLite file; back up PostgreSQL with pg_dump "
            "(or your provider's snapshots)"
        )
    return _files.backup(settings.storage_path, target)
