"""Compute a report: frame the cycle (pure), load its snapshot (the only reads), compute
(pure)."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from meterwise.config.errors import ConfigError
from meterwise.config.settings import Account, Settings
from meterwise.reconciler.attribution import attribute
from meterwise.reconciler.consistency import compare, run_checks
from meterwise.reconciler.cycles import to_ms
from meterwise.reconciler.distinct import distinct_metric
from meterwise.reconciler.fold import fold_pending
from meterwise.reconciler.forecast import forecast_sum
from meterwise.reconciler.frame import Frame, cycle_for, frame_for
from meterwise.reconciler.freeze import freeze
from meterwise.reconciler.invoice import build_invoice
from meterwise.reconciler.models import MetricReport, PlanPeriod, Report
from meterwise.reconciler.observation import observation_note, widen_for_observation
from meterwise.reconciler.snapshot import Snapshot, load_frozen, load_snapshot, observed_since
from meterwise.storage import Storage

__all__ = ["compute_report", "cycle_for", "get_account", "report_from"]

CLOSE_GRACE_S = 3600


def get_account(settings: Settings, account_id: str) -> Account:
    """The configured account or a `ConfigError` naming it."""
    try:
        return settings.accounts[account_id]
    except KeyError:
        raise ConfigError(f"accounts.{account_id}", "no such account in the config") from None


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
    frame = frame_for(settings, account, as_of, cycle_date, close_grace_s)
    fold_pending(store, settings, [account.id])  # every acknowledged delivery counts
    horizon = to_ms(known_at) if known_at is not None else None
    snapshot = load_snapshot(store, account, frame, segment, horizon)
    frozen = load_frozen(store, account, frame, segment, horizon)
    report = report_from(snapshot, settings, account, segment)
    if frozen is None:
        return report
    was = report_from(frozen.snapshot, settings, account, segment)
    return freeze(was, report, frozen.late, frozen.mailed_ms)


def _sums(
    snapshot: Snapshot, settings: Settings, account: Account, eval_ms: int
) -> list[tuple[Any, list[Decimal]]]:
    frame = snapshot.frame
    data = getattr(snapshot, frame.hooks.inputs) if frame.hooks.inputs else None
    max_open_s = settings.checks.open_interval_max_age_s
    return frame.hooks.sums(data, account, frame.plan, frame.cycle, eval_ms, frame.days, max_open_s)


def report_from(
    snapshot: Snapshot, settings: Settings, account: Account, segment: str | None = None
) -> Report:
    """The report of one snapshot. Pure: nothing is read."""
    frame: Frame = snapshot.frame
    catalog, cycle, periods, plan = settings.catalog, frame.cycle, frame.periods, frame.plan
    hooks, eval_at, eval_ms = frame.hooks, frame.eval_at, frame.eval_ms
    data = getattr(snapshot, hooks.inputs) if hooks.inputs else None
    metrics: list[MetricReport] = []
    overage: dict[str, list[tuple[PlanPeriod, int]]] = {}
    notes: list[str] = []
    if frame.before_signup:
        notes.append(
            f"this cycle ends before the account's cycle_anchor {account.cycle_anchor}: "
            "nothing is counted or billed before signup"
        )
    burnup: tuple[int, ...] = ()
    for inputs in snapshot.distinct:
        line, per_period, new = distinct_metric(
            inputs, account, catalog, plan, cycle, periods, eval_at
        )
        metrics.append(line)
        overage[inputs.metric] = per_period
        burnup = burnup or tuple(itertools.accumulate(new))  # the first (main) metric's
    for peak in hooks.peaks(data, account, plan, cycle, eval_ms):
        metrics.append(peak)
        if peak.overage_units and periods:
            overage[peak.usage.name] = [(periods[-1], int(peak.overage_units))]
    sums = _sums(snapshot, settings, account, eval_ms)
    # Usage per plan period (priced at the plan in force): the amounts known at each switch.
    cuts = [p.end for p in periods[:-1] if p.end < eval_at]
    known = [
        {u.name: u.used for u, _ in _sums(snapshot, settings, account, to_ms(c))} for c in cuts
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
            if frame.running
            else None
        )
        rate = plan.usage_rates.get(m_usage.name) if plan else None
        metrics.append(MetricReport(m_usage, None, Decimal(0), Decimal(0), forecast))
        if rate is None and m_usage.used > 0:
            notes.append(f"{m_usage.name}: no rate in plan {frame.plan_id}, not invoiced")
    next_plan = None if frame.before_signup else frame.timeline.plan_at(cycle.end)
    invoice = build_invoice(cycle, periods, next_plan, catalog, overage, usage, account.tz)
    since = observed_since(snapshot)
    if since is not None:
        notes.append(observation_note(since, cycle, account.timezone))
        metrics = [widen_for_observation(m, since, cycle) for m in metrics]
    attribution: tuple[Any, ...] = ()
    if snapshot.attribution is not None and plan is not None:
        allowance = plan.allowance("mau") or 1
        cost = (
            account.cost_per_mau
            if account.cost_per_mau is not None
            else (plan.price / allowance if plan.price else Decimal(0))
        )
        a = snapshot.attribution
        attribution = tuple(attribute(a.internal, a.guests, a.joins, a.names, cost))
    found = run_checks(snapshot.checks, account, settings.checks, frame.start_ms, eval_ms)
    main = metrics[0].usage.used if metrics and hooks.distinct else None
    figures = snapshot.figures
    return Report(
        account=account.id,
        provider=account.provider,
        as_of=frame.as_of,
        cycle=cycle,
        closed=frame.closed,
        plan_id=frame.plan_id,
        periods=periods,
        metrics=tuple(metrics),
        invoice=invoice,
        attribution=attribution,
        notes=tuple(notes),
        extras=hooks.extras(data, account, cycle, eval_ms, segment),
        checks=found,
        comparison=compare(main, invoice, figures, found) if figures else None,
        burnup=burnup,
        rooms=snapshot.rooms,
        timezone=account.timezone,
        overage_by_period={k: tuple(v) for k, v in overage.items()},
        usage_by_period={k: tuple(v) for k, v in usage.items()},
        observed_since=since,
        next_plan=next_plan,
    )
