"""Consistency checks end to end: real webhooks over HTTP, a real SQLite file, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from meterwise.receiver.cli import cli
from meterwise.receiver.testing import Meeting, envelope
from meterwise.reconciler.checks import silences
from meterwise.reconciler.reconcile import compute_report
from meterwise.storage import open_storage
from tests.conftest import SECRET, storage_toml

ENGINES = ("sqlite", "postgresql")  # the tests using `settings`/`live` run on both engines

START = datetime(2026, 3, 8, tzinfo=UTC)
NOW = START + timedelta(days=5, hours=18)  # 2026-03-13 18:00


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def post_meeting(live, session: str, devices: int, at: datetime, usage: bool = True) -> None:
    meeting = Meeting(session, ms(at), room=f"room-{session}")
    for i in range(devices):
        meeting.join(f"d{i}-{session}", f"user-{session}" if i == 0 else None, moderator=i == 0)
    for doc in meeting.events:
        if usage or doc["eventType"] != "USAGE":
            assert live.send(doc).status_code == 200


def post(live, kind: str, at: datetime, data: dict, session: str = "s-x") -> None:
    assert live.send(envelope(kind, ms(at), data, session_id=session)).status_code == 200


@pytest.fixture
def scenario(live, clock):
    return build_scenario(live, clock)


def build_scenario(live, clock):
    """One finding per check, beside a normal case that must not be flagged."""
    post_meeting(live, "good", 3, START + timedelta(days=1, hours=10))
    post_meeting(live, "lost", 2, START + timedelta(days=2, hours=10), usage=False)
    # Payloads as the reference documents them: RECORDING_ENDED carries only the conference;
    # RECORDING_UPLOADED has its own recordingSessionId; the meeting's sessionId pairs them.
    post(live, "RECORDING_ENDED", NOW - timedelta(hours=2), {"conference": "r1@x"}, "s-rec")
    post(live, "RECORDING_ENDED", NOW - timedelta(hours=3), {"conference": "r2@x"}, "s-rec2")
    done = {"recordingSessionId": "rec-2", "initiatorId": "u", "durationSec": 60}
    link = {**done, "preAuthenticatedLink": "https://files.example/rec-2"}
    post(live, "RECORDING_UPLOADED", NOW - timedelta(hours=2, minutes=50), link, "s-rec2")
    old = {"preAuthenticatedLink": "https://files.example/t1"}
    post(live, "TRANSCRIPTION_UPLOADED", NOW - timedelta(hours=20), old, "s-t1")
    post(live, "TRANSCRIPTION_UPLOADED", NOW - timedelta(hours=2), old, "s-t2")
    dial = {"participantId": "p-dial", "nick": "+49 30 1234"}
    post(live, "DIAL_OUT_STARTED", NOW - timedelta(hours=5), dial, "s-dial")
    sip = {"participantId": "p-sip", "sipAddress": "sip:a@b"}
    post(live, "SIP_CALL_OUT_STARTED", NOW - timedelta(hours=6), sip, "s-sip")
    post(live, "SIP_CALL_OUT_ENDED", NOW - timedelta(hours=5), sip, "s-sip")
    clock.fixed = (NOW - timedelta(hours=1)).timestamp()  # deliveries are counted on arrival
    t = int(clock.fixed)
    bad = envelope("USAGE", ms(NOW - timedelta(hours=1)), [{"deviceId": "x"}])
    for _ in range(3):  # a rotated secret nobody told us about
        rotated = "whsec_rotated000000000000000000000000"
        assert live.send(bad, secret=rotated, t=t).status_code == 401
    dup = envelope("SPEAKER_STATS", ms(NOW - timedelta(hours=1)), {}, key="k-dup")
    assert live.send(dup, t=t).status_code == 200
    assert live.send(dup, t=t).json()["status"] == "duplicate"
    return live


def checks_of(live, at=NOW):
    report = compute_report(open_storage(live.settings), live.settings, "acme", at)
    return {c.code: c for c in report.checks}, report


def test_every_check_finds_its_case_and_only_it(scenario):
    found, report = checks_of(scenario)
    assert found["usage_missing"].count == 1
    assert found["usage_missing"].examples == ("session lost: 2 joined",)
    assert found["recording_not_uploaded"].count == 1
    assert "meeting s-rec: recording ended" in found["recording_not_uploaded"].examples[0]
    assert found["links_expiring"].count == 1
    assert found["links_expiring"].examples == (
        "TRANSCRIPTION_UPLOADED s-t1: deleted 2026-03-13 22:00 UTC",
    )
    assert found["started_without_ended"].count == 1
    assert found["started_without_ended"].examples == ("dial_out started 2026-03-13 13:00 UTC",)
    assert found["signature_rejections"].count == 3
    assert found["signature_rejections"].examples == ("signature_mismatch: 3",)
    assert found["duplicates"].count == 1
    assert report.metric("mau").usage.used == 3  # the lost meeting's 2 devices are missing


def test_rebuild_keeps_the_sessions_that_had_usage(scenario):
    from meterwise.receiver.rebuild import rebuild

    db = open_storage(scenario.settings)
    rebuild(db, scenario.settings, "acme")
    found, _ = checks_of(scenario)
    assert found["usage_missing"].examples == ("session lost: 2 joined",)


def test_before_the_grace_period_nothing_is_flagged(scenario):
    found, _ = checks_of(scenario, NOW - timedelta(hours=4))
    assert found["recording_not_uploaded"].count == 0  # rec-1 has not even ended yet
    assert found["started_without_ended"].count == 0  # the dial-out is not open yet


def test_provider_figures_are_compared_with_likely_causes(scenario, tmp_path):
    config = tmp_path / "meterwise.toml"
    config.write_text(
        f"[storage]\n{storage_toml(scenario.settings)}\n"
        '[[accounts]]\nid = "acme"\nprovider = "jaas"\n'
        f'plan = "jaas-basic"\ncycle_anchor = "2026-03-08"\nwebhook_secrets = ["{SECRET}"]\n'
    )
    run = CliRunner().invoke(
        cli,
        ["invoice", "record", "acme", "--cycle", "2026-03-10", "--mau", "5"]
        + ["--total", "99.00", "--line", "subscription=99.00", "--config", str(config)],
    )
    assert run.exit_code == 0, run.output
    assert run.output == (
        "recorded for acme, cycle 2026-03-08 to 2026-04-08: mau 5, total 99.00, "
        "subscription 99.00\n"
    )
    args = ["report", "acme", "--event-time", "--at", NOW.isoformat(), "--config", str(config)]
    data = json.loads(CliRunner().invoke(cli, [*args, "--format", "json"]).output)
    rows = {r["item"]: r for r in data["provider_figures"]["rows"]}
    assert rows["mau"] == {"item": "mau", "ours": 3, "theirs": 5, "difference": -2}
    # add-ons: 1 recording minute $0.01; the dial-out with no ENDED for 5 h, capped at
    # open_interval_max_age_s (240 min x $0.03); SIP 60 min x $0.06
    assert rows["total"] == {
        "item": "total",
        "ours": "109.81",
        "theirs": "99.00",
        "difference": "10.81",
    }
    assert rows["subscription"]["difference"] == "0.00"
    causes = data["provider_figures"]["likely_causes"]
    assert causes[0].startswith("Meetings with 2+ participants but no USAGE event: 1")
    assert any(c.startswith("Deliveries rejected for their signature") for c in causes)
    assert any(c.startswith("Dial/SIP/streaming started over 4 h ago") for c in causes)
    table = CliRunner().invoke(cli, args).output
    assert "  [!!] Meetings with 2+ participants but no USAGE event: 1" in table
    assert (
        "mau                          ours          3  theirs          5  difference         -2"
        in (table)
    )
    bad = CliRunner().invoke(
        cli,
        ["invoice", "record", "acme", "--cycle", "2026-03-10", "--total", "abc"]
        + ["--config", str(config)],
    )
    assert bad.exit_code == 2 and "--total must be an amount" in bad.output


def test_export_devices_is_the_audit_trail_of_the_mau(scenario, tmp_path):
    config = tmp_path / "meterwise.toml"
    config.write_text(
        f'[storage]\n{storage_toml(scenario.settings)}\n[[accounts]]\nid = "acme"\n'
        f'provider = "jaas"\nplan = "jaas-basic"\ncycle_anchor = "2026-03-08"\n'
        f'webhook_secrets = ["{SECRET}"]\n'
    )
    out = CliRunner().invoke(
        cli,
        ["export", "devices", "acme", "--cycle", "2026-03-10", "--at", NOW.isoformat()]
        + ["--config", str(config)],
    )
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0] == "device,first_seen,session,user,email,attributed_to,basis"
    assert len(lines) == 1 + 3
    # USAGE lists the first two devices at the second join; names come from PARTICIPANT_JOINED
    assert lines[1] == "d0-good,2026-03-09T10:00:02Z,good,user-good,,d0-good,own device"
    assert lines[2].endswith(",guest of the meeting owner")


def test_silence_is_flagged_only_at_hours_that_usually_have_traffic():
    hour, day = 3_600_000, 86_400_000
    start = ms(START)
    hourly = {}
    for d in range(-14, 0):  # two weeks of traffic from 09:00 to 17:00
        for h in range(9, 17):
            hourly[start + d * day + h * hour] = 5
    for d in range(3):  # the cycle: traffic as usual, except 10:00-15:00 on day 1
        for h in range(9, 17):
            if not (d == 1 and 10 <= h < 15):
                hourly[start + d * day + h * hour] = 5
    check = silences(hourly, start, start + 3 * day, 3 * hour)
    assert check.count == 1
    assert check.examples == ("2026-03-09 10:00 UTC to 2026-03-09 15:00 UTC",)
    quiet_nights = silences(hourly, start, start + 3 * day, 20 * hour)
    assert quiet_nights.count == 0  # nights are always empty, never "usual"
    no_history = silences({}, start, start + 3 * day, 3 * hour)
    assert no_history.count == 0
    # The same traffic seen from Tokyo (UTC+9): busy hours are 18:00-02:00 local; still found.
    tokyo = silences(hourly, start, start + 3 * day, 3 * hour, ZoneInfo("Asia/Tokyo"))
    assert tokyo.examples == check.examples
    # History busy at night instead: the cycle's empty nights are flagged, the midday gap not.
    nights = {h + 12 * hour: n for h, n in hourly.items() if h < start}
    cycle = {h: n for h, n in hourly.items() if h >= start}
    flipped = silences({**nights, **cycle}, start, start + 3 * day, 3 * hour)
    assert flipped.count == 3
    assert "2026-03-09 10:00 UTC to 2026-03-09 15:00 UTC" not in flipped.examples
