"""One writer per process: request threads hand their parsed deliveries to a single thread
that commits them in groups, and each request is answered only after the COMMIT that holds
its delivery (group commit: one transaction, one lock hold and one file check per group).

A group is inserted in a handful of statements (`insert_group`): the writer must win the GIL
back from the request threads after each one, while it holds the write lock. A delivery
whose values the database refuses fails alone (the group is then stored one by one, a
savepoint each); a failure of the transaction itself (disk full, file gone, lock timeout)
fails every delivery of the group with `StorageUnavailable`, so none is acknowledged. The
WAL is checkpointed by a thread of its own (PASSIVE, never blocking writers), not by
whichever delivery commits.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from meterwise.storage.errors import StorageUnavailable, UnstorableValue
from meterwise.storage.records import Parsed
from meterwise.storage.sqlite import SqliteStorage, thread_storage
from meterwise.storage.sqlite.ingest import UNSTORABLE, insert_delivery, insert_group

log = logging.getLogger("meterwise.storage")
MAX_GROUP = 64
ANSWER_WITHIN_S = 30.0
CHECKPOINT_EVERY_S = 1.0
WAL_BOUND_BYTES = 64 << 20  # past this, the writer checkpoints itself (the thread lags)


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)
class _Job:
    account: str
    provider: str
    events: Sequence[Parsed]
    received_at_ms: int
    # held until the writer is done with this job: a bare lock, released once, wakes the
    # waiting request thread with one futex call (an Event's Condition costs three)
    done: threading.Lock = field(default_factory=_held_lock)
    result: list[int] | None = None
    error: Exception | None = None


class GroupWriter:
    """The process's writer for one database (start it after fork; see `writer_for`)."""

    def __init__(self, path: str, synchronous: str = "normal") -> None:
        self.path, self.synchronous = path, synchronous
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.groups = 0  # committed groups, for the tests and the benchmarks
        threading.Thread(target=self._run, name="meterwise-writer", daemon=True).start()
        threading.Thread(target=self._checkpoint, name="meterwise-checkpoint", daemon=True).start()

    def store(
        self, account: str, provider: str, events: Sequence[Parsed], received_at_ms: int
    ) -> list[int]:
        """Like `SqliteStorage.store_delivery`: the new event ids, after their COMMIT."""
        job = _Job(account, provider, events, received_at_ms)
        self.jobs.put(job)
        if not job.done.acquire(timeout=ANSWER_WITHIN_S):
            raise StorageUnavailable(f"the writer did not commit within {ANSWER_WITHIN_S:.0f} s")
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def _run(self) -> None:
        while True:
            group = [self.jobs.get()]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self.jobs.get_nowait())
                except queue.Empty:
                    break
            try:
                store = thread_storage(self.path, self.synchronous, autocheckpoint=False)
                self._commit(store, group)
            except Exception as exc:  # never let the writer die: fail the group, go on
                for job in group:
                    if job.error is None:
                        job.error = StorageUnavailable(str(exc) or type(exc).__name__)
                        job.result = None
            finally:
                for job in group:
                    job.done.release()

    def _commit(self, store: SqliteStorage, group: list[_Job]) -> None:
        try:
            with store._write() as conn:
                try:  # the whole group in a few statements (a failed one changes nothing)
                    many = [(j.account, j.provider, j.events, j.received_at_ms) for j in group]
                    for job, ids in zip(group, insert_group(conn, many), strict=True):
                        job.result = ids
                except UNSTORABLE:  # one of them cannot be held: find it, store the others
                    conn.execute("ROLLBACK")
                    conn.execute("BEGIN IMMEDIATE")
                    self._one_by_one(conn, group)
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StorageUnavailable(str(exc)) from None
        store.check_file()  # committed where it is kept, once per group
        self.groups += 1
        try:
            if os.stat(f"{self.path}-wal").st_size > WAL_BOUND_BYTES:
                store.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except (OSError, sqlite3.Error):
            pass  # the checkpoint thread tries again

    @staticmethod
    def _one_by_one(conn: sqlite3.Connection, group: list[_Job]) -> None:
        """Each delivery under its own savepoint: an unstorable one fails alone."""
        for job in group:
            conn.execute("SAVEPOINT delivery")
            try:
                job.result = insert_delivery(
                    conn, job.account, job.provider, job.events, job.received_at_ms
                )
            except UNSTORABLE as exc:
                conn.execute("ROLLBACK TO delivery")
                job.result, job.error = None, UnstorableValue(str(exc))
            conn.execute("RELEASE delivery")

    def _checkpoint(self) -> None:
        conn: sqlite3.Connection | None = None
        while True:
            time.sleep(CHECKPOINT_EVERY_S)
            try:
                if conn is None:
                    # mode=rw: never create a file where the database was removed
                    conn = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, timeout=1)
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error as exc:
                log.warning("checkpoint skipped: %s", exc)
                conn = None


_writers: dict[tuple[int, str], GroupWriter] = {}
_lock = threading.Lock()


def writer_for(path: str, synchronous: str = "normal") -> GroupWriter:
    """This process's writer for ``path``, started on first use (after fork, never at
    import: a thread does not survive fork)."""
    key = (os.getpid(), path)
    with _lock:
        if key not in _writers:
            _writers[key] = GroupWriter(path, synchronous)
        return _writers[key]
