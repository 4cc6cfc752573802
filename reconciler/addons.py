"""JaaS add-on minutes (recording, transcription, dial, SIP, streaming) per cycle and day.
Pure: the snapshot loader reads the inputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from meterwise.config.plans import Plan
from meterwise.config.settings import Account
from meterwise.reconciler.cycles import to_ms
from meterwise.reconciler.models import BillingCycle, MetricUsage
from meterwise.reconciler.usage import (
    CALL_METRICS,
    CallEvent,
    call_minutes,
    in_cycle,
    minutes,
    pair_intervals,
    recording_minutes,
    transcription_minutes,
)

DAY_MS = 86_400_000


def per_day(items: list[tuple[int, Decimal]], start_ms: int, days: int) -> list[Decimal]:
    """Amounts bucketed by cycle day (day 0 starts at ``start_ms``)."""
    out = [Decimal(0)] * days
    for ts, amount in items:
        day = (ts - start_ms) // DAY_MS
        if 0 <= day < days:
            out[day] += amount
    return out


LOOKBACK_MS = 35 * DAY_MS  # a call that ends in this cycle started at most this early


@dataclass(frozen=True, slots=True)
class JaasInputs:
    """The cycle's stored recordings, transcriptions and call halves, up to the report."""

    recordings: tuple[tuple[int, int | None], ...]  # (ts, durationSec) of uploads
    transcribed: tuple[tuple[str, int], ...]  # (session, first upload ts)
    room_spans: Mapping[str, tuple[int | None, int | None]]
    presence_spans: Mapping[str, tuple[int | None, int | None]]
    calls: tuple[CallEvent, ...]  # from LOOKBACK_MS before the cycle


def jaas_sums(
    inputs: JaasInputs,
    account: Account,
    plan: Plan | None,
    cycle: BillingCycle,
    eval_ms: int,
    days: int,
    max_open_s: int = 4 * 3600,
) -> list[tuple[MetricUsage, list[Decimal]]]:
    """Every add-on metric of the cycle up to ``eval_ms`` (at most the snapshot's), with its
    per-day series."""
    start_ms, rounding = to_ms(cycle.start), account.recording_rounding
    recs = [(ts, d) for ts, d in inputs.recordings if ts < eval_ms]
    out = [
        (
            recording_minutes([d for _, d in recs], rounding),
            per_day(
                [(ts, minutes(Decimal(d), rounding)) for ts, d in recs if d is not None],
                start_ms,
                days,
            ),
        )
    ]
    ids = [s for s, ts in inputs.transcribed if ts < eval_ms]
    out.append(
        (
            transcription_minutes(
                ids,
                inputs.room_spans,
                inputs.presence_spans,
                rounding,
            ),
            [Decimal(0)] * days,
        )
    )
    calls = [c for c in inputs.calls if c.ts_ms < eval_ms]
    intervals = in_cycle(
        pair_intervals(calls, eval_ms), start_ms, to_ms(cycle.end), eval_ms, max_open_s * 1000
    )
    for metric, usage in call_minutes(intervals, rounding).items():
        kinds = [k for k, m in CALL_METRICS.items() if m == metric]
        series = per_day(
            [
                (i.end_ms, minutes(Decimal(i.end_ms - i.start_ms) / 1000, rounding))
                for i in intervals
                if i.kind in kinds
            ],
            start_ms,
            days,
        )
        out.append((usage, series))
    return out
