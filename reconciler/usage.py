"""Metered usage from stored event values: minutes, intervals, estimates. Pure functions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from meterwise.reconciler.models import MetricUsage

SIXTY = Decimal(60)


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One half of a STARTED/ENDED pair (dial, SIP, live stream)."""

    kind: str
    phase: str
    session_id: str | None
    participant_id: str | None
    ts_ms: int


@dataclass(frozen=True, slots=True)
class Interval:
    """A paired interval; ``open`` when it had not ended by ``as_of``."""

    kind: str
    start_ms: int
    end_ms: int
    open: bool
    lost: bool = False  # no ENDED within open_interval_max_age_s: capped at that age


def minutes(seconds: Decimal, rounding: str) -> Decimal:
    """Seconds as minutes: rounded up to a whole minute (``up``) or exact (``exact``)."""
    if rounding == "up":
        return (seconds / SIXTY).to_integral_value(rounding=ROUND_CEILING)
    return seconds / SIXTY


def recording_minutes(durations_sec: Iterable[int | None], rounding: str) -> MetricUsage:
    """Sum of RECORDING_UPLOADED durations, rounded per recording."""
    total, missing = Decimal(0), 0
    for duration in durations_sec:
        if duration is None:
            missing += 1
            continue
        total += minutes(Decimal(duration), rounding)
    notes = (f"{missing} upload(s) without durationSec",) if missing else ()
    return MetricUsage("recording_minutes", total, "minutes", notes=notes)


def pair_intervals(events: Iterable[CallEvent], as_of_ms: int) -> list[Interval]:
    """Pair STARTED with the next ENDED of the same kind, session and participant.

    A start still open at ``as_of`` counts up to ``as_of`` and is flagged; an ENDED with no
    STARTED is dropped (its start arrived in no webhook we have).
    """
    groups: dict[tuple[str, str | None, str | None], list[CallEvent]] = defaultdict(list)
    for ev in events:
        if ev.ts_ms <= as_of_ms:
            groups[(ev.kind, ev.session_id, ev.participant_id)].append(ev)
    intervals = []
    for (kind, _, _), evs in groups.items():
        evs.sort(key=lambda e: (e.ts_ms, e.phase != "started"))
        start: int | None = None
        for ev in evs:
            if ev.phase == "started":
                if start is not None:  # a second start with no end: close the first here
                    intervals.append(Interval(kind, start, ev.ts_ms, True))
                start = ev.ts_ms
            elif start is not None:
                intervals.append(Interval(kind, start, ev.ts_ms, False))
                start = None
        if start is not None:
            intervals.append(Interval(kind, start, as_of_ms, True))
    return sorted(intervals, key=lambda i: (i.kind, i.start_ms))


CALL_METRICS = {
    "dial_in": "dial_in_minutes",
    "dial_out": "dial_out_minutes",
    "sip_in": "sip_minutes",
    "sip_out": "sip_minutes",
    "streaming": "streaming_minutes",
}


def in_cycle(
    intervals: Iterable[Interval], start_ms: int, end_ms: int, eval_ms: int, max_open_ms: int
) -> list[Interval]:
    """The intervals a cycle [start, end) bills, as known at ``eval_ms``: the rule is that a
    per-minute item belongs, whole, to the cycle in which it ended (as recordings, counted at
    their upload, and CometChat calls, at their end). Nothing is split, nothing counted twice.

    An interval with no ENDED is capped at ``max_open_ms`` (the lost-ENDED check's age): once
    that age has passed it is billed, capped and marked lost, in the cycle where the cap falls;
    before that it counts up to ``eval_ms`` while the cycle runs, marked open.
    """
    out = []
    for i in intervals:
        if i.open:
            cap = i.start_ms + max_open_ms
            if cap <= eval_ms:  # its ENDED is lost: bill the capped length where the cap falls
                i = Interval(i.kind, i.start_ms, cap, True, lost=True)
            elif eval_ms >= end_ms:
                continue  # open at the cycle's end: it belongs to the cycle where it ends
        if start_ms <= i.end_ms < end_ms or (i.open and not i.lost and i.end_ms == eval_ms):
            out.append(i)
    return out


def call_minutes(intervals: Iterable[Interval], rounding: str) -> dict[str, MetricUsage]:
    """Minutes per metric from paired intervals, each interval rounded on its own."""
    totals: dict[str, Decimal] = {m: Decimal(0) for m in set(CALL_METRICS.values())}
    open_counts: dict[str, int] = defaultdict(int)
    lost_counts: dict[str, int] = defaultdict(int)
    for interval in intervals:
        metric = CALL_METRICS[interval.kind]
        totals[metric] += minutes(Decimal(interval.end_ms - interval.start_ms) / 1000, rounding)
        open_counts[metric] += interval.open and not interval.lost
        lost_counts[metric] += interval.lost
    out = {}
    for metric, total in sorted(totals.items()):
        notes = []
        if open_counts[metric]:
            notes.append(f"{open_counts[metric]} interval(s) still open, counted up to as_of")
        if lost_counts[metric]:
            notes.append(
                f"{lost_counts[metric]} interval(s) without ENDED, each capped at "
                "open_interval_max_age_s (estimated)"
            )
        out[metric] = MetricUsage(
            metric,
            total,
            "minutes",
            estimated=bool(lost_counts[metric]),
            open_intervals=open_counts[metric] + lost_counts[metric],
            notes=tuple(notes),
        )
    return out


def transcription_minutes(
    transcribed_sessions: Iterable[str],
    room_spans: Mapping[str, tuple[int | None, int | None]],
    presence_spans: Mapping[str, tuple[int | None, int | None]],
    rounding: str,
) -> MetricUsage:
    """Estimate transcription minutes from the meeting's duration as the reference defines
    it, first join to last leave (an empty room is not transcribed; ROOM_DESTROYED can come
    15 minutes after the last person left), else room created to destroyed, for sessions that
    produced TRANSCRIPTION_UPLOADED."""
    total, unknown = Decimal(0), 0
    for session in transcribed_sessions:
        start, end = presence_spans.get(session, (None, None))
        if start is None or end is None:
            start, end = room_spans.get(session, (None, None))
        if start is None or end is None or end < start:
            unknown += 1
            continue
        total += minutes(Decimal(end - start) / 1000, rounding)
    notes = ["estimated from meeting duration (JaaS sends no transcription length)"]
    if unknown:
        notes.append(f"{unknown} transcribed session(s) with unknown duration")
    return MetricUsage(
        "transcription_minutes", total, "minutes", estimated=True, notes=tuple(notes)
    )
