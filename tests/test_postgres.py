"""The PostgreSQL engine against a real server started by the tests (tests/pg.py): migrations
applied once by hosts starting together, the request path's exactly-once under concurrent
hosts, and recovery from a server restart without a new process."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
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


def test_one_lease_holder_across_hosts_and_takeover_after_expiry(pg_url):
    migrate.upgrade(pg_url)
    a, b = PgStorage(pg_url), PgStorage(pg_url)
    assert a.acquire_lease("scheduler", "host-a", 1_000, 30)
    assert not b.acquire_lease("scheduler", "host-b", 2_000, 30)  # a's lease is live
    assert a.acquire_lease("scheduler", "host-a", 20_000, 30)  # renewed
    assert not b.acquire_lease("scheduler", "host-b", 49_000, 30)
    assert b.acquire_lease("scheduler", "host-b", 50_001, 30)  # a died: its lease expired
    assert not a.acquire_lease("scheduler", "host-a", 50_002, 30)
    b.mark_run("scheduler", 50_003)
    assert a.last_run_ms("scheduler") == 50_003
    b.release_lease("scheduler", "host-b")
    assert a.acquire_lease("scheduler", "host-a", 50_004, 30)


def test_an_alert_is_queued_once_and_sent_by_one_host(pg_url):
    migrate.upgrade(pg_url)
    hosts = [PgStorage(pg_url) for _ in range(4)]
    start = threading.Barrier(4)
    message = ("k1", ["ops@example.com"], "subject", "text", "<p>html</p>")
    channel = [("k1/slack:abc", "slack:abc", "subject", '{"text": "x"}')]

    def queue(store: PgStorage) -> bool:
        start.wait()
        return store.record_and_queue("acme", 0, [("mau", "threshold", "0.8")], message, 5, channel)

    with ThreadPoolExecutor(4) as pool:
        assert sorted(pool.map(queue, hosts)) == [False, False, False, True]
    due = hosts[0].due_messages(10, 10**12)
    assert [(d[1], d[7]) for d in due] == [("k1", "email"), ("k1/slack:abc", "slack:abc")]
    assert hosts[0].fired_keys("acme", 0) == {("mau", "threshold", "0.8"): 5}
    claims = [h.claim_message(due[0][0], 10, 130_000) for h in hosts]
    assert claims.count(True) == 1  # one host sends it
    hosts[1].mark_sent(due[0][0], 11)
    hosts[2].mark_failed(due[1][0], "slack: HTTP 404")
    assert hosts[3].outbox_counts() == {("email", "sent"): 1, ("slack", "failed"): 1}
    assert hosts[3].failed_messages() == [("acme", "slack:abc", "subject", "slack: HTTP 404")]
    hosts[0].rearm("acme", 0, [("mau", "threshold", "0.8")])
    assert hosts[0].fired_keys("acme", 0) == {}


def test_the_fold_gives_the_same_aggregates_as_on_sqlite(pg_url, tmp_path):
    """The same deliveries, out of order and duplicated, stored and folded on both engines
    (with folds at random points): every aggregate table is identical."""
    import random

    from meterwise.reconciler.cycles import cycle_start_of
    from meterwise.storage import connect
    from tests.test_fold import AGGREGATES, START_MS

    migrate.upgrade(pg_url)
    settings = parse_settings(base_config(tmp_path / "m.db"), {"ACME_WHSEC_2": SECOND_SECRET}, "t")
    account = settings.accounts["acme"]
    rng = random.Random(5)
    docs = []
    for i in range(80):
        ts = START_MS + rng.randrange(60 * 24 * 60) * 60_000 + i
        kind = rng.choice(["USAGE", "USAGE", "ROOM_CREATED"])
        items = [
            {
                "deviceId": f"dev-{rng.randrange(15)}",
                **({"userId": f"user-{rng.randrange(3)}"} if rng.random() < 0.6 else {}),
                **(
                    {"email": rng.choice(["a@Corp.example", "b@x.example"])}
                    if rng.random() < 0.5
                    else {}
                ),
            }
            for _ in range(rng.randint(1, 4))
        ]
        docs.append(envelope(kind, ts, items if kind == "USAGE" else {}, session_id=f"s{i % 5}"))
    order = list(range(len(docs))) + [rng.randrange(len(docs)) for _ in range(20)]
    rng.shuffle(order)
    lite, pg = connect(tmp_path / "m.db"), PgStorage(pg_url)
    cycles = {"acme": cycle_start_of(account, "anchored")}
    for received, i in enumerate(order):
        parsed = jaas.parse(json.dumps(docs[i]).encode(), account, {})
        for store in (lite, pg):
            store.store_delivery("acme", "jaas", parsed, 1_000 + received)
            if received % 17 == 0:
                store.fold(cycles, batch=7)
    while lite.fold(cycles) or pg.fold(cycles):
        pass
    assert lite.pending_folds() == pg.pending_folds() == 0
    with psycopg.connect(pg_url) as conn:
        for sql in AGGREGATES:
            ours = [tuple(r) for r in conn.execute(sql).fetchall()]
            assert ours == [tuple(r) for r in lite.conn.execute(sql).fetchall()], sql
    lite.close()


def _mixed_month(account, rng):
    """Parsed JaaS deliveries of a month: meetings with joins, leaves and USAGE, rooms,
    recordings, transcriptions and dial-outs (times spread over two cycles)."""
    from meterwise.receiver.testing import Meeting
    from tests.test_fold import START_MS

    docs = []
    for m in range(25):
        at = START_MS + rng.randrange(50 * 24 * 60) * 60_000
        meeting = Meeting(f"s{m}", at, room=f"room-{m % 4}")
        for i in range(rng.randint(1, 5)):
            user = f"user-{rng.randrange(4)}" if rng.random() < 0.6 else None
            meeting.join(f"dev-{rng.randrange(30)}", user, moderator=i == 0, name=f"N{i}")
        meeting.end()
        docs += meeting.events
        if rng.random() < 0.5:
            rec = {"recordingSessionId": f"rec-{m}", "initiatorId": "u", "durationSec": 61 * m}
            docs.append(envelope("RECORDING_UPLOADED", at + 9_000_000, rec, session_id=f"s{m}"))
            docs.append(
                envelope("RECORDING_ENDED", at + 8_000_000, {"conference": "c"}, session_id=f"s{m}")
            )
        if rng.random() < 0.3:
            link = {"preAuthenticatedLink": f"https://files.example/t{m}"}
            docs.append(
                envelope("TRANSCRIPTION_UPLOADED", at + 9_500_000, link, session_id=f"s{m}")
            )
        if rng.random() < 0.3:
            dial = {"participantId": f"p{m}", "nick": "+49 30 1"}
            docs.append(envelope("DIAL_OUT_STARTED", at + 60_000, dial, session_id=f"s{m}"))
            docs.append(envelope("DIAL_OUT_ENDED", at + 600_000, dial, session_id=f"s{m}"))
    rng.shuffle(docs)
    return [jaas.parse(json.dumps(d).encode(), account, {}) for d in docs]


def test_every_read_gives_the_same_answer_as_on_sqlite(pg_url, tmp_path):
    """The same deliveries on both engines; every read of `Storage`, live and "as known at"
    an instant, with the same arguments, answers the same."""
    import random

    from meterwise.reconciler.cycles import cycle_start_of
    from meterwise.storage import connect
    from tests.test_fold import START_MS

    migrate.upgrade(pg_url)
    settings = parse_settings(base_config(tmp_path / "m.db"), {"ACME_WHSEC_2": SECOND_SECRET}, "t")
    account = settings.accounts["acme"]
    rng = random.Random(11)
    lite, pg = connect(tmp_path / "m.db"), PgStorage(pg_url)
    cycle_of = cycle_start_of(account, "anchored")
    for i, parsed in enumerate(_mixed_month(account, rng)):
        for store in (lite, pg):
            store.store_delivery("acme", "jaas", parsed, START_MS + i * 3_600_000)
    for store in (lite, pg):
        store.count_delivery("acme", "duplicate", START_MS + 5)
        store.record_observation("acme", START_MS)
        store.record_figures("acme", cycle_of(START_MS), 12, "99.00", "[]", 7, "console")
        while store.fold({"acme": cycle_of}):
            pass
    sessions = [f"s{m}" for m in range(25)] + ["nope"]
    cycles = sorted({cycle_of(START_MS), cycle_of(START_MS + 40 * 86_400_000)})
    end = START_MS + 70 * 86_400_000

    def answers(store):
        out = []
        for c in cycles:
            for before in (c + 3 * 86_400_000 + 1_234_567, c + 31 * 86_400_000):
                out += [
                    sorted(store.first_seen_groups("acme", "mau", c, before, [c + 86_400_000 + 5])),
                    sorted(
                        _merged(
                            store.first_seen_by_session("acme", "mau", c, before, ["x.example"])
                        )
                    ),
                    store.internal_by_user("acme", "mau", c, before, []),
                    store.nth_first_seen_ms("acme", "mau", c, 3, c, before),
                    store.activity_per_day("acme", "mau", c, before, 31),
                    store.has_activity("acme", "mau", c, before),
                ]
        out += [
            store.distinct_by_cycle("acme", "mau"),
            sorted(store.recordings("acme", START_MS, end)),
            sorted(store.call_events("acme", START_MS, end)),
            sorted(store.transcribed_sessions("acme", START_MS, end)),
            store.room_spans("acme", sessions),
            store.presence_spans("acme", sessions),
            {s: sorted(j) for s, j in store.meeting_joins("acme", sessions).items()},
            store.display_names("acme"),
            store.room_names("acme", sessions),
            store.joined_per_session("acme", START_MS, end),
            store.sessions_with_usage("acme", sessions),
            sorted(store.recording_events("acme", START_MS, end)),
            sorted(store.upload_events("acme", START_MS, end)),
            store.hourly("acme", "events", START_MS, end),
            store.delivery_counts("acme", START_MS, end),
            store.load_figures("acme", cycle_of(START_MS)),
            store.observed_since("acme"),
            store.late_arrivals("acme", START_MS, end, START_MS + 10 * 3_600_000, None),
            list(store.first_sightings("acme", "mau", cycles[0], end)),
            store.segments("acme", START_MS, end, "plan"),
        ]
        return out

    live = answers(lite), answers(pg)
    assert live[0] == live[1]
    known = START_MS + 40 * 3_600_000
    with lite.known_at(known):
        then_lite = answers(lite)
    with pg.known_at(known):
        then_pg = answers(pg)
    assert then_lite == then_pg
    assert then_lite != live[0]  # the instant matters: less was known then
    lite.close()


def _merged(rows):
    from collections import Counter

    found = Counter()
    for session, internal, n in rows:
        found[session, internal] += n
    return list(found.items())


def test_rebuild_and_purge_match_sqlite(pg_url, tmp_path):
    """`meterwise rebuild` recomputes the same aggregates on both engines as the fold did,
    and a purge drops the same personal data and keeps the same figures."""
    import random

    from meterwise.receiver.rebuild import rebuild
    from meterwise.reconciler.cycles import cycle_start_of
    from meterwise.storage import connect
    from tests.test_fold import AGGREGATES, START_MS

    migrate.upgrade(pg_url)
    settings = parse_settings(base_config(tmp_path / "m.db"), {"ACME_WHSEC_2": SECOND_SECRET}, "t")
    account = settings.accounts["acme"]
    lite, pg = connect(tmp_path / "m.db"), PgStorage(pg_url)
    cycle_of = cycle_start_of(account, "anchored")
    for i, parsed in enumerate(_mixed_month(account, random.Random(3))):
        for store in (lite, pg):
            store.store_delivery("acme", "jaas", parsed, START_MS + i * 60_000)

    def tables(store) -> list[list[tuple[object, ...]]]:
        if store is lite:
            return [[tuple(r) for r in lite.conn.execute(sql).fetchall()] for sql in AGGREGATES]
        with psycopg.connect(pg_url) as conn:
            return [[tuple(r) for r in conn.execute(sql).fetchall()] for sql in AGGREGATES]

    for store in (lite, pg):
        while store.fold({"acme": cycle_of}):
            pass
    folded = tables(pg)
    assert folded == tables(lite)
    assert rebuild(pg, settings, "acme")[0] > 0
    assert tables(pg) == folded  # the rebuild recomputes what the fold built
    before = START_MS + 20 * 86_400_000
    touched = [store.purge("acme", before, START_MS) for store in (lite, pg)]
    assert touched[0] == touched[1] > 0
    assert tables(pg) == tables(lite) and pg.purged_before("acme") == before
    with psycopg.connect(pg_url) as conn:
        left = conn.execute(
            "SELECT count(*) FROM participants WHERE ts_ms < %s AND name IS NOT NULL", (before,)
        ).fetchone()[0]
        bodies = conn.execute(
            "SELECT count(*) FROM events WHERE ts_ms < %s AND body != '\\x7b7d'::bytea", (before,)
        ).fetchone()[0]
    assert left == 0 and bodies == 0
    lite.close()


def test_the_app_on_postgresql_reports_what_it_reports_on_sqlite(pg_url, tmp_path, clock):
    """`[storage] url` selects PostgreSQL: the same signed deliveries through the real app
    give the same report, to the cent, and the same alerts, as on SQLite."""
    from datetime import UTC, datetime, timedelta

    from meterwise.receiver.testing import Meeting
    from meterwise.reconciler.job import run_reconciliation
    from meterwise.reconciler.mailer import SmtpMailer
    from meterwise.reconciler.reconcile import compute_report
    from meterwise.reconciler.report import report_to_dict
    from meterwise.storage import open_storage, storage_for
    from tests.conftest import LiveServer

    start = datetime(2026, 3, 8, tzinfo=UTC)
    reports, queued = [], []
    for engine in ("sqlite", "postgresql"):
        doc = base_config(tmp_path / f"{engine}.db", plan="small")
        doc["plans"] = {"small": {"extends": "jaas-basic", "allowances": {"mau": 20}}}
        if engine == "postgresql":
            doc["storage"] = {"url": pg_url}
        settings = parse_settings(doc, {"ACME_WHSEC_2": SECOND_SECRET}, "t")
        assert (settings.storage_url is not None) == (engine == "postgresql")
        live = LiveServer(settings, clock)
        live.thread.start()
        try:
            for day in range(12):
                at = int((start + timedelta(days=day, hours=9)).timestamp() * 1000)
                meeting = Meeting(f"m-{day}", at, room=f"room-{day % 3}")
                for i in range(2):
                    meeting.join(
                        f"dev-{day}-{i}",
                        f"u-{day}" if i == 0 else None,
                        moderator=i == 0,
                        name=f"Person {day}",
                    )
                meeting.end()
                for event in meeting.events:
                    assert live.send(event).status_code == 200
                assert live.send(meeting.events[0]).json()["status"] == "duplicate"
            assert type(storage_for(settings)).__name__ == (
                "PgStorage" if engine == "postgresql" else "SqliteStorage"
            )
        finally:
            live.server.shutdown()
        store = open_storage(settings)
        at = start + timedelta(days=12, hours=1)
        reports.append(report_to_dict(compute_report(store, settings, "acme", at)))
        result = run_reconciliation(store, settings, SmtpMailer(settings.email), at, dry_run=True)
        queued.append([m.subject for _, m, _ in result.queued])
        store.close()
    assert reports[0] == reports[1]
    assert reports[1]["metrics"]["mau"]["used"] == "24" and queued[0] == queued[1] != []


def test_storage_url_config(tmp_path):
    from meterwise.config.errors import ConfigError

    def settings(storage, environ=None):
        doc = base_config(tmp_path / "m.db")
        doc["storage"] = storage
        return parse_settings(doc, {"ACME_WHSEC_2": SECOND_SECRET, **(environ or {})}, "t")

    url = "postgresql://mw@db.example:5432/meterwise"
    assert settings({"url": url}).storage_url == url
    assert settings({"url": "env:MW_DB"}, {"MW_DB": url}).storage_url == url
    found = settings({"url": url, "password": "env:MW_PW"}, {"MW_PW": "s3cr:t@"})
    assert found.storage_url == "postgresql://mw:s3cr%3At%40@db.example:5432/meterwise"
    assert "s3cr" not in found.database and "***" in found.database
    for storage, key in (
        ({"url": url, "path": "var/x.db"}, "storage.path"),
        ({"url": "mysql://x@y/z"}, "storage.url"),
        ({"url": "postgresql://mw@db.example"}, "storage.url"),
        ({"password": "x"}, "storage.password"),
        ({"url": "env:UNSET_DB"}, "storage.url"),
    ):
        with pytest.raises(ConfigError) as caught:
            settings(storage)
        assert caught.value.key == key, storage


def test_dashboard_sessions_and_limits_behave_as_on_sqlite(pg_url, tmp_path):
    from meterwise.storage import connect

    migrate.upgrade(pg_url)
    answers = []
    for store in (connect(tmp_path / "m.db"), PgStorage(pg_url)):
        store.open_session("h1", "finance", 1_000, 5_000)
        store.open_session("h2", "ops", 1_000, 2_000)
        seen = [store.session_user("h1", 1_500), store.session_user("h2", 2_500)]
        store.close_session("h1")
        seen.append(store.session_user("h1", 1_600))
        store.record_login_failure(["name:x", "addr:1"], 10_000, 900_000)
        store.record_login_failure(["name:x"], 11_000, 900_000)
        seen.append(store.login_failures("name:x", 0))
        store.clear_login_failures("name:x")
        seen += [store.login_failures("name:x", 0), store.login_failures("addr:1", 0)]
        store.record_and_queue(
            "acme",
            0,
            [("mau", "threshold", "0.5")],
            ("k", ["a@b"], "S", "t", "h"),
            3,
            [("k/slack:1", "slack:1", "S", "{}"), ("kx", "email", "other", "{}")],
        )
        seen.append([(m[0], m[1], m[6], m[7]) for m in store.cycle_messages("acme", 0)])
        store.store_delivery("acme", "jaas", _delivery("r1", ["d"]), 42)
        store.fold({"acme": lambda ts: 0})
        seen.append(store.last_received())
        answers.append(seen)
        store.close()
    assert answers[0] == answers[1]
    assert answers[1][0] == "finance" and answers[1][1] is None and answers[1][2] is None


def test_db_copy_moves_a_sqlite_installation_resumably_and_idempotently(
    pg_server, tmp_path, clock, monkeypatch
):
    """`meterwise db copy --to`: interrupted after its first batch, run again, run a third
    time: every row exactly once, and the same figures on both sides."""
    from datetime import UTC, datetime, timedelta

    import tomli_w
    from click.testing import CliRunner

    from meterwise.receiver.cli import cli
    from meterwise.receiver.testing import Meeting
    from meterwise.storage import copy as copying
    from tests.conftest import LiveServer

    url = pg_server.create_database("copy_target")
    doc = base_config(tmp_path / "m.db")
    settings = parse_settings(doc, {"ACME_WHSEC_2": SECOND_SECRET}, "t")
    live = LiveServer(settings, clock)
    live.thread.start()
    start = datetime.now(UTC) - timedelta(days=3)
    for day in range(3):
        meeting = Meeting(f"m{day}", int((start + timedelta(days=day)).timestamp() * 1000))
        for i in range(3):
            meeting.join(f"dev-{day}-{i}", f"u{i}", moderator=i == 0)
        meeting.end()
        for event in meeting.events:
            assert live.send(event).status_code == 200
    live.server.shutdown()
    config = tmp_path / "meterwise.toml"
    config.write_text(tomli_w.dumps(doc))
    env = {"ACME_WHSEC_2": SECOND_SECRET}
    command = ["db", "copy", "--to", url, "--config", str(config), "--batch", "5"]

    real = copying._insert
    calls = {"n": 0}

    def dies_after_the_first_batch(pg, table, columns, rows):
        if table == "events":
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("killed mid-copy")
        return real(pg, table, columns, rows)

    monkeypatch.setattr(copying, "_insert", dies_after_the_first_batch)
    broken = CliRunner().invoke(cli, command, env=env)
    assert broken.exit_code != 0 and "killed mid-copy" in repr(broken.exception)
    monkeypatch.setattr(copying, "_insert", real)
    done = CliRunner().invoke(cli, command, env=env)
    assert done.exit_code == 0, done.output
    assert "DIFFERENT" not in done.output and "the copy is whole" in done.output
    assert "acme: mau 9, invoice $" in done.output and "on both sides" in done.output
    again = CliRunner().invoke(cli, command, env=env)
    assert again.exit_code == 0 and "copied 0 new event(s) and 0 row(s)" in again.output
    stored = live.count()  # the SQLite side's events
    with psycopg.connect(url) as conn:
        events = conn.execute("SELECT count(*), count(DISTINCT idempotency_key) FROM events")
        assert events.fetchone() == (stored, stored)  # each event once


def _hold_lease(url: str) -> None:
    store = PgStorage(url)
    assert store.acquire_lease("scheduler", "host-x:1:aa", 1_000, 30)
    time.sleep(60)  # killed before this ends


def test_a_dead_holders_lease_is_taken_over_at_once(pg_url):
    """The holder's process dies (SIGKILL) with 30 s left on its lease: its liveness lock
    went with its session, so the standby takes the lease at its next try."""
    import os
    import signal

    migrate.upgrade(pg_url)
    ctx = multiprocessing.get_context("spawn")
    holder = ctx.Process(target=_hold_lease, args=(pg_url,))
    holder.start()
    standby = PgStorage(pg_url)
    deadline = time.monotonic() + 30
    while standby.last_run_ms("scheduler") == 0 and not standby._one(
        "SELECT 1 FROM leases WHERE name = 'scheduler'"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # the holder has taken its liveness lock
    assert not standby.acquire_lease("scheduler", "host-y:2:bb", 2_000, 30)  # alive: refused
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    deadline = time.monotonic() + 10
    while not standby.acquire_lease("scheduler", "host-y:2:bb", 3_000, 30):  # 28 s left
        assert time.monotonic() < deadline, "the dead holder's lease was not taken over"
        time.sleep(0.1)
