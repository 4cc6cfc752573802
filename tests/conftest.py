"""Fixtures: settings from a literal dict, a real SQLite file, the real app over HTTP."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from meterwise.config.settings import Settings, parse_settings
from meterwise.receiver import create_app
from meterwise.receiver.testing import APP_ID, signed
from meterwise.reconciler.fold import fold_pending
from meterwise.storage import open_storage
from tests.smtp import SmtpServer

logging.getLogger("werkzeug").setLevel(logging.WARNING)

SECRET = "whsec_test0000000000000000000000000001"
SECOND_SECRET = "whsec_test0000000000000000000000000002"


def base_config(db_path: Path | dict[str, str], **account: Any) -> dict[str, Any]:
    """A config document with one JaaS account ``acme`` (fields overridable).

    ``db_path`` is a SQLite file, or the `[storage]` table of another engine (the
    `store_at` fixture gives whichever the test's engine needs)."""
    acct = {
        "id": "acme",
        "provider": "jaas",
        "plan": "jaas-basic",
        "app_id": APP_ID,
        "cycle_anchor": "2026-03-08",
        "timezone": "UTC",
        "webhook_secrets": [SECRET, "env:ACME_WHSEC_2"],
        "signature_tolerance_s": 300,
    }
    acct.update(account)
    return {
        "storage": dict(db_path) if isinstance(db_path, dict) else {"path": str(db_path)},
        "receiver": {"max_body_bytes": 65536, "max_auth_failures": 100000},
        "accounts": [acct],
    }


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "meterwise.db"


@pytest.fixture
def store_at(db_path: Path, engine: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Where this test's storage lives: the SQLite file, or (engine "postgresql") the
    `[storage]` table of a fresh database on the test run's PostgreSQL server."""
    if engine != "postgresql":
        yield db_path
        return
    server = request.getfixturevalue("pg_server")
    yield {"url": server.create_database(f"t_{uuid.uuid4().hex[:16]}")}
    from meterwise.storage.postgres.connection import close_pools

    close_pools()  # this test's database is never used again


def storage_line(store_at: Path | dict[str, str]) -> str:
    """The `[storage]` key for a config file that reaches ``store_at``."""
    if isinstance(store_at, dict):
        return f'url = "{store_at["url"]}"'
    return f'path = "{store_at}"'


def config_like(settings: Settings, **account: Any) -> dict[str, Any]:
    """`base_config` on the same storage as ``settings`` (its SQLite file or its database)."""
    doc = base_config(settings.storage_path, **account)
    if settings.storage_url:
        doc["storage"] = {"url": settings.storage_url}
    return doc


def storage_toml(settings: Settings) -> str:
    """The `[storage]` key that reaches the same storage as ``settings`` (for config files)."""
    return storage_line(
        {"url": settings.storage_url} if settings.storage_url else settings.storage_path
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test module that sets ``ENGINES = ("sqlite", "postgresql")`` runs every test that
    uses the `engine` fixture (through `settings` and `live`) on both engines."""
    if "engine" in metafunc.fixturenames:
        engines = getattr(metafunc.module, "ENGINES", ("sqlite",))
        if metafunc.definition.get_closest_marker("sqlite_only"):
            engines = ("sqlite",)
        metafunc.parametrize("engine", engines, indirect=False)


@pytest.fixture
def settings(store_at: Path | dict[str, str]) -> Settings:
    return parse_settings(base_config(store_at), {"ACME_WHSEC_2": SECOND_SECRET}, "test")


def run_sql(settings: Settings, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement (``?`` placeholders) on either engine, committed; its rows."""
    if settings.storage_url:
        import psycopg

        with psycopg.connect(settings.storage_url) as pg:
            cur = pg.execute(sql.replace("?", "%s"), params)
            return [tuple(r) for r in cur.fetchall()] if cur.description else []
    conn = sqlite3.connect(settings.storage_path)
    try:
        with conn:
            return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


class Clock:
    """A settable clock: real time unless ``fixed`` is set."""

    def __init__(self) -> None:
        self.fixed: float | None = None

    def __call__(self) -> float:
        return time.time() if self.fixed is None else self.fixed


class LiveServer:
    """The real Flask app served over HTTP on 127.0.0.1 in a thread."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        try:
            open_storage(settings).close()  # as `meterwise serve` does at start
        except OSError:
            pass  # the health test wants an unopenable path
        self.app = create_app(settings, clock=clock)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.session = requests.Session()

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        return self.session.post(self.url + path, data=body, headers=headers, timeout=30)

    def send(
        self,
        doc: dict[str, Any] | bytes,
        *,
        account: str = "acme",
        secret: str = SECRET,
        t: int | None = None,
    ) -> requests.Response:
        body, headers = signed(doc, secret, int(time.time()) if t is None else t)
        return self.post(f"/webhooks/jaas/{account}", body, headers)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read the database as a report does: what is queued is folded first."""
        store = open_storage(self.settings)
        try:
            fold_pending(store, self.settings)
        finally:
            store.close()
        return run_sql(self.settings, sql, params)

    def count(self, table: str = "events") -> int:
        return int(self.query(f"SELECT count(*) FROM {table}")[0][0])


@pytest.fixture
def engine() -> str:
    """The storage engine of `settings` (parametrized per module: see pytest_generate_tests)."""
    return "sqlite"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def live(settings: Settings, clock: Clock) -> Iterator[LiveServer]:
    server = LiveServer(settings, clock)
    server.thread.start()
    yield server
    server.server.shutdown()
    server.session.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it accepts."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server started for this test run (tests/pg.py), stopped after it."""
    from tests.pg import NoServer, start_server, stop_server

    try:
        server = start_server()
    except NoServer as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {exc}")
        pytest.skip(str(exc))
    yield server
    from meterwise.storage.postgres.connection import close_pools

    close_pools()  # the apps kept for a whole module (fuzzing, OpenAPI) hold connections
    stop_server(server)
