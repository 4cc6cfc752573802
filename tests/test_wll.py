"""White Label Loyalty end to end: shared-secret header, calendar-month MAU, system-only users."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner

from meterwise.config.settings import load_settings
from meterwise.receiver.cli import cli
from meterwise.reconciler.job import run_reconciliation
from meterwise.reconciler.mailer import SmtpMailer
from meterwise.reconciler.reconcile import compute_report
from meterwise.storage import open_storage
from tests.conftest import LiveServer, storage_toml
from tests.traffic import WLL_SECRET, wll_event

ENGINES = ("sqlite", "postgresql")  # the tests using `settings`/`live` run on both engines
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
PATH = "/webhooks/wll/loyal"
HEADERS = {"Content-Type": "application/json", "X-Loyalty-Token": WLL_SECRET}


CONFIG = """
[storage]
{storage}
[email]
host = "127.0.0.1"
port = {port}
[plans.wll-100]
extends = "wll-standard"
name = "WLL 100"
price = "250.00"
allowances = {{ mau = 100 }}
overage_rates = {{ mau = "0.40" }}
[[accounts]]
id = "loyal"
provider = "wll"
plan = "wll-100"
cycle_anchor = "2026-01-01"
alert_emails = ["ops@example.com"]
options = {{ header_name = "X-Loyalty-Token", secret = "env:WLL_SECRET" }}
"""


def write_config(tmp_path, smtp_port, storage=None):
    path = tmp_path / "meterwise.toml"
    storage = storage or f'path = "{tmp_path / "wll.db"}"'
    path.write_text(CONFIG.format(storage=storage, port=smtp_port))
    return path


@pytest.fixture
def loyal(tmp_path, clock, smtp, settings):
    config = write_config(tmp_path, smtp.port, storage_toml(settings))  # the engine under test
    settings = load_settings(str(config), {"WLL_SECRET": WLL_SECRET})
    server = LiveServer(settings, clock)
    server.thread.start()
    yield server
    server.server.shutdown()


def test_shared_secret_header_is_required(loyal):
    body = wll_event("ORDER_PLACED", "u1", MARCH + timedelta(days=1))
    missing = loyal.post(PATH, body, {"Content-Type": "application/json"})
    wrong = loyal.post(PATH, body, {**HEADERS, "X-Loyalty-Token": "guess"})
    assert (missing.status_code, missing.json()["error"]) == (401, "auth_missing")
    assert "X-Loyalty-Token" in missing.json()["detail"]
    assert (wrong.status_code, wrong.json()["error"]) == (401, "auth_mismatch")
    assert loyal.count() == 0
    assert loyal.post(PATH, body, HEADERS).json()["status"] == "stored"
    assert loyal.post(PATH, body, HEADERS).json()["status"] == "duplicate"
    assert loyal.count() == 1


def test_bad_payloads_are_422_and_change_nothing(loyal):
    no_subject = b'{"type": "ORDER_PLACED", "reportedAt": "2026-03-02T10:00:00Z"}'
    bad_time = b'{"type": "X", "subject": "u", "reportedAt": "yesterday"}'
    for body, error in ((no_subject, "missing_fields"), (bad_time, "invalid_fields")):
        answer = loyal.post(PATH, body, HEADERS)
        assert (answer.status_code, answer.json()["error"]) == (422, error)
    assert loyal.count() == 0


def month_of_traffic(seed: int = 3) -> tuple[list[bytes], dict[str, int]]:
    """February: 40 engaged users. March: 60 engaged, 25 only AUDIENCE_JOINED, 10 both."""
    rng = random.Random(seed)
    feb = MARCH - timedelta(days=28)
    bodies = [
        wll_event("ORDER_PLACED", f"f{u}", feb + timedelta(days=rng.randint(0, 27), hours=9))
        for u in range(40)
    ]
    for u in range(60):
        for _ in range(rng.randint(1, 4)):
            at = MARCH + timedelta(days=rng.randint(0, 30), minutes=rng.randint(0, 1439))
            kind = rng.choice(["ORDER_PLACED", "SUBMITTED_CODE", "REDEEMED_VOUCHER"])
            bodies.append(wll_event(kind, f"m{u}", at, amount=rng.randint(1, 90)))
    for u in range(10):  # engaged users who also joined an audience
        bodies.append(wll_event("AUDIENCE_JOINED", f"m{u}", MARCH + timedelta(days=5)))
    for u in range(25):  # the seed's warning: users who did nothing but join an audience
        at = MARCH + timedelta(days=6, seconds=u)
        bodies.append(wll_event("AUDIENCE_JOINED", f"idle{u}", at, audience="over-a-year"))
    for u in range(3):
        at = MARCH + timedelta(days=7, seconds=u)
        bodies.append(wll_event("AUDIENCE_LEFT", f"gone{u}", at))
    rng.shuffle(bodies)
    return bodies, {"mau": 88, "mau_engaged": 60, "feb": 40}


def test_month_gives_mau_with_and_without_system_only_users(loyal, smtp, tmp_path):
    bodies, expected = month_of_traffic()
    for body in bodies:
        assert loyal.post(PATH, body, HEADERS).status_code == 200
    settings = loyal.settings
    db = open_storage(settings)
    report = compute_report(db, settings, "loyal", datetime(2026, 4, 1, 2, tzinfo=UTC), MARCH)
    assert report.cycle.start == MARCH and report.cycle.end == datetime(2026, 4, 1, tzinfo=UTC)
    assert report.metric("mau").usage.used == expected["mau"]
    assert report.metric("mau_engaged").usage.used == expected["mau_engaged"]
    assert report.extras["system_only_users_by_event_type"] == {
        "AUDIENCE_JOINED": 25,
        "AUDIENCE_LEFT": 3,
    }
    assert report.extras["mau_by_month"] == {"2026-02": 40, "2026-03": 88}
    assert report.extras["growth_vs_previous_month"] == "+120.0%"
    lines = {ln.code: ln for ln in report.invoice.lines}
    assert "overage:mau" not in lines  # 88 of 100
    # Threshold email: 88 of 100 passes 80% and is sent once, naming the system-only users.
    run_reconciliation(db, settings, SmtpMailer(settings.email), datetime(2026, 3, 31, tzinfo=UTC))
    subjects = sorted(m["Subject"] for _, m in smtp.messages)
    assert subjects == [
        "[Meterwise] loyal: MAU 88% of 100, projected 89 by Apr 1",
        "[Meterwise] loyal: cycle Feb 1 to Mar 1 closed, invoice estimate $250.00",
    ]
    warning = next(t for t in smtp.texts() if "Why you are getting this" in t).replace("\r\n", "\n")
    assert "MAU reached 80% of the WLL 100 allowance (88 of 100)" in warning
    assert "mau_engaged: 60 used" in warning
    assert "system only users by event type:\n  AUDIENCE_JOINED: 25\n" in warning
    # The CLI shows the same figures.
    result = CliRunner().invoke(
        cli,
        [
            "report",
            "loyal",
            "--cycle",
            "2026-03-15",
            "--event-time",
            "--at",
            "2026-04-01T02:00:00Z",
        ],
        env={"WLL_SECRET": WLL_SECRET, "METERWISE_CONFIG": str(tmp_path / "meterwise.toml")},
    )
    assert result.exit_code == 0, result.output
    assert "system only users by event type:\n  AUDIENCE_JOINED: 25\n  AUDIENCE_LEFT: 3" in (
        result.output
    )
    assert "mau_engaged" in result.output


def test_overage_is_invoiced_at_the_contract_rate(loyal):
    start = MARCH + timedelta(days=1)
    for u in range(105):
        body = wll_event("ORDER_PLACED", f"buyer{u}", start + timedelta(minutes=u))
        assert loyal.post(PATH, body, HEADERS).status_code == 200
    report = compute_report(
        open_storage(loyal.settings),
        loyal.settings,
        "loyal",
        datetime(2026, 4, 1, 2, tzinfo=UTC),
        MARCH,
    )
    lines = {ln.code: ln for ln in report.invoice.lines}
    assert (lines["overage:mau"].quantity, lines["overage:mau"].amount) == (5, Decimal("2.00"))
    assert lines["subscription"].amount == Decimal("250.00")
