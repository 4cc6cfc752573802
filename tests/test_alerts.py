"""Alerting end to end: real webhooks, real SQLite, a real SMTP server on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meterwise.config.settings import parse_settings
from meterwise.receiver.testing import Meeting
from meterwise.reconciler.job import run_reconciliation
from meterwise.reconciler.mailer import SmtpMailer
from meterwise.storage import connect, open_storage
from tests.conftest import SECOND_SECRET, LiveServer, base_config, config_like, storage_toml

ENGINES = ("sqlite", "postgresql")  # the tests using `settings`/`live` run on both engines

START = datetime(2026, 3, 8, tzinfo=UTC)


def make_settings(db_path, smtp_port, storage=None, **account):
    doc = base_config(
        db_path, plan="small", alert_emails=["ops@example.com", "cfo@example.com"], **account
    )
    if storage:
        doc["storage"] = storage
    doc["plans"] = {
        "small": {
            "extends": "jaas-basic",
            "name": "Small",
            "price": "20.00",
            "allowances": {"mau": 20},
        },
        "large": {
            "extends": "jaas-basic",
            "name": "Large",
            "price": "40.00",
            "allowances": {"mau": 100},
        },
    }
    doc["email"] = {"host": "127.0.0.1", "port": smtp_port, "from": "meterwise@example.com"}
    return parse_settings(doc, {"ACME_WHSEC_2": SECOND_SECRET}, "test")


def post_devices(live: LiveServer, day: int, devices: list[str], session: str) -> None:
    meeting = Meeting(session, int((START + timedelta(days=day, hours=10)).timestamp() * 1000))
    for i, device in enumerate(devices):
        meeting.join(device, f"user-{device}" if i == 0 else None, moderator=i == 0)
    for doc in meeting.events:
        assert live.send(doc).status_code == 200


@pytest.fixture
def live_small(settings, clock, smtp):
    storage = config_like(settings)["storage"]  # the engine under test
    settings = make_settings(settings.storage_path, smtp.port, storage=storage)
    server = LiveServer(settings, clock)
    server.thread.start()
    yield server
    server.server.shutdown()


def test_threshold_email_arrives_with_subject_parts_and_figures(live_small, smtp):
    post_devices(live_small, 1, [f"d{i}" for i in range(19)], "m1")  # 19 of 20 = 95%
    settings = live_small.settings
    db = open_storage(settings)
    now = START + timedelta(days=2)
    result = run_reconciliation(db, settings, SmtpMailer(settings.email), now)
    assert [d.status for d in result.deliveries] == ["sent"]
    assert len(smtp.messages) == 1
    rcpt, msg = smtp.messages[0]
    assert rcpt == ["ops@example.com", "cfo@example.com"]
    assert msg["Subject"].startswith("[Meterwise] acme: MAU 95% of 20, projected ")
    assert msg["From"] == "meterwise@example.com"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "MAU reached 90% of the Small allowance (19 of 20)" in text
    assert "mau: 19 used of 20 (95%)" in text
    assert "days left" in text and "stay on Small" in text and "upgrade now to Large" in text
    assert "Recommendation:" in text
    assert "<h2>" in html and "19 used of 20" in html
    # A second pass, and a restart, never repeat it.
    run_reconciliation(db, settings, SmtpMailer(settings.email), now + timedelta(hours=1))
    run_reconciliation(
        open_storage(settings),
        settings,
        SmtpMailer(settings.email),
        now + timedelta(hours=2),
    )
    assert len(smtp.messages) == 1


def test_smtp_down_then_up_delivers_exactly_once(live_small, smtp):
    post_devices(live_small, 1, [f"d{i}" for i in range(12)], "m1")  # 60%
    settings = live_small.settings
    db = open_storage(settings)
    smtp.stop()
    now = START + timedelta(days=2)
    t0 = now.timestamp()  # delivery runs on its own clock: here, one the test moves

    def at(seconds: float):
        return lambda: t0 + seconds

    first = run_reconciliation(db, settings, SmtpMailer(settings.email), now, clock=at(0))
    assert [d.status for d in first.deliveries] == ["retrying"]
    assert live_small.query("SELECT status, attempts FROM outbox") == [("pending", 1)]
    smtp.start()
    early = run_reconciliation(
        db, settings, SmtpMailer(settings.email), now + timedelta(seconds=30), clock=at(30)
    )
    assert early.deliveries == [] and smtp.messages == []  # backoff not yet over
    later = run_reconciliation(
        db, settings, SmtpMailer(settings.email), now + timedelta(minutes=2), clock=at(120)
    )
    assert [d.status for d in later.deliveries] == ["sent"]
    run_reconciliation(
        db, settings, SmtpMailer(settings.email), now + timedelta(minutes=10), clock=at(600)
    )
    assert len(smtp.messages) == 1
    assert "MAU reached 50%" in smtp.texts()[0]


def test_permanent_failure_is_recorded_and_shown(db_path, smtp):
    from click.testing import CliRunner

    from meterwise.receiver.cli import cli

    settings = make_settings(db_path, smtp.port)
    db = open_storage(settings)
    from meterwise.reconciler.mailer import MemoryMailer, OutgoingEmail, PermanentFailure
    from meterwise.reconciler.outbox import deliver, queued

    msg = OutgoingEmail("k1", ("x@example.com",), "subj", "t", "<p>t</p>")
    assert db.record_and_queue("acme", 0, [("mau", "threshold", "0.5")], queued(msg), 0)
    assert not db.record_and_queue("acme", 0, [("mau", "threshold", "0.5")], queued(msg), 0)
    out = deliver(db, MemoryMailer(fail_with=PermanentFailure("550 no such user")))
    assert [(d.status, d.error) for d in out] == [("failed", "550 no such user")]
    from tests.conftest import Clock

    server = LiveServer(settings, Clock())
    server.thread.start()
    try:
        metrics = server.session.get(server.url + "/metrics").text
    finally:
        server.server.shutdown()
    assert 'meterwise_outbox_messages{channel="email",status="failed"} 1' in metrics
    config = db_path.parent / "c.toml"
    config.write_text(f'[storage]\npath = "{db_path}"\n')
    result = CliRunner().invoke(cli, ["reconcile", "--config", str(config)])
    assert "outbox: 1 failed" in result.output
    assert "FAILED for good: acme: subj: 550 no such user" in result.output


def test_several_levels_at_once_make_one_email_naming_the_highest(live_small, smtp):
    post_devices(live_small, 1, [f"d{i}" for i in range(21)], "m1")  # 105%: all four levels
    settings = live_small.settings
    run_reconciliation(
        open_storage(settings),
        settings,
        SmtpMailer(settings.email),
        START + timedelta(days=2),
    )
    assert len(smtp.messages) == 1
    text = smtp.texts()[0]
    assert "MAU reached 100% of the Small allowance (21 of 20)" in text
    assert "reached 50%" not in text
    assert "(+$" in smtp.messages[0][1]["Subject"]


def test_a_new_cycle_rearms_the_rules(live_small, smtp):
    settings = live_small.settings
    db = open_storage(settings)
    post_devices(live_small, 1, [f"d{i}" for i in range(11)], "m1")
    run_reconciliation(db, settings, SmtpMailer(settings.email), START + timedelta(days=2))
    post_devices(live_small, 32, [f"d{i}" for i in range(11)], "m2")  # next cycle, same devices
    run_reconciliation(db, settings, SmtpMailer(settings.email), START + timedelta(days=33))
    subjects = [m["Subject"] for _, m in smtp.messages]
    assert sum("MAU 55% of 20" in s for s in subjects) == 2, subjects
    # The closed first cycle also got its final report, once.
    finals = [s for s in subjects if "closed, invoice estimate" in s]
    assert finals == ["[Meterwise] acme: cycle Mar 8 to Apr 8 closed, invoice estimate $20.00"]


def test_dry_run_changes_nothing(live_small, smtp, tmp_path):
    from click.testing import CliRunner

    from meterwise.receiver.cli import cli

    post_devices(live_small, 1, [f"d{i}" for i in range(19)], "m1")
    config = tmp_path / "c.toml"
    config.write_text(f"""
