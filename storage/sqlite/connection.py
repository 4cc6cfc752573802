"""SQLite connections: WAL and a busy timeout, the file's identity, the cross-process write lock."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from pathlib import Path

from meterwise.storage.sqlite.migrate import require_current, upgrade

# The schema lives in versioned migrations: storage/migrations/sqlite/ (see migrate.py).
_migrated: set[tuple[int, str]] = set()

MAGIC = b"SQLite format 3\x00"


class FileIdentity:
    """The database file a connection opened, to notice it being removed or replaced.

    A connection keeps writing into a file that was unlinked (`rm var/meterwise.db*`) or
    renamed over, and those writes are lost with it; a zeroed header means corruption.
    Three system calls per check: stat the path, compare inodes, read the 16-byte header.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        st = os.fstat(self.fd)
        self.key = (st.st_dev, st.st_ino)

    def problem(self) -> str | None:
        """Why writes to this connection would not be kept, or None."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return "the database file was removed; restart meterwise"
        except OSError as exc:
            return f"the database file cannot be read: {exc.strerror}"
        if (st.st_dev, st.st_ino) != self.key:
            return "the database file was replaced; restart meterwise"
        header = os.pread(self.fd, len(MAGIC), 0)
        if header and header != MAGIC:
            return "the database file is corrupt (bad header); restore a backup"
        return None


def open_connection(
    path: str | os.PathLike[str], synchronous: str = "normal", migrate: bool = True
) -> sqlite3.Connection:
    """Open a connection with WAL and a busy timeout, the schema brought up to date first
    (``migrate``: once per process; False: refuse a database that needs upgrading)."""
    key = (os.getpid(), str(Path(path).resolve()))
    if key not in _migrated:
        if migrate or not Path(path).exists():  # a new, empty database is simply created
            upgrade(path)
        else:
            require_current(path)
        _migrated.add(key)
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a writer takes the lock
    # up front instead of failing to upgrade a read lock under contention.
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class WriteLock:
    """Serialize writers across processes with a blocking flock beside the database.

    SQLite's busy handler polls with sleeps of 1 ms and more when another process holds the
    write lock; a blocking flock wakes the next writer as soon as the lock is released, which
    keeps latency flat with several gunicorn workers. A thread lock covers threads of one
    process (flock is per open file, shared by its threads).
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.path = f"{db_path}.lock"
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> WriteLock:
        self._thread_lock.acquire()
        try:
            if self._fd is None or self._pid != os.getpid():
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


_locks: dict[str, WriteLock] = {}


def write_lock(db_path: str | os.PathLike[str]) -> WriteLock:
    """The process's write lock for ``db_path``."""
    key = str(db_path)
    if key not in _locks:
        _locks[key] = WriteLock(key)
    return _locks[key]
