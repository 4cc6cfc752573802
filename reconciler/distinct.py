"""One distinct metric (MAU and kin) of a cycle: count, overage per plan period, forecast."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

from meterwise.config.plans import Catalog, Plan
from meterwise.config.settings import Account
from meterwise.reconciler.cycles import to_ms
from meterwise.reconciler.forecast import forecast_distinct
from meterwise.reconciler.invoice import distinct_overage
from meterwise.reconciler.models import BillingCycle, MetricReport, MetricUsage, PlanPeriod
from meterwise.storage import Storage

DAY = timedelta(days=1)


def _history(
    store: Storage, account: Account, metric: str, previous: BillingCycle
) -> list[tuple[float, int]]:
    """Daily active counts of the previous cycle with their weekdays (empty if none)."""
    start_ms, end_ms = to_ms(previous.start), to_ms(previous.end)
    if not store.has_activity(account.id, metric, start_ms, end_ms):
        return []
    days = math.ceil((previous.end - previous.start) / DAY)
    counts = store.activity_per_day(account.id, metric, start_ms, end_ms, days)
    return [
        (float(n), (previous.start + i * DAY).astimezone(account.tz).weekday())
        for i, n in enumerate(counts)
    ]


def distinct_metric(
    store: Storage,
    account: Account,
    catalog: Catalog,
    plan: Plan | None,
    metric: str,
    cycle: BillingCycle,
    previous: BillingCycle,
    periods: tuple[PlanPeriod, ...],
    eval_at: datetime,
    days: int,
) -> tuple[MetricReport, list[tuple[PlanPeriod, int]], list[int]]:
    """The metric's report line, its overage units per plan period, and new entities per day."""
    start_ms, eval_ms = to_ms(cycle.start), to_ms(eval_at)
    used = store.count_first_seen(account.id, metric, start_ms, eval_ms)
    count_before = partial(store.count_first_seen, account.id, metric, start_ms)
    per_period = distinct_overage(periods, catalog, metric, count_before, eval_ms)
    allowance = plan.allowance(metric) if plan else None
    crossed = None
    if allowance is not None and used > allowance:
        ms = store.nth_first_seen_ms(account.id, metric, start_ms, allowance + 1)
        crossed = datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None
    new_per_day = store.new_per_day(account.id, metric, start_ms, eval_ms, days)
    forecast = None
    if eval_at < cycle.end:
        forecast = forecast_distinct(
            metric,
            used,
            new_per_day,
            store.activity_per_day(account.id, metric, start_ms, eval_ms, days),
            cycle,
            eval_at,
            account.tz,
            allowance,
            crossed,
            _history(store, account, metric, previous),
        )
    units = Decimal(sum(u for _, u in per_period))
    amount = sum(
        (u * catalog.get(p.plan_id).overage_rates.get(metric, Decimal(0)) for p, u in per_period),
        Decimal(0),
    )
    usage = MetricUsage(metric, Decimal(used), "users")
    return MetricReport(usage, allowance, units, amount, forecast), per_period, new_per_day
