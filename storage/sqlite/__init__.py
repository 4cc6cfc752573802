"""The SQLite engine: one class holding every operation, one connection per thread."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from pathlib import Path

import sqlite_utils

from meterwise.storage.errors import SchemaMismatch, StorageUnavailable
from meterwise.storage.sqlite.admin import AdminOps
from meterwise.storage.sqlite.checks import CheckReads
from meterwise.storage.sqlite.connection import FileIdentity, open_connection, write_lock
from meterwise.storage.sqlite.dashboard import DashboardOps
from meterwise.storage.sqlite.extras import ExtraReads
from meterwise.storage.sqlite.fold import FoldOps
from meterwise.storage.sqlite.ingest import IngestOps
from meterwise.storage.sqlite.knowledge import KnowledgeOps
from meterwise.storage.sqlite.outbox import OutboxOps
from meterwise.storage.sqlite.reads import CycleReads

WRITER_CACHE_KIB = 64 * 1024
WRITER_MMAP_BYTES = 1 << 30
WAL_KEEP_BYTES = 16 << 20


class SqliteStorage(
    IngestOps,
    FoldOps,
    CycleReads,
    ExtraReads,
    KnowledgeOps,
    CheckReads,
    OutboxOps,
    AdminOps,
    DashboardOps,
):
    """Every storage operation on one SQLite connection (WAL, busy timeout, BEGIN IMMEDIATE).

    ``migrate``: bring the schema up to date first (once per process); False refuses a
    database that needs upgrading (`SchemaMismatch`).
    """

    engine = "sqlite"

    def __init__(
        self,
        path: str | os.PathLike[str],
        synchronous: str = "normal",
        migrate: bool = True,
        identity: FileIdentity | None = None,
        autocheckpoint: bool = True,
    ) -> None:
        self.path = Path(path)
        self.conn = open_connection(path, synchronous, migrate)
        if not autocheckpoint:  # the writer: its checkpoints run on a thread of their own
            self.conn.execute("PRAGMA wal_autocheckpoint = 0")
            # A reset WAL is cut back to this size: its file size then says how far the
            # checkpoints lag (without a limit the file keeps its largest size for good).
            self.conn.execute(f"PRAGMA journal_size_limit = {WAL_KEEP_BYTES}")
            # Inserts touch random pages of the key index: keep its upper levels in memory
            # (the default 2 MB cache misses on every delivery once millions are stored).
            self.conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
            self.conn.execute(f"PRAGMA mmap_size = {WRITER_MMAP_BYTES}")  # reads: no copies
        self.db = sqlite_utils.Database(self.conn)
        self.lock = write_lock(path)
        self.identity = identity

    def close(self) -> None:
        self.conn.close()

    def check_file(self) -> None:
        """Raise `StorageUnavailable` when the file this process opened was removed,
        replaced or corrupted since (writes would be lost with it)."""
        problem = self.identity.problem() if self.identity is not None else None
        if problem:
            raise StorageUnavailable(problem)

    def health(self, min_free_mb: int) -> str | None:
        """Why a delivery could not be kept now, or None: the file is the one opened, a
        write commits, and the filesystem has ``min_free_mb`` free."""
        try:
            self.check_file()
            self.probe_write()
        except StorageUnavailable as exc:
            return str(exc)
        except (sqlite3.Error, OSError) as exc:
            return f"a write cannot be committed: {exc}"
        free_mb = shutil.disk_usage(self.path.parent).free // (1 << 20)
        if free_mb < min_free_mb:
            return f"only {free_mb} MB free beside the database (min_free_mb = {min_free_mb})"
        return None


_local = threading.local()
_identities: dict[tuple[int, str], FileIdentity] = {}
_identity_lock = threading.Lock()


def thread_storage(
    path: str | os.PathLike[str], synchronous: str = "normal", autocheckpoint: bool = True
) -> SqliteStorage:
    """This process's and thread's storage for ``path``, opened (and migrated) on first use.

    Keyed by pid so that a connection inherited across fork() is never reused; a file that
    was removed, replaced or corrupted since this process first opened it is refused
    (`StorageUnavailable`), never recreated in its place.
    """
    key = (os.getpid(), str(path))
    cache = getattr(_local, "stores", None)
    if cache is None:
        cache = _local.stores = {}
    if key not in cache:
        with _identity_lock:
            known = _identities.get(key)
            if known is not None and (problem := known.problem()):
                raise StorageUnavailable(problem)
            try:
                store = SqliteStorage(path, synchronous, autocheckpoint=autocheckpoint)
                if known is None:
                    known = _identities[key] = FileIdentity(path)
                store.identity = known
                cache[key] = store
            except (sqlite3.Error, OSError, SchemaMismatch) as exc:
                raise StorageUnavailable(f"the database cannot be opened: {exc}") from None
    return cache[key]  # type: ignore[no-any-return]
