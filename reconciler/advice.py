"""What the next invoice will be if nothing changes, or if the account upgrades now. Pure.

Every option is a whole projected invoice built by `projection.course_invoice`, i.e. by the
invoice builder itself: subscription of the next cycle, proration, overage (frozen before an
upgrade, never waived) and usage charges. So the advice equals, to the cent, the invoice the
account gets if it takes the advice and the forecast comes true.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from meterwise.config.plans import Catalog
from meterwise.reconciler.models import Invoice, PlanPeriod, Report
from meterwise.reconciler.projection import course_invoice


@dataclass(frozen=True, slots=True)
class Option:
    """One course of action and the next invoice it leads to."""

    plan_id: str
    action: str
    invoice: Invoice
    next_cycle_fee: Decimal
    downgrade_plan: str | None = None  # when going back next cycle makes it cheaper
    downgrade_total: Decimal | None = None

    @property
    def total(self) -> Decimal:
        """The next invoice's total on this course."""
        return self.invoice.total

    @property
    def best_total(self) -> Decimal:
        """The total of the cheaper variant (downgrading again next cycle, when offered)."""
        return min(self.total, self.downgrade_total or self.total)

    def charges(self, prefix: str) -> Decimal:
        """The sum of the invoice lines whose code starts with ``prefix``."""
        lines = self.invoice.lines
        return sum((ln.amount for ln in lines if ln.code.startswith(prefix)), Decimal(0))


def recommend(report: Report, catalog: Catalog, now: datetime, metric: str = "mau") -> list[Option]:
    """Options cheapest first: stay on the course, or upgrade now to each dearer plan."""
    m = report.metric(metric)
    if m is None or m.forecast is None or not report.periods or report.plan_id is None:
        return []
    current = catalog.get(report.plan_id)
    stay = course_invoice(report, catalog, now, report.periods, report.next_plan)
    fee = catalog.get(report.next_plan).price if report.next_plan else Decimal(0)
    options = [Option(current.id, f"stay on {current.name}", stay, fee)]
    live = tuple(p for p in report.periods if p.start < now)
    for plan in catalog.for_provider(current.provider):
        if plan.price <= current.price or plan.allowance(metric) is None:
            continue
        course = live[:-1] + (
            PlanPeriod(live[-1].plan_id, live[-1].start, now),
            PlanPeriod(plan.id, now, report.cycle.end),
        )
        keep = course_invoice(report, catalog, now, course, plan.id)
        back = course_invoice(report, catalog, now, course, current.id)
        cheaper = back.total < keep.total
        options.append(
            Option(
                plan.id,
                f"upgrade now to {plan.name}",
                keep,
                plan.price,
                current.id if cheaper else None,
                back.total if cheaper else None,
            )
        )
    return sorted(options, key=lambda o: (o.best_total, o.next_cycle_fee))
