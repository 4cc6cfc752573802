"""PostgreSQL migrations: the same yoyo-migrations runner as SQLite, with this engine's own
plain-SQL files (`storage/migrations/postgres/`).

Several hosts may start together: each takes a session-level advisory lock first, so one
applies and the others wait and then find nothing pending. The advisory lock dies with its
connection, so a host killed mid-upgrade never blocks the others; a yoyo lock row it left
behind is broken by whoever holds the advisory lock next (nobody else can be migrating).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg

from meterwise.storage.errors import SchemaMismatch, StorageUnavailable
from meterwise.storage.sqlite.migrate import Status, newer_message

ADVISORY_KEY = 0x6D77_6D69  # "mwmi": Meterwise migrations


def _folder() -> str:
    return str(resources.files("meterwise.storage").joinpath("migrations", "postgres"))


def _up_to_date(url: str) -> bool:
    """True when every migration file is applied and nothing else is (one query, without
    loading yoyo: what a command run on a current database pays); False when yoyo must
    look (pending, unknown, no yoyo table yet, or the query failed)."""
    files = {
        p.name.removesuffix(".sql")
        for p in Path(_folder()).iterdir()
        if p.name.endswith(".sql") and not p.name.endswith(".rollback.sql")
    }
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            rows = conn.execute("SELECT migration_id FROM _yoyo_migration").fetchall()
    except psycopg.Error:
        return False
    return {str(r[0]) for r in rows} == files


def _yoyo_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else url


@contextmanager
def _migrating(url: str, timeout_s: float = 120) -> Iterator[Any]:
    """The advisory lock held, yoyo's backend ready (its own tables created)."""
    from yoyo import get_backend  # loaded only when something may need applying

    try:
        lock = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise StorageUnavailable(f"cannot connect to PostgreSQL: {exc}") from None
    backend = None
    try:
        lock.execute(f"SET lock_timeout = '{int(timeout_s * 1000)}ms'")
        lock.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_KEY,))
        backend = get_backend(_yoyo_url(url))
        backend.break_lock()  # a row left by a host that died mid-upgrade: nobody else holds it
        backend.ensure_internal_schema_updated()
        yield backend
    finally:
        if backend is not None:
            backend.connection.close()
        lock.close()  # the advisory lock goes with the session


def _applied(backend: Any) -> list[str]:
    rows = backend.execute(
        "SELECT migration_id FROM _yoyo_migration ORDER BY applied_at_utc"
    ).fetchall()
    return [r[0] for r in rows]


def status(url: str) -> Status:
    """What is applied and what is pending (nothing is changed but yoyo's own tables)."""
    from yoyo import read_migrations

    migrations = read_migrations(_folder())
    with _migrating(url) as backend:
        applied = tuple(_applied(backend))
    known = {m.id for m in migrations}
    pending = tuple(m.id for m in migrations if m.id not in applied)
    return Status(applied, pending, tuple(a for a in applied if a not in known))


def upgrade(url: str) -> list[str]:
    """Apply every pending migration, once across hosts; return their ids."""
    if _up_to_date(url):
        return []
    from yoyo import read_migrations

    migrations = read_migrations(_folder())
    with _migrating(url) as backend:
        unknown = sorted(set(_applied(backend)) - {m.id for m in migrations})
        if unknown:
            raise SchemaMismatch(newer_message(unknown, [m.id for m in migrations]))
        todo = backend.to_apply(migrations)
        with backend.lock():
            backend.apply_migrations(todo)
    return [m.id for m in todo]


def require_current(url: str) -> None:
    """Refuse (`SchemaMismatch`) a database that needs upgrading or is newer than the code."""
    if _up_to_date(url):
        return
    found = status(url)
    if found.unknown:
        raise SchemaMismatch(newer_message(list(found.unknown), list(found.applied)))
    if found.pending:
        raise SchemaMismatch(
            f"the database needs upgrading ({', '.join(found.pending)} pending): "
            "run `meterwise db upgrade` (or start `meterwise serve`, which upgrades it)"
        )
