"""Versioned migrations: a fresh database, release 0.1's database upgraded in place, two
processes at once, a failed migration, a database newer than the code, backups."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from meterwise.config.settings import load_settings
from meterwise.receiver.cli import cli
from meterwise.receiver.testing import envelope, signed
from meterwise.storage.sqlite import migrate

FIXTURES = Path(__file__).parent / "fixtures"
ENGINES = ("sqlite", "postgresql")  # purge and retention on both; the file tests are SQLite
SECRET = "whsec_fixture000000000000000000000000"
MIGRATIONS = [
    "0001_baseline",
    "0002_observation_known_at",
    "0003_purges",
    "0004_fold_queue",
    "0005_delivery_log",
    "0006_first_seen_rollups",
    "0007_dashboard",
    "0008_outbox_channels",
]


def write_config(tmp_path: Path, db: Path) -> Path:
    config = tmp_path / "meterwise.toml"
    config.write_text(
        f'[storage]\npath = "{db}"\n[plans.jaas-basic]\nallowances = {{ mau = 20 }}\n'
        '[plans.jaas-standard]\nallowances = { mau = 60 }\n[[accounts]]\nid = "acme"\n'
        'provider = "jaas"\nplan = "jaas-basic"\ncycle_anchor = "2026-03-08"\n'
        f'webhook_secrets = ["{SECRET}"]\n'
        '[[accounts.plan_changes]]\nat = "2026-03-23T12:00:00Z"\nplan = "jaas-standard"\n'
    )
    return config


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_a_fresh_database_gets_every_migration_owner_only(tmp_path):
    db = tmp_path / "fresh.db"
    assert migrate.upgrade(db) == MIGRATIONS
    assert migrate.upgrade(db) == []  # applied once
    assert os.stat(db).st_mode & 0o777 == 0o600
    found = migrate.status(db)
    assert (found.applied, found.pending, found.unknown) == (tuple(MIGRATIONS), (), ())
    code, out = run("db", "status", "--config", str(write_config(tmp_path, db)))
    assert code == 0 and "applied  0002_observation_known_at" in out and "up to date" in out


def test_release_0_1_database_upgrades_in_place_with_the_same_figures(tmp_path):
    db = tmp_path / "old.db"
    shutil.copy(FIXTURES / "release-0.1.db", db)
    config = write_config(tmp_path, db)
    args = ["report", "acme", "--cycle", "2026-03-20", "--at", "2026-04-08T02:00:00Z"]
    args += ["--event-time", "--format", "json", "--config", str(config)]
    code, out = run(*args)  # a read-only command never migrates: it says what to run
    assert code == 1 and "run `meterwise db upgrade`" in out
    assert migrate.status(db).pending == tuple(MIGRATIONS[1:])
    code, out = run("db", "upgrade", "--config", str(config))
    assert code == 0 and out == "".join(f"applied  {m}\n" for m in MIGRATIONS[1:])
    code, out = run(*args)
    assert code == 0, out
    now, then = json.loads(out), json.loads((FIXTURES / "release-0.1-report.json").read_text())
    assert now["invoice"]["total"] == then["invoice"]["total"]

    # Per charge, to the cent (0.2 prices minutes per plan period: one line per plan now).
    def per_code(doc):
        sums: dict[str, Decimal] = {}
        for ln in doc["invoice"]["lines"]:
            sums[ln["code"]] = sums.get(ln["code"], Decimal(0)) + Decimal(ln["amount"])
        return sums

    assert per_code(now) == per_code(then)
    assert now["metrics"]["mau"]["used"] == str(then["metrics"]["mau"]["used"])
    assert now["attribution"] == then["attribution"]
    # New deliveries store after the upgrade.
    from meterwise.receiver import create_app

    client = create_app(load_settings(str(config), {})).test_client()
    body, headers = signed(
        envelope("USAGE", int(time.time() * 1000), [{"deviceId": "new"}]), SECRET, int(time.time())
    )
    assert client.post("/webhooks/jaas/acme", data=body, headers=headers).status_code == 200


def test_two_processes_starting_at_once_apply_each_migration_once(tmp_path):
    db = tmp_path / "race.db"
    config = write_config(tmp_path, db)
    meterwise = Path(sys.executable).parent / "meterwise"
    procs = [
        subprocess.Popen(
            [str(meterwise), "db", "upgrade", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=60)[0].decode() for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sum(o.count("applied  0001_baseline") for o in outputs) == 1
    conn = sqlite3.connect(db)
    ids = [r[0] for r in conn.execute("SELECT migration_id FROM _yoyo_migration")]
    conn.close()
    assert sorted(ids) == MIGRATIONS


def test_a_failed_migration_rolls_back_and_the_old_schema_works(tmp_path, monkeypatch):
    db = tmp_path / "fail.db"
    migrate.upgrade(db)
    folder = tmp_path / "migrations"
    shutil.copytree(Path(migrate._folder()), folder)
    (folder / "0099_broken.sql").write_text(
        "-- depends: 0008_outbox_channels\n"
        "CREATE TABLE half_done (x INTEGER);\n"
        "ALTER TABLE events ADD COLUMN extra TEXT;\n"
        "INSERT INTO no_such_table VALUES (1);\n"
    )
    monkeypatch.setattr(migrate, "_folder", lambda engine="sqlite": str(folder))
    with pytest.raises(Exception, match="no_such_table"):
        migrate.upgrade(db)
    conn = sqlite3.connect(db)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    columns = {r[1] for r in conn.execute("PRAGMA table_info(events)")}
    conn.close()
    assert "half_done" not in tables and "extra" not in columns
    assert migrate.status(db).pending == ("0099_broken",)


def test_a_database_newer_than_the_code_is_refused_naming_both(tmp_path):
    db = tmp_path / "newer.db"
    migrate.upgrade(db)
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO _yoyo_migration (migration_hash, migration_id, applied_at_utc) "
        "VALUES ('x', '0099_from_the_future', '2030-01-01 00:00:00')"
    )
    conn.commit()
    conn.close()
    config = write_config(tmp_path, db)
    code, out = run("db", "upgrade", "--config", str(config))
    assert code == 1 and "0099_from_the_future" in out and "0008_outbox_channels" in out
    meterwise = Path(sys.executable).parent / "meterwise"
    serve = subprocess.run(
        [str(meterwise), "serve", "--config", str(config), "--port", "0", "--no-scheduler"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert serve.returncode == 1
    assert "Error: the database has migration(s) 0099_from_the_future" in serve.stderr
    assert "Traceback" not in serve.stderr
    code, out = run("report", "acme", "--config", str(config))
    assert code == 1 and "newer Meterwise" in out


@pytest.mark.sqlite_only  # `db backup` copies a SQLite file; PostgreSQL has pg_dump
def test_backup_of_a_live_database_is_consistent(tmp_path, live):
    stop = threading.Event()

    def load() -> None:
        i = 0
        while not stop.is_set():
            live.send(envelope("USAGE", int(time.time() * 1000), [{"deviceId": f"b{i}"}]))
            i += 1

    thread = threading.Thread(target=load)
    thread.start()
    try:
        time.sleep(0.5)
        config = tmp_path / "live.toml"
        config.write_text(f'[storage]\npath = "{live.settings.storage_path}"\n')
        target = tmp_path / "backup.db"
        code, out = run("db", "backup", str(target), "--config", str(config))
    finally:
        stop.set()
        thread.join()
    assert code == 0 and "integrity ok" in out, out
    assert os.stat(target).st_mode & 0o777 == 0o600
    copy = sqlite3.connect(target)
    events = copy.execute("SELECT count(*) FROM events").fetchone()[0]
    devices = copy.execute("SELECT count(*) FROM usage_devices").fetchone()[0]
    copy.close()
    assert events > 0 and events == devices  # a consistent snapshot: no half deliveries
    code, out = run("db", "check", "--config", str(config))
    assert code == 0 and out.endswith(": ok\n")


def test_purge_drops_personal_data_and_keeps_every_figure(tmp_path, live):
    from meterwise.receiver.testing import Meeting
    from meterwise.reconciler.reconcile import compute_report
    from meterwise.reconciler.report import report_to_dict
    from meterwise.storage import open_storage
    from tests.conftest import run_sql, storage_toml

    start = int(datetime(2026, 3, 10, 9, tzinfo=UTC).timestamp() * 1000)
    meeting = Meeting("m1", start)
    for i in range(4):
        meeting.join(
            f"dev-{i}",
            f"user-{i}" if i < 2 else None,
            moderator=i == 0,
            name=f"Person {i}",
            email=f"p{i}@example.com",
        )
    for doc in meeting.events:
        assert live.send(doc).status_code == 200
    db = open_storage(live.settings)
    at = datetime(2026, 4, 9, tzinfo=UTC)

    def figures() -> dict:
        data = report_to_dict(compute_report(db, live.settings, "acme", at, date(2026, 3, 20)))
        return {k: data[k] for k in ("metrics", "invoice")} | {
            "attributed": [(a["user"], a["mau"], a["amount"]) for a in data["attribution"]]
        }

    before = figures()
    config = tmp_path / "p.toml"
    config.write_text(
        f"[storage]\n{storage_toml(live.settings)}\n"
        '[[accounts]]\nid = "acme"\n'
        'provider = "jaas"\nplan = "jaas-basic"\ncycle_anchor = "2026-03-08"\n'
        'webhook_secrets = ["whsec_x"]\n'
    )
    code, out = run(
        "db", "purge", "--account", "acme", "--before", "2026-04-10", "--config", str(config)
    )
    assert code == 0 and "dated before 2026-04-08 00:00 UTC" in out, out
    assert figures() == before
    assert run_sql(live.settings, "SELECT count(*) FROM events WHERE length(body) > 2") == [(0,)]
    assert run_sql(
        live.settings,
        "SELECT count(*) FROM participants WHERE name IS NOT NULL OR email IS NOT NULL",
    ) == [(0,)]
    code, out = run("rebuild", "--config", str(config))  # purged cycles stay as they were
    assert code == 0, out
    assert figures() == before


def test_retain_raw_days_purges_old_cycles_on_the_scheduled_pass(store_at, clock):
    from meterwise.config.settings import parse_settings
    from meterwise.reconciler.job import run_reconciliation
    from meterwise.reconciler.mailer import MemoryMailer
    from meterwise.storage import open_storage
    from tests.conftest import SECOND_SECRET, LiveServer, base_config, run_sql

    doc = base_config(store_at)
    doc["storage"]["retain_raw_days"] = 30
    settings = parse_settings(doc, {"ACME_WHSEC_2": SECOND_SECRET}, "t")
    live = LiveServer(settings, clock)
    live.thread.start()
    try:
        old = int(datetime(2026, 3, 10, tzinfo=UTC).timestamp() * 1000)
        recent = int(time.time() * 1000) - 3_600_000
        for ts, device in ((old, "old"), (recent, "recent")):
            assert live.send(envelope("USAGE", ts, [{"deviceId": device}])).status_code == 200
        db = open_storage(settings)
        run_reconciliation(db, settings, MemoryMailer(), datetime.now(UTC))
        # the old cycle purged, this cycle kept
        bodies = run_sql(settings, "SELECT ts_ms, length(body) > 2 FROM events ORDER BY ts_ms")
        assert [(ts, bool(kept)) for ts, kept in bodies] == [
            (old, False),
            (recent, True),
        ]  # the old cycle purged, this cycle kept
    finally:
        live.server.shutdown()


def test_a_lock_left_by_a_dead_process_does_not_block_starts(tmp_path):
    db = tmp_path / "stale.db"
    migrate.upgrade(db)
    dead = subprocess.Popen(["true"])
    dead.wait()
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO yoyo_lock (locked, ctime, pid) VALUES (1, '2026-01-01 00:00:00', ?)",
        (dead.pid,),
    )
    conn.commit()
    conn.close()
    began = time.monotonic()
    assert migrate.status(db).pending == ()
    assert migrate.upgrade(db) == []
    assert time.monotonic() - began < 10
