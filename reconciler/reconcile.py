"""Compute a report: load one cycle's values from the store and run the pure core on them."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from config.errors import ConfigError
from config.settings import Account, Settings
from reconciler import store
from reconciler.attribution import attribute
from reconciler.cycles import cycle_containing, to_ms
from reconciler.forecast import forecast_distinct, forecast_sum
from reconciler.invoice import build_invoice, distinct_overage
from reconciler.models import BillingCycle, MetricReport, MetricUsage, Report
from reconciler.subscription import build_timeline, plan_periods
from reconciler.usage import (
    call_minutes,
    minutes,
    pair_intervals,
    recording_minutes,
    transcription_minutes,
)

DAY = timedelta(days=1)
CLOSE_GRACE_S = 3600


def get_account(settings: Settings, account_id: str) -> Account:
    """The configured account or a `ConfigError` naming it."""
    try:
        return settings.accounts[account_id]
    except KeyError:
        raise ConfigError(f"accounts.{account_id}", "no such account in the config") from None


def cycle_for(settings: Settings, account: Account, when: datetime | date) -> BillingCycle:
    """The account's cycle containing an instant, or a local date (any date in the cycle)."""
    if not isinstance(when, datetime):
        when = datetime.combine(when, time(12), tzinfo=account.tz)
    kind = settings.catalog.get(account.plan).cycle
    return cycle_containing(account.cycle_anchor, account.tz, when, kind)


def _per_day(items: list[tuple[int, Decimal]], start_ms: int, days: int) -> list[Decimal]:
    out = [Decimal(0)] * days
    for ts, amount in items:
        day = (ts - start_ms) // store.DAY_MS
        if 0 <= day < days:
            out[day] += amount
    return out


