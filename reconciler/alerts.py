"""Alert rules over a report: thresholds, forecast crossing, projected cost. Pure.

Each rule fires at most once per account, cycle, metric and level; the caller stores what
fired (``fired``) and a new cycle re-arms everything because the cycle is part of the key.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from meterwise.config.plans import Catalog
from meterwise.config.settings import AlertRules
from meterwise.reconciler.models import Report
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
    for m in report.metrics:
        if not m.allowance:
            continue
        name, used = m.usage.name, m.usage.used
        share = used / Decimal(m.allowance)
        new = [
            t for t in rules.thresholds if share >= t and (name, "threshold", str(t)) not in fired
        ]
        if new:
            top = max(new)
            alerts.append(
                Alert(
                    name,
                    "threshold",
                    str(top),
                    f"{name.upper()} reached {_share(top)} of the allowance "
                    f"({used} of {m.allowance})",
                    tuple((name, "threshold", str(t)) for t in new),
                    10 + int(top * 100),
                )
            )
        f = m.forecast
        if (
            f is not None
            and f.crossing is not None
            and f.crossing < report.cycle.end
            and used <= m.allowance
            and CONFIDENCE_RANK[f.confidence] >= CONFIDENCE_RANK[rules.forecast_min_confidence]
        ):
            previous = forecast_crossings.get(name)
            moved = previous is not None and previous - f.crossing > timedelta(
                days=rules.forecast_moved_days
            )
            if previous is None or moved:
                level = f"forecast@{f.crossing:%Y-%m-%dT%H}"
                alerts.append(
                    Alert(
                        name,
                        "forecast",
                        level,
                        f"{name.upper()} is forecast to exceed {m.allowance} on "
                        f"{f.crossing:%b %d}"
                        + (" (earlier than forecast before)" if moved else ""),
                        ((name, "forecast", level),),
                        60,
                    )
                )
        if rules.overage_amount_alert is not None and plan is not None:
            amount = overage_amount(projected, name)
            if amount >= rules.overage_amount_alert and (name, "cost", "projected") not in fired:
                alerts.append(
                    Alert(
                        name,
                        "cost",
                        "projected",
                        f"projected {name} overage ${amount:.2f} reaches your "
                        f"${rules.overage_amount_alert:.2f} alert",
                        ((name, "cost", "projected"),),
                        70,
                    )
                )
    return sorted(alerts, key=lambda a: -a.severity)
