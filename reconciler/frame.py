"""The frame of a report: which cycle, evaluated when, under which plans. Pure: config and
time in, no storage; the snapshot loader reads what the frame says it needs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from meterwise.config.plans import Plan
from meterwise.config.settings import Account, Settings
from meterwise.reconciler.cycles import cycle_containing, to_ms
from meterwise.reconciler.models import BillingCycle, PlanPeriod
from meterwise.reconciler.providers import ProviderMetrics, metrics_for
from meterwise.reconciler.subscription import Timeline, build_timeline, plan_periods

DAY = timedelta(days=1)


def cycle_for(settings: Settings, account: Account, when: datetime | date) -> BillingCycle:
    """The account's cycle containing an instant, or a local date (any date in the cycle)."""
    if not isinstance(when, datetime):
        when = datetime.combine(when, time(12), tzinfo=account.tz)
    kind = settings.catalog.get(account.plan).cycle
    return cycle_containing(account.cycle_anchor, account.tz, when, kind)


@dataclass(frozen=True, slots=True)
class Frame:
    """One account's cycle as of an instant, with the plans in force."""

    as_of: datetime
    cycle: BillingCycle
    previous: BillingCycle
    earlier: tuple[BillingCycle, ...]  # the previous cycle and the two before it
    before_signup: bool
    eval_at: datetime  # as_of clamped to the cycle
    periods: tuple[PlanPeriod, ...]
    plan_id: str | None
    plan: Plan | None
    days: int
    closed: bool
    timeline: Timeline
    hooks: ProviderMetrics

    @property
    def start_ms(self) -> int:
        return to_ms(self.cycle.start)

    @property
    def eval_ms(self) -> int:
        return to_ms(self.eval_at)

    @property
    def running(self) -> bool:
        return self.eval_at < self.cycle.end


def frame_for(
    settings: Settings,
    account: Account,
    as_of: datetime,
    cycle_date: date | None,
    close_grace_s: int,
) -> Frame:
    """The frame of ``account``'s cycle holding ``cycle_date`` (default: ``as_of``)."""
    catalog = settings.catalog
    cycle = cycle_for(settings, account, cycle_date if cycle_date else as_of)
    # Nothing is billed or counted before signup: the cycle that holds the cycle_anchor.
    before_signup = cycle.end <= cycle_for(settings, account, account.cycle_anchor).start
    eval_at = cycle.start if before_signup else min(max(as_of, cycle.start), cycle.end)
    timeline = build_timeline(account, catalog)
    periods = () if before_signup else plan_periods(timeline, cycle)
    live = [p for p in periods if p.start < eval_at] or list(periods[:1])
    plan_id = live[-1].plan_id if live else None
    earlier = [cycle_for(settings, account, cycle.start - timedelta(seconds=1))]
    while len(earlier) < 3:
        earlier.append(cycle_for(settings, account, earlier[-1].start - timedelta(seconds=1)))
    return Frame(
        as_of=as_of,
        cycle=cycle,
        previous=earlier[0],
        earlier=tuple(earlier),
        before_signup=before_signup,
        eval_at=eval_at,
        periods=periods,
        plan_id=plan_id,
        plan=catalog.get(plan_id) if plan_id else None,
        days=max(1, math.ceil((eval_at - cycle.start) / DAY)),
        closed=as_of >= cycle.end + timedelta(seconds=close_grace_s),
        timeline=timeline,
        hooks=metrics_for(account.provider),
    )
