"""Exactly one email however many schedulers or `meterwise reconcile` runs share a database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meterwise.config.settings import load_settings
from meterwise.receiver.providers import jaas
from meterwise.receiver.testing import Meeting
from meterwise.storage import open_storage
from tests.conftest import run_sql, storage_line
from tests.smtp import SmtpServer

PYTHON = sys.executable


ENGINES = ("sqlite", "postgresql")  # every test here runs on both engines


def write_config(tmp_path: Path, smtp_port: int, store_at: Path | dict[str, str]) -> Path:
    """A config file for `store_at` (the SQLite file, or the test's PostgreSQL database)."""
    path = tmp_path / "meterwise.toml"
    path.write_text(f"""
[storage]
{storage_line(store_at)}
[email]
host = "127.0.0.1"
port = {smtp_port}
[reconcile]
reconcile_every_s = 1
[plans.small]
extends = "jaas-basic"
allowances = {{ mau = 20 }}
[[accounts]]
id = "acme"
provider = "jaas"
plan = "small"
cycle_anchor = "2026-03-08"
webhook_secrets = ["whsec_x"]
alert_emails = ["ops@example.com"]
""")
    return path


def store_meeting(config: Path, devices: int, session: str, first: int = 0) -> None:
    settings = load_settings(str(config), {})
    db = open_storage(settings)
    meeting = Meeting(session, int(time.time() * 1000) - 3_600_000)
    for i in range(first, first + devices):
        meeting.join(f"dev-{i}", moderator=i == first)
    account = settings.accounts["acme"]
    for n, doc in enumerate(meeting.events):
        events = jaas.parse(json.dumps(doc).encode(), account, {})
        db.store_delivery("acme", "jaas", events, n)


def start_scheduler(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [
                PYTHON,
                "-P",
                "-m",
                "meterwise.receiver",
                "scheduler",
                "--config",
                str(config),
                "--tick-seconds",
                "0.2",
                "--lease-seconds",
                "2",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def alerts(smtp: SmtpServer) -> list[str]:
    """Subjects of the alert emails (the closed previous cycle's report is another kind)."""
    return [
        m["Subject"] for _, m in smtp.messages if "closed, invoice estimate" not in m["Subject"]
    ]


def finals(smtp: SmtpServer) -> list[str]:
    return [m["Subject"] for _, m in smtp.messages if "closed, invoice estimate" in m["Subject"]]


def wait_for(predicate, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_two_schedulers_send_one_email_and_the_standby_takes_over(tmp_path, store_at, smtp):
    config = write_config(tmp_path, smtp.port, store_at)
    store_meeting(config, 11, "m1")  # 55% of 20
    first = start_scheduler(config, tmp_path / "a.log")
    second = start_scheduler(config, tmp_path / "b.log")
    try:
        assert wait_for(lambda: len(alerts(smtp)) >= 1)
        time.sleep(2.0)  # many more ticks of both
        # One alert; no closing report for the previous cycle, which ended before
        # observation of the account began (the first scheduler start).
        assert len(alerts(smtp)) == 1 and len(finals(smtp)) == 0
        assert "MAU 55% of 20" in alerts(smtp)[0]
        settings = load_settings(str(config), {})
        holder = run_sql(settings, "SELECT holder FROM leases")[0][0]
        leader, standby = (first, second) if f":{first.pid}:" in holder else (second, first)
        assert f":{leader.pid}:" in holder
        leader.send_signal(signal.SIGKILL)  # dies without releasing its lease
        leader.wait(10)
        store_meeting(config, 6, "m2", first=11)  # 17 of 20: 85%
        assert wait_for(lambda: len(alerts(smtp)) >= 2)
        time.sleep(1.0)
        assert len(alerts(smtp)) == 2 and len(finals(smtp)) == 0
        # The standby may pass while the six deliveries are still arriving (16 of 20 is
        # already 80%): the 80% alert goes out once either way.
        assert "MAU 85% of 20" in alerts(smtp)[1] or "MAU 80% of 20" in alerts(smtp)[1]
        holder = run_sql(settings, "SELECT holder FROM leases")[0][0]
        assert f":{standby.pid}:" in holder
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(10) == 0  # clean stop on SIGTERM


@pytest.mark.slow
def test_two_reconcile_runs_at_once_send_one_email(tmp_path, store_at, smtp):
    config = write_config(tmp_path, smtp.port, store_at)
    store_meeting(config, 19, "m1")
    env = {**os.environ}
    procs = [
        subprocess.Popen(
            [PYTHON, "-m", "meterwise.receiver", "reconcile", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60)[0].decode() for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert len(alerts(smtp)) == 1 and len(finals(smtp)) == 1
    assert sum("sent: [Meterwise] acme: MAU 95% of 20" in out for out in outputs) == 1


def test_missed_runs_coalesce_into_one_catch_up_run(tmp_path, store_at, smtp):
    from meterwise.reconciler.scheduler import Runner, tick

    config = write_config(tmp_path, smtp.port, store_at)
    store_meeting(config, 3, "m1")
    settings = load_settings(str(config), {})
    settings = type(settings)(
        **{
            **{f: getattr(settings, f) for f in settings.__dataclass_fields__},
            "reconcile_every_s": 900,
        }
    )
    db = open_storage(settings)
    run_sql(settings, "INSERT INTO leases VALUES ('scheduler', 'old', 0, 0)")
    db.mark_run("scheduler", int(time.time() * 1000) - 6 * 3600 * 1000)  # down for 6 hours
    runner = Runner(settings, "me", 30)
    assert [tick(runner) for _ in range(3)] == ["ran", "leader, not due", "leader, not due"]
    other = Runner(settings, "someone-else", 30)
    assert tick(other) == "standby"
