"""The invoice a cycle ends with if its forecast comes true: one code path for every projected
amount (alerts, subjects, the report page, the upgrade advice). Pure.

A projection is `build_invoice` itself, fed with projected quantities: overage units already
frozen at earlier plan switches stay as they are (never counted twice), the rest of the cycle
follows the chosen course of plans with the forecast's end-of-cycle figure, and summed usage
is the forecast's total.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from meterwise.config.plans import Catalog
from meterwise.reconciler.invoice import build_invoice
from meterwise.reconciler.models import Invoice, MetricReport, PlanPeriod, Report


def final_value(m: MetricReport) -> Decimal:
    """The metric's figure at cycle end: the forecast, never below what is already used."""
    if m.forecast is None:
        return m.usage.used
    return max(m.usage.used, m.forecast.value)


def _overage(
    report: Report, catalog: Catalog, now: datetime, course: tuple[PlanPeriod, ...]
) -> dict[str, list[tuple[PlanPeriod, int]]]:
    out: dict[str, list[tuple[PlanPeriod, int]]] = {}
    for metric, actual in report.overage_by_period.items():
        m = report.metric(metric)
        if m is None:
            continue
        past = [(p, u) for p, u in actual if p.end <= now]  # frozen at a switch: kept as is
        frozen = sum(u for _, u in past)
        used, final = int(m.usage.used), int(final_value(m))
        units = list(past)
        for period in course:
            if period.end < now or period in (p for p, _ in past):
                continue
            allowance = catalog.get(period.plan_id).allowance(metric)
            if allowance is None:
                continue
            count = final if period.end >= report.cycle.end else used  # cut at now: so far
            extra = max(0, count - frozen - allowance)
            frozen += extra
            units.append((period, extra))
        out[metric] = units
    return out


def _usage(
    report: Report, now: datetime, course: tuple[PlanPeriod, ...]
) -> dict[str, list[tuple[PlanPeriod, Decimal]]]:
    """Summed usage per period of ``course``: what ended periods used stays with their plan;
    the period cut at ``now`` has the rest so far; the last period has what the forecast adds."""
    out: dict[str, list[tuple[PlanPeriod, Decimal]]] = {}
    for metric, actual in report.usage_by_period.items():
        m = report.metric(metric)
        if m is None:
            continue
        past = [(p, q) for p, q in actual if p.end <= now]
        spent = sum((q for _, q in past), Decimal(0))
        used, final = m.usage.used, final_value(m)
        quantities = list(past)
        for period in course:
            if period.end < now or period in (p for p, _ in past):
                continue
            upto = final if period.end >= report.cycle.end else used
            quantities.append((period, max(Decimal(0), upto - spent)))
            spent = max(spent, upto)
        out[metric] = quantities
    return out


def course_invoice(
    report: Report,
    catalog: Catalog,
    now: datetime,
    course: tuple[PlanPeriod, ...],
    next_plan: str | None,
) -> Invoice:
    """The invoice at the end of ``report.cycle`` if the plans follow ``course`` and the
    forecasts come true."""
    return build_invoice(
        report.cycle,
        course,
        next_plan,
        catalog,
        _overage(report, catalog, now, course),
        _usage(report, now, course),
        ZoneInfo(report.timezone),
    )


def projected_invoice(report: Report, catalog: Catalog, now: datetime) -> Invoice:
    """The invoice if nothing changes (the configured plan course)."""
    return course_invoice(report, catalog, now, report.periods, report.next_plan)


def overage_amount(invoice: Invoice, metric: str) -> Decimal:
    """The invoice's overage charges for ``metric``."""
    return sum((ln.amount for ln in invoice.lines if ln.code == f"overage:{metric}"), Decimal(0))


def projected_overage(report: Report, catalog: Catalog, now: datetime, metric: str) -> Decimal:
    """The overage of ``metric`` on the projected invoice (frozen overage counted once)."""
    return overage_amount(projected_invoice(report, catalog, now), metric)
