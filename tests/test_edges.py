"""Numbers and warnings at the edges: upgrades, signup, proration days, projected invoices.

Each test sends signed webhooks through the real receiver, then reads the report, the advice
or the email the way a user does.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from meterwise.config.settings import parse_settings
from meterwise.receiver.testing import envelope
from meterwise.reconciler.advice import recommend
from meterwise.reconciler.message import subject_line
from meterwise.reconciler.projection import projected_invoice, projected_overage
from meterwise.reconciler.reconcile import compute_report
from meterwise.storage import open_storage
from tests.conftest import SECOND_SECRET, LiveServer, base_config, storage_line

ENV = {"ACME_WHSEC_2": SECOND_SECRET}
ENGINES = ("sqlite", "postgresql")  # every test here runs on both engines


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def start_live(store_at, clock, **account):
    server = LiveServer(parse_settings(base_config(store_at, **account), ENV, "t"), clock)
    server.thread.start()
    return server


def mailing_live(store_at, clock, smtp, **account):
    """The real receiver for an account that mails ``ops@example.com`` through ``smtp``."""
    doc = base_config(store_at, alert_emails=["ops@example.com"], **account)
    doc["email"] = {"host": "127.0.0.1", "port": smtp.port, "from": "mw@example.com"}
    settings = parse_settings(doc, ENV, "t")
    live = LiveServer(settings, clock)
    live.thread.start()
    return settings, live


def devices(live: LiveServer, when: datetime, names: list[str], session: str = "s") -> None:
    """One USAGE webhook listing ``names`` (in chunks: a real meeting lists its devices)."""
    for i in range(0, len(names), 100):
        chunk = [{"deviceId": n} for n in names[i : i + 100]]
        doc = envelope("USAGE", ms(when) + i, chunk, session_id=f"{session}-{i}")
        assert live.send(doc).status_code == 200


def recording(live: LiveServer, when: datetime, seconds: int, session: str) -> None:
    doc = envelope(
        "RECORDING_UPLOADED",
        ms(when),
        {"durationSec": seconds, "recordingSessionId": f"rec-{session}"},
        session_id=session,
    )
    assert live.send(doc).status_code == 200


FAQ = [{"at": "2026-03-23T12:00:00Z", "plan": "jaas-standard"}]
CYCLE = datetime(2026, 3, 8, tzinfo=UTC)


# 2. A projected overage never counts overage frozen before an upgrade twice.
def test_projected_overage_counts_frozen_overage_once(store_at, clock):
    live = start_live(store_at, clock, plan_changes=FAQ)
    try:
        devices(live, CYCLE + timedelta(days=1), [f"b{i}" for i in range(500)])
        for day in range(16, 24):  # steady growth after the upgrade
            names = [f"a{day}-{i}" for i in range(150)]
            devices(live, CYCLE + timedelta(days=day, hours=10), names, f"d{day}")
        db = open_storage(live.settings)
        now = CYCLE + timedelta(days=24)
        report = compute_report(db, live.settings, "acme", now)
        mau = report.metric("mau")
        assert mau is not None and mau.forecast is not None
        forecast = int(max(mau.usage.used, mau.forecast.value))
        assert forecast > 1700  # the forecast crosses Standard's 1,500 after 200 frozen units
        catalog = live.settings.catalog
        rate = catalog.get("jaas-standard").overage_rates["mau"]
        # The invoice rule: 200 units frozen at Basic's $0.99, then only what exceeds
        # 200 + 1,500 at Standard's rate. Never 200 again.
        expected = Decimal(200) * Decimal("0.99") + (forecast - 1700) * rate
        assert projected_overage(report, catalog, now, "mau") == expected.quantize(Decimal("0.01"))
        assert f"(+${expected:.2f} overage)" in subject_line(report, catalog)
    finally:
        live.server.shutdown()


# 3 and 18. The advice is the invoice the account gets if it takes it, usage charges included.
def test_advice_is_the_next_invoice_to_the_cent_with_usage_charges(store_at, clock):
    live = start_live(store_at, clock)
    try:
        devices(live, CYCLE + timedelta(days=2), [f"d{i}" for i in range(997)])
        db = open_storage(live.settings)
        catalog = live.settings.catalog
        now = datetime(2026, 3, 23, 7, 11, 13, tzinfo=UTC)  # an odd instant: odd proration
        # Nothing more arrives: the cycle's final figures are known, so the forecast holds.
        report = compute_report(db, live.settings, "acme", now)
        mau = report.metric("mau")
        assert mau is not None and mau.forecast is not None
        options = {o.plan_id: o for o in recommend(report, catalog, now)}
        stay = options["jaas-basic"]
        assert "jaas-standard" in options and "jaas-business" in options
        standard = options["jaas-standard"]
        # Take the advice: upgrade to Standard at `now`; the real invoice at cycle end.
        taken = parse_settings(
            base_config(store_at, plan_changes=[{"at": now.isoformat(), "plan": "jaas-standard"}]),
            ENV,
            "t",
        )
        final = compute_report(
            db, taken, "acme", CYCLE + timedelta(days=31, hours=2), date(2026, 3, 20)
        )
        # All 997 devices came on day 2: the forecast holds at 997, so the advice is exact.
        assert mau.forecast.value == mau.usage.used == 997
        assert final.invoice.total == standard.total
        assert final.invoice.lines == standard.invoice.lines
        taken_now = compute_report(db, taken, "acme", now)  # the same path, before the end
        assert projected_invoice(taken_now, catalog, now).total == standard.total
        # Staying: the real invoice of the cycle (no more usage) against the stay option.
        closed = compute_report(
            db, live.settings, "acme", CYCLE + timedelta(days=31, hours=2), date(2026, 3, 20)
        )
        assert closed.invoice.total == stay.total
        # Downgrading again next cycle is offered when it is cheaper.
        assert standard.downgrade_plan == "jaas-basic"
        assert standard.downgrade_total == standard.total - Decimal("499.00") + Decimal("99.00")
    finally:
        live.server.shutdown()


def test_the_alert_email_states_every_option_as_a_whole_invoice(store_at, clock, smtp):
    from meterwise.reconciler.job import run_reconciliation
    from meterwise.reconciler.mailer import SmtpMailer

    settings, live = mailing_live(store_at, clock, smtp)
    try:
        devices(live, CYCLE + timedelta(days=2), [f"d{i}" for i in range(400)])
        recording(live, CYCLE + timedelta(days=2), 6000, "r1")
        db = open_storage(settings)
        now = CYCLE + timedelta(days=4)
        run_reconciliation(db, settings, SmtpMailer(settings.email), now)
        text = smtp.messages[0][1].get_body(("plain",)).get_content()
        report = compute_report(db, settings, "acme", now)
        options = recommend(report, settings.catalog, now)
        for option in options:
            usage = option.charges("usage:recording_minutes")
            assert usage >= Decimal("1.00")  # 100 minutes so far at $0.01, and the forecast's
            assert f"{option.action}: ${option.total:.2f} (overage " in text
            assert f"usage ${usage:.2f}" in text
        assert len({o.charges("usage:") for o in options}) == 1  # the same usage on every course
        assert "if you go back to JaaS Basic next cycle" in text
    finally:
        live.server.shutdown()


# 11. Nothing is billed or counted before signup.
def test_cycles_before_the_cycle_anchor_bill_nothing(store_at, clock):
    live = start_live(store_at, clock, cycle_anchor="2026-03-08")
    try:
        devices(live, datetime(2026, 2, 20, tzinfo=UTC), ["early-1", "early-2"])
        db = open_storage(live.settings)
        before = compute_report(
            db, live.settings, "acme", datetime(2026, 3, 9, tzinfo=UTC), date(2026, 2, 20)
        )
        assert before.invoice.lines == ()
        mau = before.metric("mau")
        assert mau is not None and mau.usage.used == 0
        assert any("before the account's cycle_anchor" in n for n in before.notes)
        first = compute_report(db, live.settings, "acme", datetime(2026, 4, 9, tzinfo=UTC))
        assert first.invoice.total == Decimal("99.00")
    finally:
        live.server.shutdown()


# 14. Proration counts days in the account's time zone, across a DST change too.
@pytest.mark.parametrize("timezone", ["America/New_York", "UTC"])
def test_proration_counts_local_days_across_dst(store_at, clock, timezone):
    # New York: the cycle Feb 21 - Mar 21 2026 holds the DST change of Mar 8 (a 23-hour day).
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone)
    upgrade = datetime(2026, 3, 7, tzinfo=tz)  # local midnight, 14 of 28 days left
    live = start_live(
        store_at,
        clock,
        cycle_anchor="2026-02-21",
        timezone=timezone,
        plan_changes=[{"at": upgrade.isoformat(), "plan": "jaas-standard"}],
    )
    try:
        devices(live, datetime(2026, 2, 22, 12, tzinfo=UTC), ["d1"])
        db = open_storage(live.settings)
        report = compute_report(
            db, live.settings, "acme", datetime(2026, 3, 22, 12, tzinfo=UTC), date(2026, 3, 1)
        )
        lines = {ln.code: ln.amount for ln in report.invoice.lines}
        assert lines["proration_charge"] == Decimal("249.50")
        assert lines["proration_credit"] == Decimal("-49.50")
    finally:
        live.server.shutdown()


# 1. Alerts re-arm when the allowance changes, and say which plan they measure against.
def test_alerts_rearm_after_the_upgrade_they_recommend(store_at, clock, smtp):
    from meterwise.reconciler.job import run_reconciliation
    from meterwise.reconciler.mailer import SmtpMailer

    upgrade = CYCLE + timedelta(days=6)
    doc = base_config(
        store_at,
        alert_emails=["ops@example.com"],
        plan_changes=[{"at": upgrade.isoformat(), "plan": "jaas-standard"}],
    )
    doc["email"] = {"host": "127.0.0.1", "port": smtp.port, "from": "mw@example.com"}
    settings = parse_settings(doc, ENV, "t")
    live = LiveServer(settings, clock)
    live.thread.start()
    try:
        db = open_storage(settings)
        seen = 0
        for day, total in [(2, 200), (4, 320), (8, 800), (12, 1300), (16, 1500), (20, 1600)]:
            when = CYCLE + timedelta(days=day, hours=9)
            devices(live, when, [f"d{i}" for i in range(seen, total)], f"day{day}")
            seen = total
            run_reconciliation(db, settings, SmtpMailer(settings.email), when + timedelta(hours=1))
        bodies = [m.get_body(("plain",)).get_content() for _, m in smtp.messages]
        text = "\n".join(bodies)
        for share in ("50%", "100%"):  # 320 of 300: one email naming the highest level
            assert f"reached {share} of the JaaS Basic allowance" in text
        for share in ("50%", "80%", "100%"):  # the new plan's warnings all come
            assert f"reached {share} of the JaaS Standard allowance" in text, share
        standard = [b for b in bodies if "of the JaaS Standard allowance" in b]
        assert len(standard) >= 3  # 50% at 800, 80% at 1300, 90-100% at 1500
        # Each level of each plan once.
        lines = [ln.strip() for b in bodies for ln in b.splitlines() if " reached " in ln]
        assert len(lines) == len(set(lines))
    finally:
        live.server.shutdown()


def post(live: LiveServer, kind: str, when: datetime, data: dict, session: str) -> None:
    assert live.send(envelope(kind, ms(when), data, session_id=session)).status_code == 200


def minutes_of(report, metric: str) -> Decimal:
    m = report.metric(metric)
    assert m is not None
    return m.usage.used


# 5. A per-minute item across a cycle boundary is billed whole, once, where it ended.
def test_minutes_across_a_cycle_boundary_are_neither_lost_nor_doubled(store_at, clock):
    live = start_live(store_at, clock)
    try:
        boundary = datetime(2026, 4, 8, tzinfo=UTC)
        stream = {"participantId": "p-stream"}
        post(live, "LIVE_STREAM_STARTED", boundary - timedelta(minutes=9, seconds=30), stream, "s1")
        post(live, "LIVE_STREAM_ENDED", boundary + timedelta(minutes=20), stream, "s1")
        dial = {"participantId": "p-dial", "nick": "phone"}
        post(live, "DIAL_OUT_STARTED", boundary - timedelta(minutes=5), dial, "s2")
        post(live, "DIAL_OUT_ENDED", boundary + timedelta(minutes=5), dial, "s2")
        db = open_storage(live.settings)
        after = boundary + timedelta(days=1)
        march = compute_report(db, live.settings, "acme", after, date(2026, 4, 1))
        april = compute_report(db, live.settings, "acme", after)
        assert march.closed and not april.closed
        both = [
            (minutes_of(r, "streaming_minutes"), minutes_of(r, "dial_out_minutes"))
            for r in (march, april)
        ]
        assert both == [(0, 0), (30, 10)]  # 29.5 rounded up to 30; 10 minutes whole
        streaming = march.metric("streaming_minutes")
        assert streaming is not None and streaming.usage.open_intervals == 0
        recorded = {ln.code: ln.quantity for ln in april.invoice.lines}
        assert recorded["usage:streaming_minutes"] == 30
        assert recorded["usage:dial_out_minutes"] == 10
    finally:
        live.server.shutdown()


# 6. A lost ENDED bills at most open_interval_max_age_s, marked estimated and said so.
def test_a_lost_ended_is_capped_and_marked_estimated(store_at, clock, smtp):
    from meterwise.reconciler.message import compose_final

    live = start_live(store_at, clock)
    try:
        post(
            live,
            "SIP_CALL_OUT_STARTED",
            datetime(2026, 3, 20, 9, tzinfo=UTC),
            {"participantId": "p-sip"},
            "s-sip",
        )
        db = open_storage(live.settings)
        report = compute_report(
            db, live.settings, "acme", datetime(2026, 4, 8, 2, tzinfo=UTC), date(2026, 3, 20)
        )
        sip = report.metric("sip_minutes")
        assert sip is not None
        assert sip.usage.used == 240  # the 4 h cap, not 26,760 minutes
        assert sip.usage.estimated
        assert any("without ENDED" in n for n in sip.usage.notes)
        lines = {ln.code: ln.amount for ln in report.invoice.lines}
        assert lines["usage:sip_minutes"] == Decimal("14.40")
        email = compose_final(report, live.settings.catalog, ["ops@example.com"], report.as_of)
        assert "sip_minutes: 240 (estimated)" in email.text
    finally:
        live.server.shutdown()


# 7. Minutes are priced at the plan in force when they were used.
def test_minutes_are_priced_at_the_plan_in_force(store_at, clock):
    switch = datetime(2026, 3, 15, tzinfo=UTC)
    doc = base_config(
        store_at,
        plan="contract",
        plan_changes=[{"at": switch.isoformat(), "plan": "jaas-standard"}],
    )
    doc["plans"] = {
        "contract": {
            "extends": "jaas-basic",
            "name": "Contract",
            "usage_rates": {"recording_minutes": "0.02"},
        }
    }
    live = LiveServer(parse_settings(doc, ENV, "t"), clock)
    live.thread.start()
    try:
        recording(live, switch - timedelta(days=2), 600, "before")
        recording(live, switch + timedelta(days=2), 600, "after")
        db = open_storage(live.settings)
        report = compute_report(
            db, live.settings, "acme", datetime(2026, 4, 8, 2, tzinfo=UTC), date(2026, 3, 20)
        )
        usage = [
            (ln.description, ln.quantity, ln.amount)
            for ln in report.invoice.lines
            if ln.code == "usage:recording_minutes"
        ]
        assert usage == [
            ("recording minutes on Contract", 10, Decimal("0.20")),
            ("recording minutes on JaaS Standard", 10, Decimal("0.10")),
        ]
    finally:
        live.server.shutdown()


# 8. Transcription is estimated from first join to last leave, not the empty room.
def test_transcription_estimate_excludes_the_empty_room(store_at, clock):
    from meterwise.receiver.testing import Meeting

    live = start_live(store_at, clock)
    try:
        created = datetime(2026, 3, 10, 10, tzinfo=UTC)
        post(live, "ROOM_CREATED", created, {"conference": "room@x"}, "s-t")
        meeting = Meeting("s-t", ms(created + timedelta(minutes=2)))
        meeting.join("d1", "u1", moderator=True)
        for doc in meeting.events:
            assert live.send(doc).status_code == 200
        left = created + timedelta(minutes=2, seconds=30)
        post(
            live,
            "PARTICIPANT_LEFT",
            left + timedelta(minutes=10),
            {"participantId": "d1", "id": "u1", "name": "u1"},
            "s-t",
        )
        post(
            live,
            "ROOM_DESTROYED",
            created + timedelta(minutes=25, seconds=30),
            {"conference": "room@x"},
            "s-t",
        )
        post(
            live,
            "TRANSCRIPTION_UPLOADED",
            created + timedelta(minutes=30),
            {"preAuthenticatedLink": "https://x/t"},
            "s-t",
        )
        db = open_storage(live.settings)
        report = compute_report(db, live.settings, "acme", created + timedelta(hours=1))
        transcription = report.metric("transcription_minutes")
        assert transcription is not None
        assert transcription.usage.used < 25  # never the 25.5 minutes of the room
        assert transcription.usage.used == 11  # first join to last leave, rounded up
    finally:
        live.server.shutdown()


# 15. Recordings pair as the documented payloads allow: by the meeting's sessionId.
def test_uploaded_recordings_are_never_reported_as_lost(store_at, clock):
    live = start_live(store_at, clock)
    try:
        base = CYCLE + timedelta(days=1)
        for i in range(20):
            ended = base + timedelta(hours=i)
            post(live, "RECORDING_ENDED", ended, {"conference": f"room{i}@conference.x"}, f"m{i}")
            if i != 7:  # one upload lost
                data = {
                    "recordingSessionId": f"rs-{i}",
                    "durationSec": 600,
                    "initiatorId": "u1",
                    "preAuthenticatedLink": f"https://files.example/{i}.mp4",
                    "startTimestamp": ms(ended - timedelta(minutes=10)),
                    "endTimestamp": ms(ended),
                    "participants": [{"name": "u1", "id": "u1", "avatar": ""}],
                    "share": True,
                }
                post(live, "RECORDING_UPLOADED", ended + timedelta(minutes=1), data, f"m{i}")
        db = open_storage(live.settings)
        report = compute_report(db, live.settings, "acme", base + timedelta(days=2))
        check = next(c for c in report.checks if c.code == "recording_not_uploaded")
        assert check.count == 1
        assert check.examples[0].startswith("meeting m7: recording ended")
        assert minutes_of(report, "recording_minutes") == 190
    finally:
        live.server.shutdown()


# 13. What the figures mean: segments can overlap; rooms without a name say why.
def test_segments_and_rooms_say_what_they_count(store_at, clock):
    import json
    import time as _time

    from meterwise.reconciler.report import render_table
    from tests.traffic import EVENTS_SECRET, app_event, standard_headers

    doc = {
        "storage": base_config(store_at)["storage"],
        "accounts": [
            {
                "id": "bot",
                "provider": "events",
                "plan": "events-standard",
                "cycle_anchor": "2026-03-01",
                "webhook_secrets": [EVENTS_SECRET],
            }
        ],
    }
    settings = parse_settings(doc, {}, "t")
    live = LiveServer(settings, clock)
    live.thread.start()
    try:
        when = datetime(2026, 3, 5, tzinfo=UTC)
        events = [
            app_event("alice", "m", when, country="DE"),
            app_event("alice", "m", when + timedelta(hours=1), country="FR"),
            app_event("bob", "m", when, country="FR"),
        ]
        body = json.dumps(events).encode()
        headers = standard_headers(body, "batch-1", int(_time.time()))
        assert live.post("/webhooks/events/bot", body, headers).status_code == 200
        db = open_storage(settings)
        report = compute_report(
            db, settings, "bot", datetime(2026, 3, 10, tzinfo=UTC), segment="country"
        )
        assert report.extras["segments"] == {"country": {"FR": 2, "DE": 1}}
        assert "can add up to more than the MAU" in report.extras["segments_note"]
        assert "can add up to more than the MAU" in render_table(report)
    finally:
        live.server.shutdown()


def test_rooms_without_room_created_are_labelled(store_at, clock):
    live = start_live(store_at, clock)
    try:
        devices(live, CYCLE + timedelta(days=1), ["d1", "d2"], "anon")
        db = open_storage(live.settings)
        report = compute_report(db, live.settings, "acme", CYCLE + timedelta(days=2))
        assert report.rooms == (("session anon-0 (no room name: ROOM_CREATED not received)", 2),)
    finally:
        live.server.shutdown()


# 16. Ingest failures raise an alert, once per kind and cycle, re-armed when they clear.
def test_ingest_failures_reach_people(store_at, clock, smtp):
    from meterwise.receiver.testing import Meeting
    from meterwise.reconciler.job import run_reconciliation
    from meterwise.reconciler.mailer import SmtpMailer

    settings, live = mailing_live(store_at, clock, smtp)
    try:
        db = open_storage(settings)
        now = datetime.now(UTC)
        for i in range(5):  # the provider signs with a rotated secret we do not have
            doc = envelope("USAGE", ms(now), [{"deviceId": f"d{i}"}])
            assert live.send(doc, secret="whsec_rotated0000000000000000000000").status_code == 401
        run_reconciliation(db, settings, SmtpMailer(settings.email), now)
        lost = [m for _, m in smtp.messages if "webhooks may be lost" in m["Subject"]]
        assert [m["Subject"] for m in lost] == [
            "[Meterwise] acme: webhooks may be lost: signature_rejections"
        ]
        text = lost[0].get_body(("plain",)).get_content()
        assert "Deliveries rejected for their signature or credentials (5)" in text
        count = len(smtp.messages)
        run_reconciliation(db, settings, SmtpMailer(settings.email), now + timedelta(minutes=15))
        assert len(smtp.messages) == count  # once per kind and cycle

        def meeting(session: str, with_usage: bool, at: datetime) -> None:
            m = Meeting(session, ms(at))
            m.join(f"{session}-a", "u1", moderator=True)
            m.join(f"{session}-b")
            for event in m.events:
                if with_usage or event["eventType"] != "USAGE":
                    assert live.send(event).status_code == 200

        start = now - timedelta(hours=3)
        meeting("lost-1", False, start)
        run_reconciliation(db, settings, SmtpMailer(settings.email), now + timedelta(minutes=30))
        assert smtp.messages[-1][1]["Subject"].endswith("usage_missing")
        # The USAGE arrives late: the finding clears, the alert re-arms...
        late = Meeting("lost-1", ms(start))
        late.join("lost-1-a", "u1", moderator=True)
        late.join("lost-1-b")
        for event in late.events:
            if event["eventType"] == "USAGE":
                live.send(event)
        run_reconciliation(db, settings, SmtpMailer(settings.email), now + timedelta(minutes=45))
        count = len(smtp.messages)
        # ...so the next lost meeting warns again.
        meeting("lost-2", False, start + timedelta(minutes=30))
        run_reconciliation(db, settings, SmtpMailer(settings.email), now + timedelta(hours=1))
        assert len(smtp.messages) == count + 1
        assert smtp.messages[-1][1]["Subject"].endswith("usage_missing")
    finally:
        live.server.shutdown()


# 17. An install in mid-cycle says so, trusts its forecast less, and mails no unseen cycle.
def test_a_partly_observed_first_cycle_says_so(store_at, clock, smtp):
    from meterwise.reconciler.html import render_html
    from meterwise.reconciler.job import run_reconciliation
    from meterwise.reconciler.mailer import SmtpMailer

    doc = base_config(store_at, alert_emails=["ops@example.com"])
    doc["email"] = {"host": "127.0.0.1", "port": smtp.port, "from": "mw@example.com"}
    doc["plans"] = {"jaas-basic": {"allowances": {"mau": 4}}}
    settings = parse_settings(doc, ENV, "t")
    live = LiveServer(settings, clock)
    live.thread.start()
    try:
        db = open_storage(settings)
        install = CYCLE + timedelta(days=16)
        db.record_observation("acme", ms(install))  # what `meterwise serve` does at first start
        devices(live, install + timedelta(hours=2), ["d1", "d2", "d3"])
        now = install + timedelta(days=1)
        report = compute_report(db, settings, "acme", now)
        assert report.observed_since == install
        assert any(n.startswith("partly observed") for n in report.notes)
        mau = report.metric("mau")
        assert mau is not None and mau.forecast is not None
        assert mau.forecast.confidence == "low"
        assert mau.forecast.high > mau.forecast.value  # widened, never "3-3"
        assert "partly observed" in render_html(report, settings.catalog)
        run_reconciliation(db, settings, SmtpMailer(settings.email), now)
        subjects = [m["Subject"] for _, m in smtp.messages]
        assert not any("closed" in s for s in subjects)  # Feb 8 - Mar 8 was never observed
        assert subjects and "partly observed" in smtp.texts()[0]
        after = CYCLE + timedelta(days=31, hours=2)
        run_reconciliation(db, settings, SmtpMailer(settings.email), after)
        pairs = zip(smtp.messages, smtp.texts(), strict=True)
        finals = [t for (_, m), t in pairs if "closed" in m["Subject"]]
        assert len(finals) == 1 and "partly observed" in finals[0]
    finally:
        live.server.shutdown()


def test_serve_records_when_observation_began(store_at):
    from meterwise.receiver.server import observe_accounts

    settings = parse_settings(base_config(store_at), ENV, "t")
    db = open_storage(settings)
    observe_accounts(db, settings)
    first = db.observed_since("acme")
    assert first is not None and abs(first - datetime.now(UTC).timestamp() * 1000) < 5000
    db.record_observation("acme", first + 10_000)  # a later start changes nothing
    assert db.observed_since("acme") == first


# 12. One JSON type per field: quantities are decimal strings, instants are UTC with Z.
def test_json_types_are_one_per_field(store_at, clock):
    from meterwise.reconciler.report import report_to_dict

    live = start_live(store_at, clock, timezone="America/New_York")
    try:
        devices(live, CYCLE + timedelta(days=1), ["d1", "d2"])
        recording(live, CYCLE + timedelta(days=1), 100, "r1")  # 1.666... minutes exact
        db = open_storage(live.settings)
        data = report_to_dict(compute_report(db, live.settings, "acme", CYCLE + timedelta(days=3)))
        for name, m in data["metrics"].items():
            for field in ("used", "overage_units", "forecast", "forecast_low", "forecast_high"):
                assert m[field] is None or isinstance(m[field], str), (name, field, m[field])
                assert m[field] is None or "E" not in m[field] and len(m[field]) < 20
        assert data["metrics"]["mau"]["used"] == "2"
        for line in data["invoice"]["lines"]:
            assert isinstance(line["quantity"], str) and isinstance(line["amount"], str)
        instants = [data["as_of"], data["cycle"]["start"], data["cycle"]["end"]]
        instants += [data["invoice"]["issued_on"]]
        assert all(i.endswith("Z") for i in instants), instants
    finally:
        live.server.shutdown()


def at_clock(clock, when: datetime):
    """Set the receiver's clock (receipt times) to ``when``; returns the matching epoch s."""
    clock.fixed = when.timestamp()
    return int(clock.fixed)


