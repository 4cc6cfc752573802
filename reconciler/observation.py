"""A cycle Meterwise observed only in part: what to say, and how much less to trust. Pure.

Webhooks sent before Meterwise was installed never reached it, and JaaS offers no way to fetch
them: the figures of a partly observed cycle are lower bounds. Every report, page and email of
such a cycle says when observation began; the forecast band's upper edge is widened by the
unobserved share of the cycle and its confidence set to low (so `forecast_min_confidence`
keeps forecast alerts quiet); a cycle that ended before observation began gets no closing
email.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from meterwise.reconciler.display import stamp
from meterwise.reconciler.models import BillingCycle, MetricReport


def observation_note(since: datetime, cycle: BillingCycle, timezone: str) -> str:
    """What a report of this cycle must say about observation."""
    if since >= cycle.end:
        return (
            f"not observed: Meterwise began observing this account on {stamp(since, timezone)}, "
            "after this cycle ended; its figures are unknown"
        )
    return (
        f"partly observed: Meterwise began observing this account on "
        f"{stamp(since, timezone)}; usage before then is not in these figures (a lower bound)"
    )


def unobserved_share(since: datetime, cycle: BillingCycle) -> Decimal:
    """The share of the cycle before observation began (0 to 1)."""
    total = (cycle.end - cycle.start).total_seconds()
    missed = min(max((since - cycle.start).total_seconds(), 0.0), total)
    return Decimal(str(missed / total)) if total else Decimal(0)


def widen_for_observation(m: MetricReport, since: datetime, cycle: BillingCycle) -> MetricReport:
    """The metric with its band's upper edge scaled to the whole cycle, confidence low."""
    f = m.forecast
    if f is None:
        return m
    missed = unobserved_share(since, cycle)
    if missed >= 1:
        return replace(m, forecast=None)
    high = (f.high / (1 - missed)).quantize(Decimal(1))
    return replace(m, forecast=replace(f, high=max(f.high, high), confidence="low"))
