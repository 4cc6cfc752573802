"""CometChat end to end: Basic auth, per-trigger keys, a month of traffic, PCC, minutes, email."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from meterwise.config.settings import parse_settings
from meterwise.reconciler.job import run_reconciliation
from meterwise.reconciler.mailer import SmtpMailer
from meterwise.reconciler.reconcile import compute_report
from meterwise.storage import open_storage
from tests.conftest import LiveServer, config_like
from tests.traffic import (
    basic,
    cc_call_ended,
    cc_connection,
    cc_message,
    ms,
)

ENGINES = ("sqlite", "postgresql")  # the tests using `settings`/`live` run on both engines
START = datetime(2026, 3, 8, tzinfo=UTC)  # the cycle runs 2026-03-08 .. 2026-04-08
PATH = "/webhooks/cometchat/chat"


def config(db_path, smtp_port=None, plan="cometchat-1k", storage=None, **options):
    doc = {
        "storage": storage or {"path": str(db_path)},
        "accounts": [
            {
                "id": "chat",
                "provider": "cometchat",
                "plan": plan,
                "cycle_anchor": "2026-03-08",
                "alert_emails": ["ops@example.com"],
                "options": {
                    "basic_auth_user": "meterwise",
                    "basic_auth_password": "env:CC_PASSWORD",
                    "connection_idle_timeout_s": 3600,
                    **options,
                },
            }
        ],
    }
    if smtp_port:
        doc["email"] = {"host": "127.0.0.1", "port": smtp_port, "from": "meterwise@example.com"}
    return parse_settings(doc, {"CC_PASSWORD": "cc-pass-000001"}, "test")


@pytest.fixture
def chat(settings, clock, smtp):
    storage = config_like(settings)["storage"]  # the engine under test
    server = LiveServer(config(settings.storage_path, smtp.port, storage=storage), clock)
    server.thread.start()
    yield server
    server.server.shutdown()


def send(live, doc, headers=None):
    import json

    return live.post(PATH, json.dumps(doc).encode(), headers or basic())


def report_of(live, as_of, cycle=None):
    settings = live.settings
    return compute_report(open_storage(settings), settings, "chat", as_of, cycle)


def test_basic_auth_is_required_and_checked(chat):
    doc = cc_message("m1", "alice", int(START.timestamp()) + 60)
    missing = send(chat, doc, {"Content-Type": "application/json"})
    wrong = send(chat, doc, basic(password="nope"))
    garbled = send(chat, doc, {"Content-Type": "application/json", "Authorization": "Basic %%%"})
    assert (missing.status_code, missing.json()["error"]) == (401, "auth_missing")
    assert (wrong.status_code, wrong.json()["error"]) == (401, "auth_mismatch")
    assert (garbled.status_code, garbled.json()["error"]) == (401, "auth_malformed")
    assert chat.count() == 0
    ok = send(chat, doc)  # "Application/json", as CometChat sends it
    assert ok.status_code == 200 and ok.json()["status"] == "stored"


def test_duplicates_by_documented_keys_are_stored_once(chat):
    t = int(START.timestamp()) + 600
    first = cc_message("m1", "alice", t)
    retried = cc_message("m1", "alice", t)
    retried["data"]["message"]["updatedAt"] = t + 5  # a retry may differ in other fields
    ended = cc_call_ended("s1", t, [(0, 60, True), (5, 65, False)])
    assert send(chat, first).json()["status"] == "stored"
    assert send(chat, retried).json()["status"] == "duplicate"
    assert send(chat, ended).json()["status"] == "stored"
    assert send(chat, ended).json()["status"] == "duplicate"
    keys = [k for (k,) in chat.query("SELECT idempotency_key FROM events ORDER BY id")]
    assert keys == ["wh1:message_sent:m1", f"wh1:call_ended:s1:{t + 65}"]
    assert chat.count("call_sessions") == 1


def generate_month(seed: int = 7):
    """A cycle of traffic with known answers: MAU, peak connections, voice and video minutes."""
    rng = random.Random(seed)
    docs, expected_users = [], set()
    for u in range(80):  # background users: 1-3 short sessions each, never on day 12
        uid = f"user{u}"
        for _ in range(rng.randint(1, 3)):
            day = rng.choice([d for d in range(30) if d != 12])
            at = START + timedelta(days=day, minutes=rng.randint(0, 1400))
            docs.append(cc_connection(uid, "connected", ms(at), ms(at)))
            left = at + timedelta(minutes=rng.randint(1, 15))
            docs.append(cc_connection(uid, "disconnected", ms(at), ms(left)))
        expected_users.add(uid)
    peak_at = START + timedelta(days=12, hours=14)
    for p in range(31):  # the seed's peak: 31 users on two devices each = 62 connections
        uid = f"peak{p}"
        for k, platform in enumerate(("web", "ios")):
            at = peak_at - timedelta(minutes=30 - p % 20, seconds=k)
            docs.append(cc_connection(uid, "connected", ms(at), ms(at), platform))
            end = peak_at + timedelta(minutes=5 + p % 7)
            docs.append(cc_connection(uid, "disconnected", ms(at), ms(end), platform))
        expected_users.add(uid)
    for r in range(5):  # REST-only senders still count
        sent = START + timedelta(days=3 + r, hours=2)
        docs.append(cc_message(f"rest-{r}", f"rest{r}", int(sent.timestamp())))
        expected_users.add(f"rest{r}")
    zombie = START + timedelta(days=20, hours=3)  # killed client: never sends disconnected
    docs.append(cc_connection("user1", "connected", ms(zombie), ms(zombie), "android"))
    before = START - timedelta(days=2)  # last cycle: not this cycle's MAU
    docs.append(cc_connection("old", "connected", ms(before), ms(before)))
    voice = video = 0
    for c in range(20):
        created = int((START + timedelta(days=c, hours=9)).timestamp())
        occupants = [(0, 60 * (c + 1), c % 2 == 0), (10, 30 * (c + 2), c % 2 == 0)]
        for joined, left, audio in occupants:
            if audio:
                voice += left - joined
            else:
                video += left - joined
        docs.append(cc_call_ended(f"call{c}", created, occupants))
    rng.shuffle(docs)  # arrival order does not matter
    return docs, len(expected_users), Decimal(voice) / 60, Decimal(video) / 60


def test_a_month_of_traffic_gives_known_mau_pcc_minutes_and_invoice(chat, smtp):
    docs, mau, voice, video = generate_month()
    for doc in docs:
        assert send(chat, doc).status_code == 200
    for doc in docs[:15]:  # CometChat retries after 10 s and 30 s
        assert send(chat, doc).json()["status"] == "duplicate"
    settings = chat.settings
    db = open_storage(settings)
    report = compute_report(db, settings, "chat", START + timedelta(days=31, hours=2), START.date())
    assert report.metric("mau").usage.used == mau == 116
    pcc = report.metric("pcc")
    assert (pcc.usage.used, pcc.allowance, pcc.overage_units) == (62, 50, 12)
    assert pcc.overage_amount == Decimal("12.00")  # the seed: 62 at peak on 1,000 MAU
    assert any("closed after connection_idle_timeout_s = 3600" in n for n in pcc.usage.notes)
    assert any(n == "peak at 2026-03-20 13:49 UTC" for n in pcc.usage.notes)
    assert report.metric("voice_minutes").usage.used == voice.quantize(Decimal("0.01"))
    assert report.metric("video_minutes").usage.used == video.quantize(Decimal("0.01"))
    lines = {ln.code: ln for ln in report.invoice.lines}
    assert lines["overage:pcc"].amount == Decimal("12.00")
    assert lines["usage:voice_minutes"].unit_price == Decimal("0.001")
    assert lines["usage:video_minutes"].unit_price == Decimal("0.003")
    assert lines["usage:video_minutes"].amount == (video * Decimal("0.003")).quantize(
        Decimal("0.01")
    )
    assert "overage:mau" not in lines  # 116 of 1,000
    # The scheduled pass on day 13 warns by email, once.
    run_reconciliation(db, settings, SmtpMailer(settings.email), START + timedelta(days=13))
    run_reconciliation(db, settings, SmtpMailer(settings.email), START + timedelta(days=14))
    assert len(smtp.messages) == 1
    text = smtp.texts()[0]
    assert "PCC reached 100% of the CometChat 1,000 MAU allowance (62 of 50)" in text
    assert "pcc: 62 used of 50" in text


def test_devices_count_separately_when_the_contract_says_so(db_path, clock):
    server = LiveServer(config(db_path, count_devices=True), clock)
    server.thread.start()
    try:
        at = START + timedelta(days=1)
        for platform in ("web", "ios", "android"):
            doc = cc_connection("alice", "connected", ms(at), ms(at), platform)
            assert send(server, doc).status_code == 200
        report = report_of(server, START + timedelta(days=2))
        assert report.metric("mau").usage.used == 3
        assert report.metric("pcc").usage.used == 3
    finally:
        server.server.shutdown()


def test_minutes_per_session_is_a_plan_setting(tmp_path, clock):
    assert config(tmp_path / "x.db").catalog.get("cometchat-1k").minutes_per == "participant"
    doc = {
        "storage": {"path": str(tmp_path / "m.db")},
        "plans": {"cc-session": {"extends": "cometchat-1k", "minutes_per": "session"}},
        "accounts": [
            {
                "id": "chat",
                "provider": "cometchat",
                "plan": "cc-session",
                "cycle_anchor": "2026-03-08",
                "options": {
                    "basic_auth_user": "meterwise",
                    "basic_auth_password": "cc-pass-000001",
                },
            }
        ],
    }
    server = LiveServer(parse_settings(doc, {}, "test"), clock)
    server.thread.start()
    try:
        t = int((START + timedelta(days=1)).timestamp())
        two_watchers = cc_call_ended("s", t, [(0, 120, False), (0, 120, False)])
        assert send(server, two_watchers).status_code == 200
        report = report_of(server, START + timedelta(days=2))
    finally:
        server.server.shutdown()
    video = report.metric("video_minutes").usage
    assert video.used == Decimal("2.00")  # one 2-minute session, not 4 participant-minutes
    assert "per session" in video.notes[0]


def legacy(uid: str, kind: str, at: datetime, devices: list[str]) -> dict:
    """Legacy ``after_connection_status_changed``: lists every open connection of the user."""
    conns = [
        {"connected_at": str(ms(at)), "cometchat_device_id": d, "session_id": f"s-{d}"}
        for d in devices
    ]
    return {
        "trigger": "after_connection_status_changed",
        "webhook": "legacy",
        "data": {
            "user": {"uid": uid, "status": "online" if devices else "offline"},
            "event": {
                "type": kind,
                "at": str(ms(at)),
                "event_for": {"cometchat_device_id": devices[-1] if devices else "x"},
            },
            "connections": conns,
        },
    }


def test_legacy_snapshots_resync_open_connections(chat):
    at = START + timedelta(days=2)
    steps = [
        legacy("bob", "connected", at, ["d1"]),
        legacy("bob", "connected", at + timedelta(minutes=1), ["d1", "d2"]),
        legacy("bob", "connected", at + timedelta(minutes=2), ["d1", "d2", "d3"]),
        # d1 and d2 died silently; the next snapshot says only d3 is open
        legacy("bob", "disconnected", at + timedelta(minutes=3), ["d3"]),
        legacy("carol", "connected", at + timedelta(minutes=4), ["c1"]),
    ]
    for doc in steps:
        assert send(chat, doc).json()["status"] == "stored"
    report = report_of(chat, at + timedelta(hours=1))
    assert report.metric("pcc").usage.used == 3  # never 4: the snapshot closed d1 and d2
    assert report.metric("mau").usage.used == 2
