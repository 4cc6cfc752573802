"""What the cycle will cost if nothing changes, or if the account upgrades now. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from meterwise.config.plans import Catalog
from meterwise.reconciler.invoice import CENT, distinct_overage
from meterwise.reconciler.models import PlanPeriod, Report


@dataclass(frozen=True, slots=True)
class Option:
    """The projected cost of this cycle on one course of action."""

    plan_id: str
    action: str
    cycle_cost: Decimal
    overage: Decimal
    next_cycle_fee: Decimal


def _cost(
    report: Report,
    periods: tuple[PlanPeriod, ...],
    catalog: Catalog,
    metric: str,
    used: int,
    forecast: int,
    now: datetime,
) -> tuple[Decimal, Decimal]:
    now_ms = int(now.timestamp() * 1000)
    end_ms = int(report.cycle.end.timestamp() * 1000)
    over = distinct_overage(
        periods, catalog, metric, lambda ms: used if ms <= now_ms else forecast, end_ms
    )
    overage = sum(
        (
            Decimal(u) * catalog.get(p.plan_id).overage_rates.get(metric, Decimal(0))
            for p, u in over
        ),
        Decimal(0),
    )
    fees = catalog.get(periods[0].plan_id).price  # paid up front for the cycle
    for old, new in zip(periods, periods[1:], strict=False):
        share = report.cycle.fraction_left(new.start)
        fees += share * (catalog.get(new.plan_id).price - catalog.get(old.plan_id).price)
    return (fees + overage).quantize(CENT), overage.quantize(CENT)


def recommend(report: Report, catalog: Catalog, now: datetime, metric: str = "mau") -> list[Option]:
    """Options sorted cheapest first: stay on the plan, or upgrade now to each dearer plan.

    Uses the invoice rules: proration to the second, and overage before an upgrade frozen at
    the old plan's rate, never waived.
    """
    m = report.metric(metric)
    if m is None or m.forecast is None or not report.periods or report.plan_id is None:
        return []
    used, forecast = int(m.usage.used), max(int(m.forecast.value), int(m.usage.used))
    current = catalog.get(report.plan_id)
    live = tuple(p for p in report.periods if p.start < now)
    stay = live[:-1] + (PlanPeriod(live[-1].plan_id, live[-1].start, report.cycle.end),)
    cost, overage = _cost(report, stay, catalog, metric, used, forecast, now)
    options = [Option(current.id, f"stay on {current.name}", cost, overage, current.price)]
    for plan in catalog.for_provider(current.provider):
        if plan.price <= current.price or plan.allowance(metric) is None:
            continue
        periods = live[:-1] + (
            PlanPeriod(live[-1].plan_id, live[-1].start, now),
            PlanPeriod(plan.id, now, report.cycle.end),
        )
        cost, overage = _cost(report, periods, catalog, metric, used, forecast, now)
        options.append(Option(plan.id, f"upgrade now to {plan.name}", cost, overage, plan.price))
    return sorted(options, key=lambda o: (o.cycle_cost, o.next_cycle_fee))
