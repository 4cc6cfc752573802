"""Alert channels end to end: Slack, Teams and signed webhooks delivered to real HTTP
receivers on loopback, exactly once, beside email; retries, Retry-After, permanent failures,
the at-least-once window under SIGKILL, and a month replayed day by day."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
import requests
import tomli_w
from click.testing import CliRunner
from standardwebhooks.webhooks import Webhook

from meterwise.config.errors import ConfigError
from meterwise.config.settings import parse_settings
from meterwise.receiver.cli import cli
from meterwise.receiver.openapi import openapi_document
from meterwise.receiver.testing import Meeting
from meterwise.reconciler.job import run_reconciliation
from meterwise.reconciler.mailer import SmtpMailer
from meterwise.reconciler.outbox import CLAIM_S, channel_map, deliver
from meterwise.reconciler.poster import HttpPoster
from meterwise.storage import open_storage
from tests.conftest import SECOND_SECRET, Clock, LiveServer, base_config
from tests.receivers import receivers

START = datetime(2026, 3, 8, tzinfo=UTC)
OUT_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ENV = {"ACME_WHSEC_2": SECOND_SECRET, "OUT_WHSEC": OUT_SECRET}
ENGINES = ("sqlite", "postgresql")  # every test using storage runs on both engines


def config(store_at, urls, smtp_port=None, **webhook):
    doc = base_config(store_at, plan="small", alert_emails=["ops@example.com"])
    doc["plans"] = {"small": {"extends": "jaas-basic", "name": "Small", "allowances": {"mau": 20}}}
    doc["accounts"][0]["alert_channels"] = [
        {"kind": "slack", "url": urls[0]},
        {"kind": "teams", "url": urls[1]},
        {"kind": "webhook", "url": urls[2], "secret": "env:OUT_WHSEC", **webhook},
    ]
    doc["server"] = {"public_url": "https://mw.example"}
    if smtp_port:
        doc["email"] = {"host": "127.0.0.1", "port": smtp_port}
    return doc


def grow(live: LiveServer, days: int, per_day: int = 2, first: int = 0) -> None:
    """A growing team: ``per_day`` new devices a day, through the real receiver."""
    for day in range(first, first + days):
        at = int((START + timedelta(days=day, hours=10)).timestamp() * 1000)
        meeting = Meeting(f"daily-{day}", at, room="standup")
        for i in range(per_day):
            meeting.join(f"dev-{day}-{i}", f"lead-{day}" if i == 0 else None, moderator=i == 0)
        for event in meeting.events:
            assert live.send(event).status_code == 200


@pytest.fixture
def hooks():
    with receivers(3) as started:
        yield started


@pytest.fixture
def site(store_at, hooks, smtp):
    settings = parse_settings(config(store_at, [h.url for h in hooks], smtp.port), ENV, "t")
    live = LiveServer(settings, Clock())
    live.thread.start()
    grow(live, 9)  # 18 of 20 MAU: 50%, 80% and 90% reached, forecast to cross
    yield live
    live.server.shutdown()


def test_each_channel_gets_the_alert_once_and_the_webhook_verifies(site, hooks, smtp):
    settings = site.settings
    store = open_storage(settings)
    now = START + timedelta(days=9, hours=12)
    result = run_reconciliation(store, settings, SmtpMailer(settings.email), now)
    assert {d.channel.partition(":")[0] for d in result.deliveries if d.status == "sent"} == {
        "email",
        "slack",
        "teams",
        "webhook",
    }
    slack, teams, webhook = hooks
    assert len(slack.got) == 1 and len(teams.got) == 1 and len(smtp.messages) == 1
    blocks = slack.got[0].json()["blocks"]
    assert blocks[0]["type"] == "header" and "90%" in json.dumps(blocks)
    assert any(b.get("type") == "actions" for b in blocks)  # the report link
    assert "https://mw.example/accounts/acme" in json.dumps(blocks)
    card = teams.got[0].json()["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard" and card["content"]["version"] == "1.4"
    # One signed body per alert: verified by the official package, not our code.
    types = []
    for got in webhook.got:
        payload = Webhook(OUT_SECRET).verify(got.body, got.headers)
        types.append(payload["type"])
        assert got.headers["webhook-id"].startswith(result.queued[0][1].key + "/webhook:")
    alerts = result.queued[0][2]
    assert sorted(types) == sorted(f"alert.{a.rule}" for a in alerts) and "alert.threshold" in types
    schema = openapi_document()["components"]["schemas"]["ChannelEvent"]
    for got in webhook.got:  # the body documented in /openapi.json is the body sent
        jsonschema.validate(got.json(), schema)
    threshold = next(g.json() for g in webhook.got if g.json()["type"] == "alert.threshold")
    data = threshold["data"]
    assert data["account"] == "acme" and data["provider"] == "jaas" and data["metric"] == "mau"
    assert data["used"] == "18" and data["allowance"] == 20 and data["level"] == "warning"
    assert set(data["forecast"]) == {"value", "low", "high", "confidence", "method"}
    assert data["projected_crossing"] and data["overage"]["so_far"] == "0.00"
    assert data["recommendation"]["cheapest"]["total"]
    assert data["links"]["report"] == "https://mw.example/accounts/acme"
    # A second pass sends nothing again: exactly once per channel.
    run_reconciliation(store, settings, SmtpMailer(settings.email), now + timedelta(hours=1))
    assert (len(slack.got), len(teams.got), len(webhook.got)) == (1, 1, len(alerts))
    assert len(smtp.messages) == 1
    metrics = requests.get(site.url + "/metrics", timeout=30).text
    assert f'meterwise_outbox_messages{{channel="webhook",status="sent"}} {len(alerts)}' in metrics
    assert 'meterwise_outbox_messages{channel="slack",status="sent"} 1' in metrics
    store.close()


def test_500_then_200_delivers_once_with_the_same_webhook_id(site, hooks, smtp):
    settings = site.settings
    slack, teams, webhook = hooks
    webhook.script = [(500, {})]
    store = open_storage(settings)
    clock = Clock()
    clock.fixed = time.time()
    now = START + timedelta(days=9, hours=12)
    result = run_reconciliation(store, settings, SmtpMailer(settings.email), now, clock=clock)
    alerts = len(result.queued[0][2])  # one webhook body per alert (threshold, forecast)
    assert len(webhook.got) == alerts and len(slack.got) == 1  # the first refused; others fine
    ids = {webhook.got[0].headers["webhook-id"]}
    mailer, poster, channels = SmtpMailer(settings.email), HttpPoster(clock=clock), None
    channels = channel_map(settings.accounts)
    assert deliver(store, mailer, clock, poster=poster, channels=channels) == []  # not due yet
    clock.fixed += 61  # the first backoff
    done = deliver(store, mailer, clock, poster=poster, channels=channels)
    assert [d.status for d in done] == ["sent"]
    assert {webhook.got[-1].headers["webhook-id"]} == ids  # the same id again
    assert webhook.got[0].body == webhook.got[-1].body
    clock.fixed += 3600
    assert deliver(store, mailer, clock, poster=poster, channels=channels) == []
    assert len(webhook.got) == alerts + 1 and len(slack.got) == 1 and len(smtp.messages) == 1
    store.close()


def test_429_retry_after_is_honoured(site, hooks, smtp):
    settings = site.settings
    slack, _, _ = hooks
    slack.script = [(429, {"Retry-After": "2"})]
    store = open_storage(settings)
    clock = Clock()
    clock.fixed = time.time()
    now = START + timedelta(days=9, hours=12)
    result = run_reconciliation(store, settings, SmtpMailer(settings.email), now, clock=clock)
    assert any(d.status == "retrying" and "429" in (d.error or "") for d in result.deliveries)
    mailer, poster = SmtpMailer(settings.email), HttpPoster(clock=clock)
    channels = channel_map(settings.accounts)
    clock.fixed += 1
    assert deliver(store, mailer, clock, poster=poster, channels=channels) == []
    clock.fixed += 1.5  # 2.5 s after: due (not the 60 s backoff)
    assert [d.status for d in deliver(store, mailer, clock, poster=poster, channels=channels)] == [
        "sent"
    ]
    assert len(slack.got) == 2 and slack.got[0].body == slack.got[1].body
    store.close()


def test_a_404_is_permanent_and_does_not_block_the_email(site, store_at, hooks, smtp, tmp_path):
    settings = site.settings
    _, teams, _ = hooks
    teams.script = [(404, {})]
    store = open_storage(settings)
    now = START + timedelta(days=9, hours=12)
    result = run_reconciliation(store, settings, SmtpMailer(settings.email), now)
    failed = [d for d in result.deliveries if d.status == "failed"]
    assert len(failed) == 1 and failed[0].channel.startswith("teams:") and "404" in failed[0].error
    assert len(smtp.messages) == 1  # the email went anyway
    store.close()
    metrics = requests.get(site.url + "/metrics", timeout=30).text
    assert 'meterwise_outbox_messages{channel="teams",status="failed"} 1' in metrics
    assert 'meterwise_outbox_messages{channel="email",status="sent"} 1' in metrics
    doc = config(store_at, [h.url for h in hooks], smtp.port)
    out = CliRunner().invoke(
        cli, ["reconcile", "--config", to_toml(tmp_path, doc)], env={**os.environ, **ENV}
    )
    assert "FAILED for good: acme: [teams]" in out.output and "404" in out.output


def to_toml(folder, doc) -> str:
    """A config document as a TOML file (for commands); its path."""
    path = folder / "meterwise.toml"
    path.write_text(tomli_w.dumps(doc))
    return str(path)


def test_sigkill_between_sent_and_marked_resends_with_the_same_webhook_id(
    store_at, hooks, tmp_path
):
    """The known at-least-once window: the receiver got the message, the process died before
    marking it sent; the retry carries the same webhook-id, so a receiver can drop it."""
    slack, teams, webhook = hooks
    doc = config(store_at, [h.url for h in hooks])
    doc["accounts"][0]["alert_channels"] = [doc["accounts"][0]["alert_channels"][2]]
    settings = parse_settings(doc, ENV, "t")
    live = LiveServer(settings, Clock())
    live.thread.start()
    grow(live, 9)
    live.server.shutdown()
    now = START + timedelta(days=9, hours=12)
    store = open_storage(settings)
    run_reconciliation(store, settings, SmtpMailer(settings.email), now, poster=_NoPost())
    store.close()  # queued, not sent: the subprocess sends
    (tmp_path / "doc.json").write_text(json.dumps(doc))
    webhook.hold = threading.Event()
    code = (
        "import json, sys\n"
        "from meterwise.config.settings import parse_settings\n"
        "from meterwise.reconciler.outbox import channel_map, deliver\n"
        "from meterwise.reconciler.poster import HttpPoster\n"
        "from meterwise.reconciler.mailer import SmtpMailer\n"
        "from meterwise.storage import open_storage\n"
        f"s = parse_settings(json.load(open({str(tmp_path / 'doc.json')!r})), "
        f"{ENV!r}, 't')\n"
        "deliver(open_storage(s), SmtpMailer(s.email), poster=HttpPoster(), "
        "channels=channel_map(s.accounts))\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    assert webhook.arrived.wait(30), "the child never posted"
    os.kill(child.pid, signal.SIGKILL)  # the receiver has the body; nothing marked it sent
    child.wait(10)
    webhook.hold.set()
    assert child.returncode == -signal.SIGKILL
    first = webhook.got[0]
    store = open_storage(settings)
    clock = Clock()
    clock.fixed = time.time() + CLAIM_S + 1  # the dead child's claim has expired
    done = deliver(
        store,
        SmtpMailer(settings.email),
        clock,
        poster=HttpPoster(),
        channels=channel_map(settings.accounts),
    )
    store.close()
    assert "sent" in [d.status for d in done]
    again = [g for g in webhook.got[1:] if g.headers["webhook-id"] == first.headers["webhook-id"]]
    assert again and again[0].body == first.body  # the same id and body: the receiver dedups
    Webhook(OUT_SECRET).verify(again[0].body, again[0].headers)


class _NoPost:
    """A poster that leaves every channel message pending (for queue-only passes)."""

    def post(self, channel, msg_id, body):
        from meterwise.reconciler.poster import RetryLater

        raise RetryLater("held back by the test", 0)  # due again at once


def test_a_month_replayed_day_by_day_reaches_each_channel_once_in_order(store_at, hooks, tmp_path):
    slack, teams, webhook = hooks
    doc = config(store_at, [h.url for h in hooks])
    settings = parse_settings(doc, ENV, "t")
    live = LiveServer(settings, Clock())
    live.thread.start()
    grow(live, 15)  # 2 a day: 50% on day 5, 80% on day 8, 90% on day 9, 100% on day 10
    live.server.shutdown()
    path = to_toml(tmp_path, doc)
    env = {**os.environ, **ENV}
    for day in range(32):  # to 2026-04-08 23:00: the cycle has closed
        at = (START + timedelta(days=day, hours=23)).isoformat()
        out = CliRunner().invoke(cli, ["reconcile", "--config", path, "--at", at], env=env)
        assert out.exit_code == 0, out.output
    levels = [
        g.json()["data"]["rule_level"].partition("@")[0]
        for g in webhook.got
        if g.json()["type"] == "alert.threshold"
    ]
    assert levels == ["0.5", "0.8", "0.9", "1.0"]
    for hook in (slack, teams):
        texts = [g.body.decode() for g in hook.got]
        seen = [p for t in texts for p in ("50%", "80%", "90%", "100%") if f"reached {p}" in t]
        assert seen == ["50%", "80%", "90%", "100%"], hook.url
    # The cycle closes on 2026-04-08 (and its grace hour passes): its report reaches every
    # channel once, with the invoice estimate.
    closed = [g.json() for g in webhook.got if g.json()["type"] == "cycle.closed"]
    assert len(closed) == 1 and closed[0]["data"]["invoice"]["total"]
    for hook in (slack, teams):
        assert sum("closed, invoice estimate" in g.body.decode() for g in hook.got) == 1


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda c: c.update(colour="red"), "alert_channels[2].colour"),
        (lambda c: c.pop("url"), "alert_channels[2].url"),
        (lambda c: c.update(url="ftp://x.example/"), "alert_channels[2].url"),
        (lambda c: c.update(secret="not-whsec"), "alert_channels[2].secret"),
        (lambda c: c.update(secret="whsec_!!!"), "alert_channels[2].secret"),
        (lambda c: c.update(events=["everything"]), "alert_channels[2].events"),
        (lambda c: c.update(min_level="loud"), "alert_channels[2].min_level"),
        (lambda c: c.update(kind="pager"), "alert_channels[2].kind"),
    ],
)
def test_bad_channel_config_fails_at_start_naming_the_key(db_path, change, key):
    doc = config(db_path, ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b", "http://127.0.0.1:9/c"])
    change(doc["accounts"][0]["alert_channels"][2])
    with pytest.raises(ConfigError) as caught:
        parse_settings(doc, ENV, "t")
    assert caught.value.key == f"accounts[0].{key}" or caught.value.key.endswith(key)


def test_min_level_and_events_filter_what_a_channel_gets(store_at, hooks, smtp):
    doc = config(store_at, [h.url for h in hooks], smtp.port, min_level="critical")
    settings = parse_settings(doc, ENV, "t")
    live = LiveServer(settings, Clock())
    live.thread.start()
    grow(live, 9)
    store = open_storage(settings)
    run_reconciliation(
        store, settings, SmtpMailer(settings.email), START + timedelta(days=9, hours=12)
    )
    assert hooks[2].got == []  # 90% is a warning; this webhook wants critical only
    grow(live, 2, first=9)  # 22 of 20: critical
    run_reconciliation(
        store, settings, SmtpMailer(settings.email), START + timedelta(days=11, hours=12)
    )
    assert [g.json()["data"]["level"] for g in hooks[2].got] == ["critical"]
    live.server.shutdown()
    store.close()


def test_channels_test_sends_a_marked_message_to_each_channel(store_at, hooks, tmp_path):
    hooks[1].script = [(404, {})]
    doc = config(store_at, [h.url for h in hooks])
    out = CliRunner().invoke(
        cli,
        ["channels", "test", "acme", "--config", to_toml(tmp_path, doc)],
        env={**os.environ, **ENV},
    )
    assert out.exit_code == 1
    lines = out.output.splitlines()
    assert lines[0].startswith("slack slack:") and lines[0].endswith("delivered")
    assert lines[1].startswith("teams teams:") and "FAILED: teams: HTTP 404" in lines[1]
    assert lines[2].startswith("webhook webhook:") and lines[2].endswith("delivered")
    assert "TEST message" in hooks[0].got[0].body.decode()
    payload = Webhook(OUT_SECRET).verify(hooks[2].got[0].body, hooks[2].got[0].headers)
    assert payload["type"] == "test" and payload["data"]["test"] is True


@pytest.mark.parametrize(
    ("status", "outcome"), [(408, "retrying"), (503, "retrying"), (400, "failed"), (410, "failed")]
)
def test_which_answers_are_retried(site, hooks, smtp, status, outcome):
    settings = site.settings
    hooks[0].script = [(status, {})]
    store = open_storage(settings)
    result = run_reconciliation(
        store, settings, SmtpMailer(settings.email), START + timedelta(days=9, hours=12)
    )
    slack = [d for d in result.deliveries if d.channel.startswith("slack:")]
    assert [d.status for d in slack] == [outcome] and str(status) in (slack[0].error or "")
    store.close()


def test_timeouts_and_refused_connections_are_retried_then_given_up_after_72_hours(
    store_at, hooks, smtp
):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"  # bound, never listening
    hooks[1].hold = threading.Event()  # answers only after the poster gave up waiting
    doc = config(store_at, [refused, hooks[1].url, hooks[2].url], smtp.port)
    settings = parse_settings(doc, ENV, "t")
    live = LiveServer(settings, Clock())
    live.thread.start()
    grow(live, 9)
    live.server.shutdown()
    store = open_storage(settings)
    clock = Clock()
    clock.fixed = time.time()
    result = run_reconciliation(
        store,
        settings,
        SmtpMailer(settings.email),
        START + timedelta(days=9, hours=12),
        clock=clock,
        poster=HttpPoster(timeout_s=0.5, clock=clock),
    )
    by_kind = {d.channel.partition(":")[0]: d for d in result.deliveries}
    assert by_kind["slack"].status == "retrying" and "cannot connect" in by_kind["slack"].error
    assert by_kind["teams"].status == "retrying" and "no answer within" in by_kind["teams"].error
    assert by_kind["email"].status == "sent" and by_kind["webhook"].status == "sent"
    hooks[1].hold.set()
    clock.fixed += 72 * 3600 + 1  # still failing three days after it was queued: give up
    done = deliver(
        store,
        SmtpMailer(settings.email),
        clock,
        poster=HttpPoster(timeout_s=0.5, clock=clock),
        channels=channel_map(settings.accounts),
    )
    slack = next(d for d in done if d.channel.startswith("slack:"))
    assert slack.status == "failed" and "gave up after 72 h" in slack.error
    closed.close()
    store.close()
