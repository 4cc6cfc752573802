"""The dashboard's overview: one row per account, what needs attention first. Pure.

A row is made from the account's report (as of ``now``) and three facts the report does not
hold: when its last webhook was received, the alert messages of this cycle and how many of
them failed. Rows sort by urgency: over the allowance now, then projected to cross, then
messages that could not be delivered, then webhooks gone silent, then check findings, then
by share of the allowance used.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from meterwise.config.plans import Catalog
from meterwise.reconciler.models import MetricReport, Report
from meterwise.reconciler.projection import projected_overage


@dataclass(frozen=True, slots=True)
class Facts:
    """What the overview shows beside an account's report."""

    last_received: datetime | None  # None: nothing received yet
    alerts_sent: int  # alert messages queued this cycle
    failures: int  # of them, permanently failed


@dataclass(frozen=True, slots=True)
class Row:
    """One account on the overview."""

    report: Report
    main: MetricReport | None
    days_left: float
    projected_overage: Decimal  # the rest of the cycle's overage if the forecast holds
    silent: bool  # no webhook for longer than the silence threshold (or never)
    findings: int
    facts: Facts
    attention: tuple[str, ...]  # why it needs attention, most urgent first
    rank: int  # 0 over the allowance ... 4 check findings, 5 nothing to see

    @property
    def share(self) -> float:
        """Share of the main allowance used (0 without an allowance)."""
        m = self.main
        if m is None or not m.allowance:
            return 0.0
        return float(m.usage.used) / m.allowance

    @property
    def bar(self) -> int:
        """The bar's width in percent (capped at 100)."""
        return min(100, round(self.share * 100))


def row_for(
    report: Report, facts: Facts, catalog: Catalog, now: datetime, silence: timedelta
) -> Row:
    """The overview's row of one account."""
    main = report.metrics[0] if report.metrics else None
    projected = Decimal(0)
    if main is not None and report.plan_id and not report.closed:
        projected = projected_overage(report, catalog, report.as_of, main.usage.name)
        projected -= main.overage_amount
    silent = facts.last_received is None or now - facts.last_received > silence
    findings = sum(1 for c in report.checks if c.count)
    over = main is not None and main.allowance is not None and main.usage.used > main.allowance
    crossing = (
        main is not None
        and main.forecast is not None
        and main.forecast.crossing is not None
        and not over
    )
    reasons = [
        (over, "over the allowance"),
        (crossing, "projected to cross"),
        (bool(facts.failures), f"{facts.failures} message(s) not delivered"),
        (silent, "no webhooks lately" if facts.last_received else "no webhook received yet"),
        (bool(findings), f"{findings} check(s) with findings"),
    ]
    rank = next((i for i, (on, _) in enumerate(reasons) if on), len(reasons))
    days_left = max(0.0, (report.cycle.end - now).total_seconds() / 86400)
    return Row(
        report,
        main,
        days_left,
        projected,
        silent,
        findings,
        facts,
        tuple(text for on, text in reasons if on),
        rank,
    )


def overview(rows: Iterable[Row]) -> Sequence[Row]:
    """The rows, what needs attention first (ties: the larger share of the allowance, then
    the account id)."""
    return sorted(rows, key=lambda r: (r.rank, -r.share, r.report.account))
