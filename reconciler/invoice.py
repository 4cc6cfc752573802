"""The invoice issued at the end of a cycle, to the cent (the JaaS FAQ's rules)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from meterwise.config.plans import Catalog
from meterwise.reconciler.models import BillingCycle, Invoice, InvoiceLine, PlanPeriod

CENT = Decimal("0.01")


def line(code: str, description: str, quantity: Decimal, unit_price: Decimal) -> InvoiceLine:
    """An invoice line; only its amount is rounded, half-up to the cent."""
    amount = (quantity * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)
    return InvoiceLine(code, description, quantity, unit_price, amount)


def distinct_overage(
    periods: tuple[PlanPeriod, ...],
    catalog: Catalog,
    metric: str,
    count_before: Callable[[int], int],
    as_of_ms: int,
) -> list[tuple[PlanPeriod, int]]:
    """Overage units of a distinct metric per plan period, frozen at each plan switch.

    At each switch u: frozen = max(0, count(start..u) - earlier overage - old allowance),
    priced at the old plan's rate; overage before an upgrade is never waived.
    ``count_before(ms)`` is the distinct count of the cycle up to that instant.
    """
    result, frozen = [], 0
    for period in periods:
        allowance = catalog.get(period.plan_id).allowance(metric)
        if allowance is None:
            continue
        end_ms = min(int(period.end.timestamp() * 1000), as_of_ms)
        units = max(0, count_before(end_ms) - frozen - allowance)
        frozen += units
        result.append((period, units))
    return result


def build_invoice(
    cycle: BillingCycle,
    periods: tuple[PlanPeriod, ...],
    next_plan: str | None,
    catalog: Catalog,
    overage: Mapping[str, list[tuple[PlanPeriod, int]]],
    usage: Mapping[str, Sequence[tuple[PlanPeriod, Decimal]]],
    tz: tzinfo = UTC,
) -> Invoice:
    """Subscription of the next cycle, proration for each upgrade, overage, add-on usage.

    ``usage`` is per plan period: minutes are priced at the plan in force when they were used
    (10 minutes at a contract's $0.02 before an upgrade, 10 at $0.01 after). Dates in
    descriptions and ``issued_on`` are in the account's timezone ``tz``.
    """
    lines: list[InvoiceLine] = []
    if next_plan is not None:
        plan = catalog.get(next_plan)
        lines.append(
            line(
                "subscription",
                f"{plan.name}, next cycle from {cycle.end.astimezone(tz).date().isoformat()}",
                Decimal(1),
                plan.price,
            )
        )
    for old, new in zip(periods, periods[1:], strict=False):
        share = cycle.fraction_left(new.start, tz)
        old_plan, new_plan = catalog.get(old.plan_id), catalog.get(new.plan_id)
        lines.append(
            line(
                "proration_charge",
                f"{new_plan.name} from {new.start.isoformat()} to cycle end",
                share,
                new_plan.price,
            )
        )
        lines.append(
            line(
                "proration_credit",
                f"{old_plan.name} unused from {new.start.isoformat()}",
                share,
                -old_plan.price,
            )
        )
    for metric, per_period in overage.items():
        for period, units in per_period:
            if units > 0:
                plan = catalog.get(period.plan_id)
                rate = plan.overage_rates.get(metric, Decimal(0))
                lines.append(
                    line(
                        f"overage:{metric}",
                        f"{metric} over {plan.name} allowance",
                        Decimal(units),
                        rate,
                    )
                )
    for metric, used in usage.items():
        priced = [(catalog.get(p.plan_id), q) for p, q in used if q > 0]
        for plan, quantity in priced:
            usage_rate = plan.usage_rates.get(metric)
            if usage_rate is None:
                continue
            text = metric.replace("_", " ") + (f" on {plan.name}" if len(priced) > 1 else "")
            lines.append(line(f"usage:{metric}", text, quantity, usage_rate))
    return Invoice(issued_on=cycle.end.astimezone(tz), lines=tuple(lines))
