"""Custom events end to end: Standard Webhooks signatures, batches, growth, segments, privacy."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner

from meterwise.config.settings import parse_settings
from meterwise.receiver.cli import cli
from meterwise.reconciler.job import run_reconciliation
from meterwise.reconciler.mailer import SmtpMailer
from meterwise.reconciler.reconcile import compute_report
from meterwise.storage import open_storage
from tests.conftest import LiveServer, storage_toml
from tests.traffic import EVENTS_SECRET, app_event, standard_headers

ENGINES = ("sqlite", "postgresql")  # the tests using `settings`/`live` run on both engines
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
PATH = "/webhooks/events/bot"
CONFIG = """
[storage]
{storage}
[email]
host = "127.0.0.1"
port = {port}
[plans.bot-50]
extends = "events-standard"
name = "Bot 50"
price = "30.00"
allowances = {{ mau = 50 }}
overage_rates = {{ mau = "0.25" }}
[[accounts]]
id = "bot"
provider = "events"
plan = "bot-50"
cycle_anchor = "2026-01-01"
timezone = "Europe/Berlin"
webhook_secrets = ["env:BOT_WHSEC"]
alert_emails = ["ops@example.com"]
options = {{ pseudonymize = {pseudo}, pseudonymize_key = "env:BOT_PSEUDO_KEY" }}
"""
ENV = {"BOT_WHSEC": EVENTS_SECRET, "BOT_PSEUDO_KEY": "pepper-0000000001"}


def settings_for(tmp_path, port, pseudo=False, storage=None):
    import tomllib

    storage = storage or f'path = "{tmp_path / "bot.db"}"'
    text = CONFIG.format(storage=storage, port=port, pseudo=str(pseudo).lower())
    path = tmp_path / "meterwise.toml"
    path.write_text(text)
    return parse_settings(tomllib.loads(text), ENV, str(path)), path


def start(settings, clock):
    server = LiveServer(settings, clock)
    server.thread.start()
    return server


@pytest.fixture
def bot(tmp_path, clock, smtp, settings):
    settings, _ = settings_for(tmp_path, smtp.port, storage=storage_toml(settings))
    server = start(settings, clock)
    yield server
    server.server.shutdown()


def post(live, doc, msg_id, t=None, secret=EVENTS_SECRET):
    body = json.dumps(doc).encode()
    return live.post(PATH, body, standard_headers(body, msg_id, t or int(time.time()), secret))


def test_signatures_are_checked_and_malformed_headers_are_401(bot):
    doc = app_event("u1", "message", MARCH + timedelta(days=2))
    body = json.dumps(doc).encode()
    good = standard_headers(body, "msg_1", int(time.time()))
    cases = {
        "signature_mismatch": {**good, "webhook-signature": "v1,AAAA"},
        "signature_malformed": {**good, "webhook-signature": "v1,%%% not base64"},
        "signature_stale": standard_headers(body, "msg_1", int(time.time()) - 301),
        "signature_missing": {k: v for k, v in good.items() if k != "webhook-signature"},
    }
    for expected, headers in cases.items():
        answer = bot.post(PATH, body, headers)
        assert answer.status_code == 401, (expected, answer.text)
        assert answer.json()["error"].startswith("signature_")
    wrong_secret = post(bot, doc, "msg_1", secret="whsec_" + "A" * 32)
    assert wrong_secret.status_code == 401
    assert bot.count() == 0
    assert bot.post(PATH, body, good).json()["status"] == "stored"
    assert bot.post(PATH, body, good).json()["status"] == "duplicate"


def test_a_batch_is_stored_atomically_with_one_key_per_element(bot):
    day = MARCH + timedelta(days=3)
    batch = [app_event(f"u{i}", "message", day + timedelta(minutes=i)) for i in range(3)]
    broken = [*batch, {"user": "u9", "event": "message"}]  # no timestamp
    answer = post(bot, broken, "msg_b0")
    assert (answer.status_code, answer.json()["error"]) == (422, "missing_fields")
    assert "event[3]" in answer.json()["detail"]
    assert bot.count() == 0
    assert post(bot, batch, "msg_b1").json() == {"status": "stored", "events": 3}
    assert post(bot, batch, "msg_b1").json()["status"] == "duplicate"
    keys = [k for (k,) in bot.query("SELECT idempotency_key FROM events ORDER BY id")]
    assert keys == ["msg_b1\n0", "msg_b1\n1", "msg_b1\n2"]


def history(seed=11):
    """January 20 users, February 40, March 58 (with a country property on each event)."""
    rng = random.Random(seed)
    months = [(datetime(2026, 1, 1, tzinfo=UTC), 20), (datetime(2026, 2, 1, tzinfo=UTC), 40)]
    months.append((MARCH, 58))
    batches, countries = [], {}
    for first, users in months:
        events = []
        for u in range(users):
            country = ["DE", "FR", "US"][u % 3]
            countries.setdefault(first.month, {}).setdefault(country, 0)
            countries[first.month][country] += 1
            for _ in range(rng.randint(1, 3)):
                at = first + timedelta(days=rng.randint(1, 26), minutes=rng.randint(0, 1400))
                events.append(app_event(f"user-{u}", "message", at, country=country))
        rng.shuffle(events)
        batches += [events[i : i + 25] for i in range(0, len(events), 25)]
    return batches, countries[3]


def test_months_of_events_give_mau_growth_seasonality_segments_and_invoice(bot, smtp, tmp_path):
    batches, march_countries = history()
    for i, batch in enumerate(batches):
        assert post(bot, batch, f"msg_{i}").status_code == 200
    settings = bot.settings
    db = open_storage(settings)
    as_of = datetime(2026, 4, 1, 6, tzinfo=UTC)
    report = compute_report(db, settings, "bot", as_of, MARCH.date(), segment="country")
    assert report.metric("mau").usage.used == 58
    assert report.extras["mau_by_month"] == {"2026-01": 20, "2026-02": 40, "2026-03": 58}
    assert report.extras["growth_vs_previous_month"] == "+45.0%"
    assert report.extras["segments"] == {"country": march_countries}
    assert sum(march_countries.values()) == 58
    lines = {ln.code: ln for ln in report.invoice.lines}
    assert (lines["overage:mau"].quantity, lines["overage:mau"].amount) == (8, Decimal("2.00"))
    # Alerts cross 50/80/90/100% of 50 in March: one email for the pass, not one per level.
    run_reconciliation(db, settings, SmtpMailer(settings.email), datetime(2026, 3, 29, tzinfo=UTC))
    warnings = [m for _, m in smtp.messages if "MAU 1" in m["Subject"]]
    assert len(warnings) == 1
    assert (
        "MAU reached 100% of the Bot 50 allowance" in warnings[0].get_body(("plain",)).get_content()
    )
    # The CLI's segment option, against the same database.
    _, path = settings_for(tmp_path, smtp.port, storage=storage_toml(settings))
    out = CliRunner().invoke(
        cli,
        ["report", "bot", "--config", str(path), "--cycle", "2026-03-10"]
        + ["--event-time", "--at", "2026-04-01T06:00:00Z", "--segment", "country"]
        + ["--format", "json"],
        env=ENV,
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["extras"]["segments"]["country"] == march_countries
    assert data["metrics"]["mau"]["used"] == "58"


def test_pseudonymized_accounts_keep_counts_and_drop_identities(tmp_path, clock, smtp):
    settings, _ = settings_for(tmp_path, smtp.port, pseudo=True)
    server = start(settings, clock)
    try:
        day = MARCH + timedelta(days=4)
        people = [
            app_event(
                "alice@example.com", "message", day, name="Alice A", email="a@x.io", plan="pro"
            ),
            app_event("bob@example.com", "message", day, name="Bob B", phone="+4912345"),
            app_event("alice@example.com", "message", day + timedelta(hours=1)),
        ]
        assert post(server, people, "msg_p1").json()["events"] == 3
        single = app_event("carol@example.com", "message", day, email="c@x.io")
        assert post(server, single, "msg_p2").json()["events"] == 1
        stored = (
            b"".join(bytes(b) for (b,) in server.query("SELECT body FROM events"))
            + json.dumps(server.query("SELECT * FROM custom_events")).encode()
        )
        entities = server.query("SELECT entity FROM entity_first_seen")
    finally:
        server.server.shutdown()
    for secret in (b"alice", b"bob", b"carol", b"Alice A", b"a@x.io", b"+4912345", b"c@x.io"):
        assert secret not in stored
    assert b'"plan": "pro"' in stored  # other properties stay
    assert len(entities) == 3 and all(e.startswith("u_") for (e,) in entities)
    report = compute_report(open_storage(settings), settings, "bot", day + timedelta(days=1))
    assert report.metric("mau").usage.used == 3