# 10. A report as known at an instant never changes afterwards.
def test_a_report_as_known_at_an_instant_is_reproducible(store_at, clock, tmp_path):
    from click.testing import CliRunner

    from meterwise.receiver.cli import cli
    from tests.conftest import SECRET

    live = start_live(store_at, clock)
    try:
        t1 = datetime(2026, 3, 20, 12, tzinfo=UTC)
        t = at_clock(clock, t1)
        for d in ("d1", "d2"):
            doc = envelope("USAGE", ms(t1 - timedelta(days=1)), [{"deviceId": d}])
            assert live.send(doc, t=t).status_code == 200
        t = at_clock(clock, t1 + timedelta(days=2))  # a late webhook dated before t1
        late = envelope("USAGE", ms(t1 - timedelta(hours=3)), [{"deviceId": "late"}])
        assert live.send(late, t=t).status_code == 200
        config = tmp_path / "m.toml"
        config.write_text(
            f"[storage]\n{storage_line(store_at)}\n"
            f'[[accounts]]\nid = "acme"\nprovider = "jaas"\n'
            f'plan = "jaas-basic"\ncycle_anchor = "2026-03-08"\nwebhook_secrets = ["{SECRET}"]\n'
        )
        base = ["report", "acme", "--at", t1.isoformat(), "--format", "json"]
        known = CliRunner().invoke(cli, [*base, "--config", str(config)])
        assert known.exit_code == 0, known.output
        import json

        assert json.loads(known.output)["metrics"]["mau"]["used"] == "2"  # as known at t1
        by_time = CliRunner().invoke(cli, [*base, "--event-time", "--config", str(config)])
        assert json.loads(by_time.output)["metrics"]["mau"]["used"] == "3"
    finally:
        live.server.shutdown()