def _jaas_sums(
    db: Any, account: Account, cycle: BillingCycle, eval_ms: int, days: int
) -> list[tuple[MetricUsage, list[Decimal]]]:
    start_ms, rounding = to_ms(cycle.start), account.recording_rounding
    recs = store.recordings(db, account.id, start_ms, eval_ms)
    out = [
        (
            recording_minutes([d for _, d in recs], rounding),
            _per_day(
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
        kinds = [
            k
            for k, m in {
                "dial_in": "dial_in_minutes",
                "dial_out": "dial_out_minutes",
                "sip_in": "sip_minutes",
                "sip_out": "sip_minutes",
                "streaming": "streaming_minutes",
            }.items()
            if m == metric
        ]
        per_day = _per_day(
            [
                (i.start_ms, minutes(Decimal(i.end_ms - i.start_ms) / 1000, rounding))
                for i in intervals
                if i.kind in kinds
            ],
            start_ms,
            days,
        )
        out.append((usage, per_day))
    return out


def _no_sums(
    db: Any, account: Account, cycle: BillingCycle, eval_ms: int, days: int
) -> list[tuple[MetricUsage, list[Decimal]]]:
    return []


SUM_METRICS = {"jaas": _jaas_sums}
DISTINCT_METRICS = {"jaas": ("mau",), "cometchat": ("mau",), "wll": ("mau",), "events": ("mau",)}


def compute_report(
    db: Any,
    settings: Settings,
    account_id: str,
    as_of: datetime,
    cycle_date: date | None = None,
    close_grace_s: int = CLOSE_GRACE_S,
) -> Report:
    """The reconciliation of one account's cycle as of ``as_of`` (default: its cycle)."""
    account = get_account(settings, account_id)
    catalog = settings.catalog
    cycle = cycle_for(settings, account, cycle_date if cycle_date else as_of)
    eval_at = min(max(as_of, cycle.start), cycle.end)
    eval_ms, start_ms = to_ms(eval_at), to_ms(cycle.start)
    timeline = build_timeline(account, catalog)
    periods = plan_periods(timeline, cycle)
    live = [p for p in periods if p.start < eval_at] or list(periods[:1])
    plan_id = live[-1].plan_id if live else None
    plan = catalog.get(plan_id) if plan_id else None
    days = max(1, math.ceil((eval_at - cycle.start) / DAY))
    running = eval_at < cycle.end
    metrics, overage, notes = [], {}, []
    for metric in DISTINCT_METRICS.get(account.provider, ()):
        used = store.count_first_seen(db, account.id, metric, start_ms, eval_ms)
        per_period = distinct_overage(
            periods,
            catalog,
            metric,
            partial(store.count_first_seen, db, account.id, metric, start_ms),
            eval_ms,
        )
        overage[metric] = per_period
        allowance = plan.allowance(metric) if plan else None
        crossed = None
        if allowance is not None and used > allowance:
            ms = store.nth_first_seen_ms(db, account.id, metric, start_ms, allowance + 1)
            crossed = datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None
        previous = cycle_for(settings, account, cycle.start - timedelta(seconds=1))
        prev_days = math.ceil((previous.end - previous.start) / DAY)
        history = (
            [
                (float(n), (previous.start + i * DAY).astimezone(account.tz).weekday())
                for i, n in enumerate(
                    store.activity_per_day(
                        db,
                        account.id,
                        metric,
                        to_ms(previous.start),
                        to_ms(previous.end),
                        prev_days,
                    )
                )
            ]
            if store.has_activity(
                db, account.id, metric, to_ms(previous.start), to_ms(previous.end)
            )
            else []
        )
        forecast = (
            forecast_distinct(
                metric,
                used,
                store.new_per_day(db, account.id, metric, start_ms, eval_ms, days),
                store.activity_per_day(db, account.id, metric, start_ms, eval_ms, days),
                cycle,
                eval_at,
                account.tz,
                allowance,
                crossed,
                history,
            )
            if running
            else None
        )
        units = Decimal(sum(u for _, u in per_period))
        amount = sum(
            (
                u * catalog.get(p.plan_id).overage_rates.get(metric, Decimal(0))
                for p, u in per_period
            ),
            Decimal(0),
        )
        metrics.append(
            MetricReport(
                MetricUsage(metric, Decimal(used), "users"), allowance, units, amount, forecast
            )
        )
    usage: dict[str, Decimal] = {}
    sums = SUM_METRICS.get(account.provider)
    for m_usage, per_day in (sums or _no_sums)(db, account, cycle, eval_ms, days):
        usage[m_usage.name] = m_usage.used
        forecast = (
            forecast_sum(m_usage.name, m_usage.used, per_day, cycle, eval_at, account.tz, None)
            if running
            else None
        )
        rate = plan.usage_rates.get(m_usage.name) if plan else None
        metrics.append(MetricReport(m_usage, None, Decimal(0), Decimal(0), forecast))
        if rate is None and m_usage.used > 0:
            notes.append(f"{m_usage.name}: no rate in plan {plan_id}, not invoiced")
    invoice = build_invoice(cycle, periods, timeline.plan_at(cycle.end), catalog, overage, usage)
    attribution: tuple[Any, ...] = ()
    if account.provider == "jaas" and plan is not None:
        allowance = plan.allowance("mau") or 1
        cost = (
            account.cost_per_mau
            if account.cost_per_mau is not None
            else (plan.price / allowance if plan.price else Decimal(0))
        )
        internal, guests, joins, names = store.attribution_inputs(
            db, account.id, "mau", start_ms, eval_ms, account.internal_email_domains
        )
        attribution = tuple(attribute(internal, guests, joins, names, cost))
    closed = as_of >= cycle.end + timedelta(seconds=close_grace_s)
    return Report(
        account=account.id,
        provider=account.provider,
        as_of=as_of,
        cycle=cycle,
        closed=closed,
        plan_id=plan_id,
        periods=periods,
        metrics=tuple(metrics),
        invoice=invoice,
        attribution=attribution,
        notes=tuple(notes),
    )
