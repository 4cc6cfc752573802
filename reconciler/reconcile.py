"""Compute a report: load one cycle's values from the store and run the pure core on them."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from meterwise.config.errors import ConfigError
from meterwise.config.settings import Account, Settings
from meterwise.reconciler.attribution import Join, attribute
from meterwise.reconciler.consistency import compare, load_figures, run_checks
from meterwise.reconciler.cycles import cycle_containing, to_ms
from meterwise.reconciler.distinct import distinct_metric
from meterwise.reconciler.forecast import forecast_sum
from meterwise.reconciler.freeze import freeze
from meterwise.reconciler.invoice import build_invoice
from meterwise.reconciler.models import BillingCycle, MetricReport, PlanPeriod, Report
from meterwise.reconciler.observation import observation_note, widen_for_observation
from meterwise.reconciler.providers import metrics_for
from meterwise.reconciler.subscription import build_timeline, plan_periods
from meterwise.storage import Storage

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


def compute_report(
    store: Storage,
    settings: Settings,
    account_id: str,
    as_of: datetime,
    cycle_date: date | None = None,
    close_grace_s: int = CLOSE_GRACE_S,
    segment: str | None = None,
    known_at: datetime | None = None,
) -> Report:
    """The reconciliation of one account's cycle as of ``as_of`` (default: its cycle).

    ``known_at``: count only what Meterwise had received by then (`report --at` uses it, so
    a report as of yesterday never changes); None counts everything stored (event time only).

    A closed cycle whose closing report was mailed is frozen: its metrics and invoice stay as
    they were when that report was queued; events received later and dated inside it are
    listed apart as ``adjustments`` (what they would change, when they arrived).
    """
    account = get_account(settings, account_id)
    horizon = to_ms(known_at) if known_at is not None else None
    with store.known_at(horizon):
        report = _compute(store, settings, account, as_of, cycle_date, close_grace_s, segment)
    if not report.closed:
        return report
    mailed = store.closing_mailed_ms(account.id, to_ms(report.cycle.start))
    if mailed is None or (horizon is not None and horizon <= mailed):
        return report
    with store.known_at(mailed):
        frozen = _compute(store, settings, account, as_of, cycle_date, close_grace_s, segment)
    late = store.late_arrivals(
        account.id, to_ms(report.cycle.start), to_ms(report.cycle.end), mailed, horizon
    )
    return freeze(frozen, report, late, mailed)


def _compute(
    store: Storage,
    settings: Settings,
    account: Account,
    as_of: datetime,
    cycle_date: date | None,
    close_grace_s: int,
    segment: str | None,
) -> Report:
    """Read one cycle's values and run the pure core on them."""
    catalog = settings.catalog
    cycle = cycle_for(settings, account, cycle_date if cycle_date else as_of)
    # Nothing is billed or counted before signup: the cycle that holds the cycle_anchor.
    before_signup = cycle.end <= cycle_for(settings, account, account.cycle_anchor).start
    eval_at = cycle.start if before_signup else min(max(as_of, cycle.start), cycle.end)
    eval_ms, start_ms = to_ms(eval_at), to_ms(cycle.start)
    timeline = build_timeline(account, catalog)
    periods = () if before_signup else plan_periods(timeline, cycle)
    live = [p for p in periods if p.start < eval_at] or list(periods[:1])
    plan_id = live[-1].plan_id if live else None
    plan = catalog.get(plan_id) if plan_id else None
    days = max(1, math.ceil((eval_at - cycle.start) / DAY))
    running = eval_at < cycle.end
    hooks = metrics_for(account.provider)
    previous = cycle_for(settings, account, cycle.start - timedelta(seconds=1))
    metrics: list[MetricReport] = []
    overage: dict[str, list[tuple[PlanPeriod, int]]] = {}
    notes: list[str] = []
    if before_signup:
        notes.append(
            f"this cycle ends before the account's cycle_anchor {account.cycle_anchor}: "
            "nothing is counted or billed before signup"
        )
    burnup: tuple[int, ...] = ()
    for metric in hooks.distinct:
        line, per_period, new = distinct_metric(
            store, account, catalog, plan, metric, cycle, previous, periods, eval_at, days
        )
        metrics.append(line)
        overage[metric] = per_period
        burnup = burnup or tuple(itertools.accumulate(new))  # the first (main) metric's
    for peak in hooks.peaks(store, account, plan, cycle, eval_ms):
        metrics.append(peak)
        if peak.overage_units and periods:
            overage[peak.usage.name] = [(periods[-1], int(peak.overage_units))]
    max_open_s = settings.checks.open_interval_max_age_s
    sums = hooks.sums(store, account, plan, cycle, eval_ms, days, max_open_s)
    # Usage per plan period (priced at the plan in force): the amounts known at each switch.
    cuts = [p.end for p in periods[:-1] if p.end < eval_at]
    known = [
        {
            u.name: u.used
            for u, _ in hooks.sums(store, account, plan, cycle, to_ms(c), days, max_open_s)
        }
        for c in cuts
    ]
    usage: dict[str, list[tuple[PlanPeriod, Decimal]]] = {}
    for m_usage, per_day in sums:
        totals = [k.get(m_usage.name, Decimal(0)) for k in known] + [m_usage.used]
        usage[m_usage.name] = [
            (p, total - before)
            for p, total, before in zip(periods, totals, [Decimal(0), *totals], strict=False)
        ]
        forecast = (
            forecast_sum(m_usage.name, m_usage.used, per_day, cycle, eval_at, account.tz, None)
            if running
            else None
        )
        rate = plan.usage_rates.get(m_usage.name) if plan else None
        metrics.append(MetricReport(m_usage, None, Decimal(0), Decimal(0), forecast))
        if rate is None and m_usage.used > 0:
            notes.append(f"{m_usage.name}: no rate in plan {plan_id}, not invoiced")
    next_plan = None if before_signup else timeline.plan_at(cycle.end)
    invoice = build_invoice(cycle, periods, next_plan, catalog, overage, usage, account.tz)
    since_ms = store.observed_since(account.id)
    observed_since = None
    if since_ms is not None and since_ms > start_ms:
        observed_since = datetime.fromtimestamp(since_ms / 1000, UTC)
        notes.append(observation_note(observed_since, cycle, account.timezone))
        metrics = [widen_for_observation(m, observed_since, cycle) for m in metrics]
    attribution: tuple[Any, ...] = ()
    if hooks.attribution and plan is not None:
        allowance = plan.allowance("mau") or 1
        cost = (
            account.cost_per_mau
            if account.cost_per_mau is not None
            else (plan.price / allowance if plan.price else Decimal(0))
        )
        internal, guests, joins, names = store.attribution_inputs(
            account.id, "mau", start_ms, eval_ms, account.internal_email_domains
        )
        meetings = {s: [Join(*j) for j in js] for s, js in joins.items()}
        attribution = tuple(attribute(internal, guests, meetings, names, cost))
    closed = as_of >= cycle.end + timedelta(seconds=close_grace_s)
    found = run_checks(store, account, settings.checks, start_ms, eval_ms)
    figures = load_figures(store, account.id, start_ms)
    main = metrics[0].usage.used if metrics and hooks.distinct else None
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
        extras=hooks.extras(store, account, cycle, eval_ms, segment),
        checks=found,
        comparison=compare(main, invoice, figures, found) if figures else None,
        burnup=burnup,
        rooms=tuple(store.mau_by_room(account.id, start_ms, eval_ms)),
        timezone=account.timezone,
        overage_by_period={k: tuple(v) for k, v in overage.items()},
        usage_by_period={k: tuple(v) for k, v in usage.items()},
        observed_since=observed_since,
        next_plan=next_plan,
    )
