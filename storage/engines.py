"""PostgreSQL behind the storage layer's entry points, imported only when configured (a
SQLite installation never loads psycopg): per-thread engine objects on the process's pool,
the schema checked once per process."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from meterwise.storage.errors import StorageUnavailable
from meterwise.storage.sqlite.migrate import Status

if TYPE_CHECKING:
    from meterwise.storage.postgres import PgStorage

_local = threading.local()
_checked: set[tuple[int, str]] = set()
_guard = threading.Lock()


def upgrade(url: str) -> list[str]:
    """Apply PostgreSQL's pending migrations; their ids."""
    from meterwise.storage.postgres import migrate

    return migrate.upgrade(url)


def status(url: str) -> Status:
    """PostgreSQL's applied, pending and unknown migrations."""
    from meterwise.storage.postgres import migrate

    return migrate.status(url)


def open_pg(url: str, run_migrations: bool = True) -> PgStorage:
    """An engine object for ``url``, the schema brought up to date (or refused when
    ``run_migrations`` is False and it needs upgrading)."""
    from meterwise.storage.postgres import PgStorage, migrate

    key = (os.getpid(), url)
    with _guard:
        if key not in _checked:
            if run_migrations:
                migrate.upgrade(url)
            else:
                migrate.require_current(url)
            _checked.add(key)
    return PgStorage(url)


def thread_pg(url: str) -> PgStorage:
    """This process's and thread's engine object for ``url`` (its `known_at` pins a
    connection, so threads never share one)."""
    key = (os.getpid(), url)
    cache = getattr(_local, "stores", None)
    if cache is None:
        cache = _local.stores = {}
    if key not in cache:
        try:
            cache[key] = open_pg(url)
        except StorageUnavailable:
            raise
        except Exception as exc:  # the driver's, while the server is away
            raise StorageUnavailable(f"the database cannot be opened: {exc}") from None
    store: PgStorage = cache[key]
    return store


def integrity_problems(url: str) -> list[str]:
    """PostgreSQL checks its own pages; here: whether a write commits."""
    problem = open_pg(url, run_migrations=False).health(0)
    return [problem] if problem else []
