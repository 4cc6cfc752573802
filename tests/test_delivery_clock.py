"""Alert delivery under slow servers and wrong clocks: leases renewed during a pass, claims
and retries on the real clock, state written under a wrong clock recovered from."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from meterwise.config.settings import load_settings
from meterwise.receiver.cli import cli
from meterwise.reconciler.mailer import OutgoingEmail, SmtpMailer
from meterwise.reconciler.outbox import deliver, queued
from meterwise.reconciler.scheduler import LEASE, Runner, tick
from meterwise.storage import open_storage
from tests.conftest import run_sql
from tests.test_scheduler import write_config

ENGINES = ("sqlite", "postgresql")  # every test here runs on both engines


def queue(db, n: int) -> list[str]:
    keys = []
    for i in range(n):
        key = f"mw-test-{i}"
        message = OutgoingEmail(key, ("ops@example.com",), f"alert {i}", "text", "<p>html</p>")
        assert db.record_and_queue("acme", 0, [("mau", "threshold", f"t{i}")], queued(message), 0)
        keys.append(key)
    return keys


def test_two_schedulers_and_a_slow_smtp_server_send_each_message_once(tmp_path, store_at, smtp):
    smtp.collector.delay_s = 1.5  # each message takes 1.5 s: a pass outlives the 2 s lease
    config = write_config(tmp_path, smtp.port, store_at)
    settings = load_settings(str(config), {})
    db = open_storage(settings)
    keys = queue(db, 4)
    runners = [Runner(settings, f"host-{i}", lease_s=2) for i in range(3)]
    results: list[str] = []

    def run(runner: Runner, delay: float) -> None:
        time.sleep(delay)
        results.append(tick(runner))

    threads = [threading.Thread(target=run, args=(r, 2.5 * i)) for i, r in enumerate(runners)]
    for t in threads:
        t.start()
    expiries = set()
    while threads[0].is_alive():  # watch the lease while the first pass runs
        rows = run_sql(settings, "SELECT holder, expires_ms FROM leases WHERE name = ?", (LEASE,))
        found = rows[0] if rows else None
        if found and found[0] == "host-0":
            expiries.add(found[1])
        time.sleep(0.2)
    for t in threads:
        t.join(60)
    assert len(expiries) >= 3  # renewed before each message, not only at the tick
    ids = Counter(m["Message-ID"] for _, m in smtp.messages)
    assert {f"<{k}@localhost>" for k in keys} <= set(ids)  # (and the closing report)
    assert set(ids.values()) == {1}, ids  # never twice
    assert results.count("ran") == 1  # the lease stayed with the first: the others waited


def test_a_run_recorded_in_the_future_does_not_stop_the_scheduler(tmp_path, store_at, smtp):
    config = write_config(tmp_path, smtp.port, store_at)
    settings = load_settings(str(config), {})
    db = open_storage(settings)
    runner = Runner(settings, "host-1", lease_s=30)
    assert tick(runner) == "ran"
    ahead = int((datetime.now(UTC) + timedelta(days=1)).timestamp() * 1000)
    db.mark_run(LEASE, ahead)  # a run made while the clock was a day ahead
    run_sql(settings, "UPDATE leases SET expires_ms = ? WHERE name = ?", (ahead, LEASE))
    other = Runner(settings, "host-2", lease_s=30)  # the day-ahead holder is gone
    assert tick(other) == "ran"
    assert db.last_run_ms(LEASE) < ahead


def test_retries_after_a_pass_at_a_future_instant_run_on_the_real_clock(tmp_path, store_at, smtp):
    from tests.test_scheduler import store_meeting

    smtp.collector.reply = "451 4.3.0 try again later"
    config = write_config(tmp_path, smtp.port, store_at)
    store_meeting(config, 15, "m1")  # 15 of 20: the 50% threshold
    at = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    out = CliRunner().invoke(cli, ["reconcile", "--at", at, "--config", str(config)])
    assert out.exit_code == 0, out.output
    settings = load_settings(str(config), {})
    db = open_storage(settings)
    rows = run_sql(settings, "SELECT status, attempts, next_attempt_ms FROM outbox")
    assert rows and all(status == "pending" and attempts == 1 for status, attempts, _ in rows)
    real = time.time() * 1000
    assert all(real < when <= real + 61_000 for _, _, when in rows)  # not ten days out
    smtp.collector.reply = "250 OK"
    sent = deliver(db, SmtpMailer(load_settings(str(config), {}).email), lambda: time.time() + 61)
    assert {d.status for d in sent} == {"sent"} and len(smtp.messages) == len(rows)


def test_a_retry_time_written_under_a_wrong_clock_is_due(tmp_path, store_at, smtp):
    config = write_config(tmp_path, smtp.port, store_at)
    settings = load_settings(str(config), {})
    db = open_storage(settings)
    queue(db, 1)
    far = int((time.time() + 10 * 86400) * 1000)
    run_sql(settings, "UPDATE outbox SET next_attempt_ms = ?, claimed_until_ms = ?", (far, far))
    assert [d.status for d in deliver(db, SmtpMailer(settings.email))] == ["sent"]


def test_a_pass_at_an_earlier_instant_beside_a_normal_one_sends_once(tmp_path, store_at, smtp):
    smtp.collector.delay_s = 0.5
    config = write_config(tmp_path, smtp.port, store_at)
    settings = load_settings(str(config), {})
    db = open_storage(settings)
    keys = queue(db, 3)
    earlier = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    threads = [
        threading.Thread(
            target=CliRunner().invoke, args=(cli, ["reconcile", "--config", str(config)])
        ),
        threading.Thread(
            target=CliRunner().invoke,
            args=(cli, ["reconcile", "--at", earlier, "--config", str(config)]),
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    ids = Counter(m["Message-ID"] for _, m in smtp.messages)
    assert set(f"<{k}@localhost>" for k in keys) <= set(ids)
    assert set(ids.values()) == {1}, ids
