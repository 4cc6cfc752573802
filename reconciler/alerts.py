"""Alert rules over a report: thresholds, forecast crossing, projected cost. Pure.

Each rule fires at most once per account, cycle, metric, level and allowance; the caller
stores what fired (``fired``). A new cycle re-arms everything because the cycle is part of the
key, and so does a plan change inside the cycle: every level carries the plan and allowance it
was measured against (``0.5@jaas-standard:1500``), so the 50/80/100% warnings of a new plan
come after an upgrade. Keys written by release 0.1 carry no plan; they count as fired for the
allowance in force until a key with a plan is written in that cycle.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import NormalDist

from meterwise.config.plans import Catalog
from meterwise.config.settings import AlertRules
from meterwise.reconciler.display import day
from meterwise.reconciler.forecast import reach_confidence
from meterwise.reconciler.forecast_fit import Z80
from meterwise.reconciler.models import BillingCycle, MetricReport, Report
from meterwise.reconciler.projection import overage_amount, projected_invoice

CONFIDENCE_RANK = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert to send; ``keys`` are the (metric, rule, level) it marks as fired."""

    metric: str
    rule: str
    level: str
    headline: str
    keys: tuple[tuple[str, str, str], ...]
    severity: int


WEEK = timedelta(days=7)


# The band is an 80% interval (10th to 90th percentile): in a normal's units its half is
# Z80 sd. An allowance Z_LIKELY sd under the forecast is crossed with 80% probability.
Z_LIKELY = NormalDist().inv_cdf(0.8)


def crossing_confidence(m: MetricReport, cycle: BillingCycle, as_of: datetime) -> str:
    """How sure the projected crossing is. Before a whole week has been seen, the weekday
    shape itself is a guess: the forecast's own confidence (how narrow its band is). After,
    the band's low side, where a false alarm would end: as sure as the low side is narrow,
    "high" when even its low end (the 10th percentile) is over the allowance, and at least
    "medium" when the allowance is 0.84 sd or more under the forecast (an 80% chance). A
    wide band that lies mostly above the line is still a likely crossing."""
    f = m.forecast
    if f is None:
        return "low"
    if m.allowance is None or as_of - cycle.start < WEEK:
        return f.confidence
    return low_side_confidence(float(f.value), float(f.low), float(m.allowance))


def low_side_confidence(value: float, low: float, allowance: float) -> str:
    """A projected crossing's confidence after a week, from the forecast and its band's low
    end alone: a crossing is a false alarm when the cycle ends below the line, which the
    band's high end (a first cycle's allows for a jump) says nothing about."""
    if low > allowance:
        return "high"
    own = reach_confidence((value - low) / max(value, 1.0))
    sd = (value - low) / Z80
    likely = sd > 0 and value - allowance >= Z_LIKELY * sd
    return "medium" if likely and own == "low" else own


def forecast_warns(
    m: MetricReport, cycle: BillingCycle, as_of: datetime, min_confidence: str
) -> bool:
    """The forecast rule's condition: a crossing projected inside the cycle, not yet
    crossed, at a confidence the account's rules accept (`forecast_min_confidence`)."""
    f = m.forecast
    return (
        f is not None
        and m.allowance is not None
        and f.crossing is not None
        and f.crossing < cycle.end
        and m.usage.used <= m.allowance
        and CONFIDENCE_RANK[crossing_confidence(m, cycle, as_of)] >= CONFIDENCE_RANK[min_confidence]
    )


def _share(level: Decimal) -> str:
    return f"{(level * 100).normalize():f}%"


