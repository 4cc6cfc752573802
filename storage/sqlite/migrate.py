"""Versioned, forward-only schema migrations (yoyo-migrations, plain SQL per engine).

Migrations live in ``storage/migrations/<engine>/NNNN_name.sql``, are applied in order under
yoyo's lock table (several processes starting at once apply each one once), each in its own
transaction (a failed one rolls back and leaves the previous schema working), and are recorded
in the database (``_yoyo_migration``). A database written by release 0.1 (``user_version`` 6,
no migration table) is recognised and marked as having the baseline.

Who migrates: ``meterwise serve``, ``meterwise scheduler`` and ``meterwise db upgrade``; other
commands refuse a database that needs upgrading, and everything refuses one that is newer than
the code.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from yoyo import get_backend, read_migrations
from yoyo.exceptions import LockTimeout

from meterwise.storage.errors import SchemaMismatch

BASELINE = "0001_baseline"


@dataclass(frozen=True, slots=True)
class Status:
    """Applied and pending migrations, and any unknown to this release."""

    applied: tuple[str, ...]
    pending: tuple[str, ...]
    unknown: tuple[str, ...]


def _folder(engine: str = "sqlite") -> str:
    return str(resources.files("meterwise.storage").joinpath("migrations", engine))


@contextmanager
def _locked(backend: Any, timeout: float = 30) -> Iterator[None]:
    """yoyo's migration lock; a lock left by a process that died (SIGKILL mid-upgrade) is
    broken instead of blocking every later start (SQLite: one host, so a pid tells)."""
    try:
        with backend.lock(timeout=timeout):
            yield
        return
    except LockTimeout:
        rows = backend.execute(f"SELECT pid FROM {backend.lock_table_quoted}").fetchall()
        if not rows or any(_alive(int(r[0])) for r in rows):
            raise
    backend.break_lock()
    with backend.lock(timeout=timeout):
        yield


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _backend(path: str | os.PathLike[str]) -> Any:
    backend = get_backend(f"sqlite:///{Path(path).resolve()}")
    with _locked(backend, timeout=0.5 if _stale_lock(backend) else 30):
        backend.ensure_internal_schema_updated()  # yoyo's own tables, on first use
    return backend


def _stale_lock(backend: Any) -> bool:
    """True when a lock row exists and its holder is gone (worth a short wait only)."""
    try:
        rows = backend.execute(f"SELECT pid FROM {backend.lock_table_quoted}").fetchall()
    except Exception:  # the lock table does not exist yet
        return False
    return bool(rows) and not any(_alive(int(r[0])) for r in rows)


def _adopt_release_0_1(path: str | os.PathLike[str], backend: Any, migrations: Any) -> None:
    """Mark the baseline applied on a database that release 0.1 created without yoyo."""
    conn = sqlite3.connect(str(path))
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        recorded = (
            conn.execute("SELECT count(*) FROM _yoyo_migration").fetchone()[0]
            if "_yoyo_migration" in tables
            else 0
        )
    finally:
        conn.close()
    if version >= 6 and "events" in tables and not recorded:
        baseline = migrations.filter(lambda m: m.id == BASELINE)
        with _locked(backend):
            backend.mark_migrations(backend.to_apply(baseline))


def create_private(path: str | os.PathLike[str]) -> None:
    """Create the database file owner-only (0600) before SQLite does (it would use 0644)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o600))


def status(path: str | os.PathLike[str]) -> Status:
    """What is applied and what is pending (nothing is changed)."""
    create_private(path)
    backend = _backend(path)
    migrations = read_migrations(_folder())
    _adopt_release_0_1(path, backend, migrations)
    known = {m.id for m in migrations}
    with _locked(backend):
        rows = backend.execute(
            "SELECT migration_id FROM _yoyo_migration ORDER BY applied_at_utc"
        ).fetchall()
    applied = tuple(r[0] for r in rows)
    pending = tuple(m.id for m in migrations if m.id not in applied)
    unknown = tuple(a for a in applied if a not in known)
    return Status(applied, pending, unknown)


def upgrade(path: str | os.PathLike[str]) -> list[str]:
    """Apply every pending migration under the lock; return their ids."""
    create_private(path)
    backend = _backend(path)
    migrations = read_migrations(_folder())
    _adopt_release_0_1(path, backend, migrations)
    with _locked(backend):
        applied_ids = {
            r[0] for r in backend.execute("SELECT migration_id FROM _yoyo_migration").fetchall()
        }
        unknown = sorted(applied_ids - {m.id for m in migrations})
        if unknown:
            raise SchemaMismatch(newer_message(unknown, [m.id for m in migrations]))
        todo = backend.to_apply(migrations)
        backend.apply_migrations(todo)
    return [m.id for m in todo]


def newer_message(unknown: list[str], known: list[str]) -> str:
    """Why this release cannot open a database a newer release migrated."""
    return (
        f"the database has migration(s) {', '.join(unknown)} that this release does not know "
        f"(it knows up to {known[-1] if known else 'none'}): it was upgraded by a newer "
        "Meterwise; run that release, or restore a backup"
    )


def require_current(path: str | os.PathLike[str]) -> None:
    """Refuse (`SchemaMismatch`) a database that needs upgrading or is newer than the code."""
    if not Path(path).exists():
        return  # created (and migrated) by whoever writes first
    found = status(path)
    if found.unknown:
        raise SchemaMismatch(newer_message(list(found.unknown), list(found.applied)))
    if found.pending:
        raise SchemaMismatch(
            f"the database needs upgrading ({', '.join(found.pending)} pending): "
            "run `meterwise db upgrade` (or start `meterwise serve`, which upgrades it)"
        )
