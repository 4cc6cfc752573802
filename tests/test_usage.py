"""Minutes from recordings, paired intervals and transcription estimates."""

from __future__ import annotations

from decimal import Decimal

import pytest

from meterwise.reconciler.usage import (
    CallEvent,
    call_minutes,
    pair_intervals,
    recording_minutes,
    transcription_minutes,
)


@pytest.mark.parametrize(
    "durations,rounding,expected",
    [
        ([61, 60, 89], "up", Decimal(5)),
        ([90, 120], "up", Decimal(4)),
        ([90, 120], "exact", Decimal("3.5")),
        ([], "up", Decimal(0)),
    ],
)
def test_recording_minutes_round_per_recording(durations, rounding, expected):
    assert recording_minutes(durations, rounding).used == expected


def test_recording_without_duration_is_noted():
    usage = recording_minutes([60, None], "up")
    assert usage.used == 1 and "1 upload(s) without durationSec" in usage.notes


def test_intervals_pair_by_session_and_participant_and_flag_open_ones():
    events = [
        CallEvent("dial_out", "ended", "s1", "p1", 190_000),
        CallEvent("dial_out", "started", "s1", "p1", 10_000),
        CallEvent("dial_out", "started", "s1", "p2", 20_000),  # still open
        CallEvent("sip_in", "ended", "s2", "p3", 50_000),  # no start: dropped
        CallEvent("streaming", "started", "s3", None, 0),
        CallEvent("streaming", "ended", "s3", None, 600_000),
    ]
    intervals = pair_intervals(events, as_of_ms=320_000)
    assert [(i.kind, i.start_ms, i.end_ms, i.open) for i in intervals] == [
        ("dial_out", 10_000, 190_000, False),
        ("dial_out", 20_000, 320_000, True),
        ("streaming", 0, 320_000, True),  # its end comes after as_of
    ]
    usage = call_minutes(intervals, "up")
    assert usage["dial_out_minutes"].used == 3 + 5
    assert usage["dial_out_minutes"].open_intervals == 1
    assert usage["sip_minutes"].used == 0
    assert usage["streaming_minutes"].used == 6


def test_transcription_is_estimated_from_room_then_presence():
    usage = transcription_minutes(
        ["a", "b", "c"], {"a": (0, 600_000), "b": (0, None)}, {"b": (60_000, 180_000)}, "up"
    )
    assert usage.used == 10 + 2 and usage.estimated
    assert "1 transcribed session(s) with unknown duration" in usage.notes
