"""The PostgreSQL engine against a real server started by the tests (tests/pg.py): migrations
applied once by hosts starting together, the request path's exactly-once under concurrent
hosts, and recovery from a server restart without a new process."""

from __future__ import annotations

import json
import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from meterwise.config.settings import parse_settings
from meterwise.receiver.providers import jaas
from meterwise.receiver.testing import envelope
from meterwise.storage import StorageUnavailable
from meterwise.storage.postgres import PgStorage, migrate
from meterwise.storage.postgres.connection import close_pools
from tests.conftest import SECOND_SECRET, base_config

pytestmark = pytest.mark.slow


@pytest.fixture
def pg_url(pg_server, request):
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    url = pg_server.create_database(name)
    yield url
    close_pools()


def _upgrade(url: str, queue) -> None:
    queue.put(migrate.upgrade(url))


def test_hosts_starting_together_apply_each_migration_once(pg_url):
    ctx = multiprocessing.get_context("spawn")  # separate processes, as separate hosts
    queue = ctx.Queue()
    hosts = [ctx.Process(target=_upgrade, args=(pg_url, queue)) for _ in range(4)]
    for host in hosts:
        host.start()
    for host in hosts:
        host.join(120)
        assert host.exitcode == 0
    applied = [queue.get(timeout=10) for _ in hosts]
    assert sorted(applied, key=len)[-1] == ["0001_baseline"]
    assert sum(len(a) for a in applied) == 1  # one host applied it, three found it done
    found = migrate.status(pg_url)
    assert found.applied == ("0001_baseline",) and found.pending == () and found.unknown == ()
    migrate.require_current(pg_url)


def test_a_database_newer_than_the_code_is_refused(pg_url):
    migrate.upgrade(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO _yoyo_migration (migration_hash, migration_id, applied_at_utc) "
            "VALUES ('x', '0099_from_the_future', now())"
        )
    with pytest.raises(Exception, match="0099_from_the_future"):
        migrate.upgrade(pg_url)


def _delivery(key: str, devices: list[str]):
    settings = parse_settings(base_config("unused.db"), {"ACME_WHSEC_2": SECOND_SECRET}, "t")
    doc = envelope("USAGE", 1_773_000_000_000, [{"deviceId": d} for d in devices])
    doc["idempotencyKey"] = key
    return jaas.parse(json.dumps(doc).encode(), settings.accounts["acme"], {})


def test_the_same_key_from_two_hosts_at_once_is_stored_once(pg_url):
    migrate.upgrade(pg_url)
    hosts = [PgStorage(pg_url), PgStorage(pg_url)]
    start = threading.Barrier(8)

    def post(i: int) -> list[int]:
        start.wait()
        return hosts[i % 2].store_delivery("acme", "jaas", _delivery("k-1", ["d1", "d2"]), i)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(8)))
    stored = [a for a in answers if a]
    assert len(stored) == 1 and all(a == [] for a in answers if not a)  # 1 stored, 7 duplicate
    with psycopg.connect(pg_url) as conn:
        counts = [
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("events", "usage_devices", "sightings", "fold_pending")
        ]
    assert counts == [1, 2, 2, 1]
    assert hosts[0].is_stored("acme", "k-1") and not hosts[1].is_stored("acme", "k-2")


def test_a_server_restart_gives_503s_then_recovers_without_a_new_process(pg_server, pg_url):
    migrate.upgrade(pg_url)
    store = PgStorage(pg_url)
    assert store.store_delivery("acme", "jaas", _delivery("before", ["a"]), 1)
    pg_server.kill()  # immediate shutdown, as a crash
    try:
        with pytest.raises(StorageUnavailable):
            store.store_delivery("acme", "jaas", _delivery("during", ["b"]), 2)
    finally:
        pg_server.pg_ctl_run("start")
    assert store.store_delivery("acme", "jaas", _delivery("after", ["c"]), 3)
    assert store.is_stored("acme", "before") and not store.is_stored("acme", "during")


def test_an_unstorable_value_is_refused_and_stores_nothing(pg_url):
    from meterwise.storage import UnstorableValue

    migrate.upgrade(pg_url)
    store = PgStorage(pg_url)
    bad = _delivery("nul", ["d\x00evice"])  # PostgreSQL text cannot hold NUL
    with pytest.raises((UnstorableValue, StorageUnavailable)):
        store.store_delivery("acme", "jaas", bad, 1)
    assert not store.is_stored("acme", "nul")