def evaluate(
    report: Report,
    rules: AlertRules,
    fired: Collection[tuple[str, str, str]],
    forecast_crossings: Mapping[str, datetime],
    catalog: Catalog,
) -> list[Alert]:
    """The alerts this report raises that have not fired yet in its cycle."""
    alerts: list[Alert] = []
    plan = catalog.get(report.plan_id) if report.plan_id else None
    projected = projected_invoice(report, catalog, report.as_of)
    plan_name = plan.name if plan else "plan"
    for m in report.metrics:
        if not m.allowance:
            continue
        name, used = m.usage.name, m.usage.used
        arm = f"{report.plan_id}:{m.allowance}"
        legacy = not any(k[0] == name and "@" in k[2] for k in fired)  # only 0.1's keys so far

        def done(rule: str, level: str, old: str, name: str = name, legacy: bool = legacy) -> bool:
            return (name, rule, level) in fired or (legacy and (name, rule, old) in fired)

        share = used / Decimal(m.allowance)
        new = [
            t
            for t in rules.thresholds
            if share >= t and not done("threshold", f"{t}@{arm}", str(t))
        ]
        if new:
            top = max(new)
            alerts.append(
                Alert(
                    name,
                    "threshold",
                    f"{top}@{arm}",
                    f"{name.upper()} reached {_share(top)} of the {plan_name} allowance "
                    f"({used} of {m.allowance})",
                    tuple((name, "threshold", f"{t}@{arm}") for t in new),
                    10 + int(top * 100),
                )
            )
        f = m.forecast
        if (
            f is not None
            and f.crossing is not None
            and forecast_warns(m, report.cycle, report.as_of, rules.forecast_min_confidence)
        ):
            previous = forecast_crossings.get(f"{name}@{arm}")
            if previous is None and legacy:
                previous = forecast_crossings.get(name)
            moved = previous is not None and previous - f.crossing > timedelta(
                days=rules.forecast_moved_days
            )
            if previous is None or moved:
                level = f"forecast@{f.crossing:%Y-%m-%dT%H}@{arm}"
                alerts.append(
                    Alert(
                        name,
                        "forecast",
                        level,
                        f"{name.upper()} is forecast to exceed the {plan_name} allowance of "
                        f"{m.allowance} on {day(f.crossing, report.timezone)}"
                        + (" (earlier than forecast before)" if moved else ""),
                        ((name, "forecast", level),),
                        60,
                    )
                )
        if rules.overage_amount_alert is not None and plan is not None:
            amount = overage_amount(projected, name)
            level = f"projected@{arm}"
            if amount >= rules.overage_amount_alert and not done("cost", level, "projected"):
                alerts.append(
                    Alert(
                        name,
                        "cost",
                        level,
                        f"projected {name} overage ${amount:.2f} on {plan_name} reaches your "
                        f"${rules.overage_amount_alert:.2f} alert",
                        ((name, "cost", level),),
                        70,
                    )
                )
    alerts += ingest_failures(report, fired)
    return sorted(alerts, key=lambda a: -a.severity)


# Findings that mean events are being lost, so the usage figures are too low.
INGEST_FAILURES = {
    "signature_rejections": "deliveries are being rejected (a rotated or wrong secret?)",
    "silence": "no webhooks at hours that usually have traffic",
    "usage_missing": "meetings without USAGE webhooks (lost deliveries)",
}


def ingest_failures(report: Report, fired: Collection[tuple[str, str, str]]) -> list[Alert]:
    """One alert per finding kind and cycle while the finding lasts (see `cleared`); the key
    names the episode (its first example), so a finding that clears and comes back warns
    again with a message of its own."""
    out = []
    active = {k[2].partition("@")[0] for k in fired if k[1] == "ingest"}
    for check in report.checks:
        if check.code in INGEST_FAILURES and check.count and check.code not in active:
            episode = check.examples[0] if check.examples else str(check.count)
            key = ("*", "ingest", f"{check.code}@{episode}")
            example = f": {check.examples[0]}" if check.examples else ""
            out.append(
                Alert(
                    "*",
                    "ingest",
                    check.code,
                    f"{check.title} ({check.count}){example}. Usage figures may be low: "
                    f"{INGEST_FAILURES[check.code]}",
                    (key,),
                    80,
                )
            )
    return out


def cleared(report: Report, fired: Collection[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Ingest-failure alerts whose finding is gone: re-armed, so a new one warns again."""
    counts = {c.code: c.count for c in report.checks}
    return [k for k in fired if k[1] == "ingest" and counts.get(k[2].partition("@")[0]) == 0]
