"""JaaS add-on minutes (recording, transcription, dial, SIP, streaming) per cycle and day."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from meterwise.config.plans import Plan
from meterwise.config.settings import Account
from meterwise.reconciler import store
from meterwise.reconciler.cycles import to_ms
from meterwise.reconciler.models import BillingCycle, MetricUsage
from meterwise.reconciler.usage import (
    CALL_METRICS,
    call_minutes,
    minutes,
    pair_intervals,
    recording_minutes,
    transcription_minutes,
)


def per_day(items: list[tuple[int, Decimal]], start_ms: int, days: int) -> list[Decimal]:
    """Amounts bucketed by cycle day (day 0 starts at ``start_ms``)."""
    out = [Decimal(0)] * days
    for ts, amount in items:
        day = (ts - start_ms) // store.DAY_MS
        if 0 <= day < days:
            out[day] += amount
    return out


def jaas_sums(
    db: Any, account: Account, plan: Plan | None, cycle: BillingCycle, eval_ms: int, days: int
) -> list[tuple[MetricUsage, list[Decimal]]]:
    """Every add-on metric of the cycle up to ``eval_ms``, with its per-day series."""
    start_ms, rounding = to_ms(cycle.start), account.recording_rounding
    recs = store.recordings(db, account.id, start_ms, eval_ms)
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
    sessions = store.transcribed_sessions(db, account.id, start_ms, eval_ms)
    ids = [s for s, _ in sessions]
    out.append(
        (
            transcription_minutes(
                ids,
                store.room_spans(db, account.id, ids),
                store.presence_spans(db, account.id, ids),
                rounding,
            ),
            [Decimal(0)] * days,
        )
    )
    calls = store.call_events(db, account.id, start_ms - store.DAY_MS, eval_ms)
    intervals = [i for i in pair_intervals(calls, eval_ms) if start_ms <= i.start_ms < eval_ms]
    for metric, usage in call_minutes(intervals, rounding).items():
        kinds = [k for k, m in CALL_METRICS.items() if m == metric]
        series = per_day(
            [
                (i.start_ms, minutes(Decimal(i.end_ms - i.start_ms) / 1000, rounding))
                for i in intervals
                if i.kind in kinds
            ],
            start_ms,
            days,
        )
        out.append((usage, series))
    return out
