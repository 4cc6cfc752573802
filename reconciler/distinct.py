"""One distinct metric (MAU and kin) of a cycle: count, overage per plan period, forecast.
Pure: the snapshot loader reads the inputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from meterwise.config.plans import Catalog, Plan
from meterwise.config.settings import Account
from meterwise.reconciler.cycles import from_ms, to_ms
from meterwise.reconciler.forecast import forecast_distinct
from meterwise.reconciler.invoice import distinct_overage
from meterwise.reconciler.models import BillingCycle, MetricReport, MetricUsage, PlanPeriod


@dataclass(frozen=True, slots=True)
class DistinctInputs:
    """One distinct metric's first sightings of the cycle, as counts."""

    metric: str
    used: int
    count_before: Mapping[int, int]  # plan-period cut (ms) -> distinct count before it
    crossed_ms: int | None  # when the (allowance + 1)-th entity was first seen
    new_per_day: tuple[int, ...]
    active_per_day: tuple[int, ...]  # sightings per day (empty once the cycle has ended)
    history: tuple[tuple[float, int], ...]  # the previous cycle: (active, weekday) per day
    # up to 3 earlier cycles: (weekday of the first day, new entities per day)
    history_new: tuple[tuple[int, tuple[int, ...]], ...] = ()


def distinct_metric(
    inputs: DistinctInputs,
    account: Account,
    catalog: Catalog,
    plan: Plan | None,
    cycle: BillingCycle,
    periods: tuple[PlanPeriod, ...],
    eval_at: datetime,
) -> tuple[MetricReport, list[tuple[PlanPeriod, int]], list[int]]:
    """The metric's report line, its overage units per plan period, and new entities per day."""
    metric, used = inputs.metric, inputs.used
    per_period = distinct_overage(
        periods, catalog, metric, inputs.count_before.__getitem__, to_ms(eval_at)
    )
    allowance = plan.allowance(metric) if plan else None
    crossed = None
    if allowance is not None and used > allowance and inputs.crossed_ms is not None:
        crossed = from_ms(inputs.crossed_ms)
    forecast = None
    if eval_at < cycle.end:
        forecast = forecast_distinct(
            metric,
            used,
            list(inputs.new_per_day),
            list(inputs.active_per_day),
            cycle,
            eval_at,
            account.tz,
            allowance,
            crossed,
            list(inputs.history),
            list(inputs.history_new),
        )
    units = Decimal(sum(u for _, u in per_period))
    amount = sum(
        (u * catalog.get(p.plan_id).overage_rates.get(metric, Decimal(0)) for p, u in per_period),
        Decimal(0),
    )
    usage = MetricUsage(metric, Decimal(used), "users")
    return (
        MetricReport(usage, allowance, units, amount, forecast),
        per_period,
        list(inputs.new_per_day),
    )