# 9. A closed cycle stays as reported; late events are dated adjustments and one correction.
def test_a_closed_cycle_is_frozen_and_corrected_once(store_at, clock, smtp):
    from meterwise.reconciler.job import run_reconciliation
    from meterwise.reconciler.mailer import SmtpMailer
    from meterwise.reconciler.report import report_to_dict

    doc = base_config(store_at, plan="tiny", alert_emails=["ops@example.com"])
    doc["plans"] = {"tiny": {"extends": "jaas-basic", "name": "Tiny", "allowances": {"mau": 1}}}
    doc["email"] = {"host": "127.0.0.1", "port": smtp.port, "from": "mw@example.com"}
    doc["reconcile"] = {"close_grace_s": 60}
    settings = parse_settings(doc, ENV, "t")
    live = LiveServer(settings, clock)
    live.thread.start()
    try:
        db = open_storage(settings)
        mid = datetime(2026, 3, 20, tzinfo=UTC)
        t = at_clock(clock, mid)
        for d in ("d1", "d2"):
            assert live.send(envelope("USAGE", ms(mid), [{"deviceId": d}]), t=t).status_code == 200
        close = datetime(2026, 4, 8, 0, 2, tzinfo=UTC)
        mailer = SmtpMailer(settings.email)
        run_reconciliation(db, settings, mailer, close, clock=lambda: close.timestamp())
        closed = [m["Subject"] for _, m in smtp.messages if "closed" in m["Subject"]]
        assert closed == ["[Meterwise] acme: cycle Mar 8 to Apr 8 closed, invoice estimate $99.99"]
        later = datetime(2026, 4, 9, tzinfo=UTC)
        t = at_clock(clock, later)
        late = envelope("USAGE", ms(mid + timedelta(days=5)), [{"deviceId": "d3"}])
        assert live.send(late, t=t).status_code == 200  # late events stay accepted
        report = compute_report(db, settings, "acme", later, date(2026, 3, 20), 60)
        assert report.invoice.total == Decimal("99.99")  # as reported and mailed
        mau = report.metric("mau")
        assert mau is not None and mau.usage.used == 2
        data = report_to_dict(report)
        assert data["adjustments"]["late_events"] == 1
        assert data["adjustments"]["first_arrived"] == "2026-04-09T00:00:00Z"
        assert data["adjustments"]["metrics"]["mau"] == {"reported": "2", "with_late_events": "3"}
        assert data["adjustments"]["invoice_total"] == {
            "reported": "99.99",
            "with_late_events": "100.98",
        }
        assert any(n.startswith("frozen at its closing report") for n in report.notes)
        for step in (1, 2):  # one correction, however many passes
            when = later + timedelta(hours=step)
            run_reconciliation(db, settings, mailer, when, clock=lambda w=when: w.timestamp())
        corrections = [m["Subject"] for _, m in smtp.messages if "correction" in m["Subject"]]
        assert corrections == [
            "[Meterwise] acme: correction for cycle Mar 8 to Apr 8: invoice estimate $100.98 "
            "(reported $99.99)"
        ]
    finally:
        live.server.shutdown()