[storage]
{storage_toml(live_small.settings)}
[email]
host = "127.0.0.1"
port = {smtp.port}
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
    args = ["reconcile", "--at", "2026-03-10T00:00:00Z", "--config", str(config)]
    result = CliRunner().invoke(cli, [*args, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would send acme: [Meterwise] acme: MAU 95% of 20" in result.output
    assert smtp.messages == []
    result = CliRunner().invoke(cli, args)
    assert "queued acme:" in result.output and "sent: [Meterwise] acme: MAU 95%" in result.output
    assert len(smtp.messages) == 1


def growing(day: int, rng) -> list[str]:
    """8 people daily, plus 3 new people a day who come back half the time."""
    newcomers = [f"n{d}-{i}" for d in range(day) for i in range(3) if rng.random() < 0.5]
    return [f"team{i}" for i in range(8)] + newcomers + [f"n{day}-{i}" for i in range(3)]


def flat(day: int, rng) -> list[str]:
    """15 people who meet every day: 15 MAU all month."""
    return [f"team{i}" for i in range(15)]


def replay_month(db_path, clock, smtp, model, allowance: int):
    import random

    doc = base_config(db_path, plan="small", alert_emails=["ops@example.com"])
    doc["plans"] = {
        "small": {
            "extends": "jaas-basic",
            "name": "Small",
            "price": "20.00",
            "allowances": {"mau": allowance},
        }
    }
    doc["email"] = {"host": "127.0.0.1", "port": smtp.port}
    settings = parse_settings(doc, {"ACME_WHSEC_2": SECOND_SECRET}, "test")
    server = LiveServer(settings, clock)
    server.thread.start()
    rng = random.Random(3)
    emails_by_day: list[list[str]] = []
    try:
        db = connect(db_path)
        for day in range(30):
            devices = model(day, rng)
            for n in range(0, len(devices), 5):
                group = devices[n : n + 5]
                if len(group) >= 2:
                    post_devices(server, day, group, f"d{day}-m{n}")
            before = len(smtp.texts())
            run_reconciliation(
                db, settings, SmtpMailer(settings.email), START + timedelta(days=day + 1)
            )
            emails_by_day.append(smtp.texts()[before:])
    finally:
        server.server.shutdown()
    return emails_by_day


@pytest.mark.slow
def test_month_replay_warns_in_order_and_before_the_crossing(db_path, clock, smtp):
    days = replay_month(db_path, clock, smtp, growing, allowance=60)
    events = [
        (day, line.strip())
        for day, texts in enumerate(days)
        for text in texts
        for line in text.splitlines()
        if line.startswith("  - ")
    ]
    thresholds = [(d, e) for d, e in events if "reached" in e]
    assert [e.split(" reached ")[1].split(" ")[0] for _, e in thresholds] == [
        "50%",
        "80%",
        "90%",
        "100%",
    ]
    crossed_day = thresholds[-1][0]
    forecasts = [d for d, e in events if "is forecast to exceed the Small allowance of 60" in e]
    assert forecasts, events
    assert forecasts[0] < crossed_day  # warned before the overage happened
    print(
        f"growing account: first forecast warning on day {forecasts[0] + 1}, allowance "
        f"crossed on day {crossed_day + 1}"
    )
    assert len(set(thresholds)) == len(thresholds)  # once each


@pytest.mark.slow
def test_flat_account_under_its_allowance_gets_no_forecast_warning(db_path, clock, smtp):
    days = replay_month(db_path, clock, smtp, flat, allowance=20)
    texts = [t for day in days for t in day]
    assert not any("is forecast to exceed" in t for t in texts)
    assert [t.count("reached 50%") for t in texts] == [1]  # 15 of 20 on day one; never 80%
