"""Plan history: which plan is in force when, from the account's plan changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from meterwise.config.plans import Catalog
from meterwise.config.settings import Account
from meterwise.reconciler.cycles import cycle_containing
from meterwise.reconciler.models import BillingCycle, PlanPeriod

_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Timeline:
    """Effective plan switches, sorted; the first is the initial plan."""

    switches: tuple[tuple[datetime, str], ...]
    ends_at: datetime | None  # end of the cycle in which the cancellation falls

    def plan_at(self, instant: datetime) -> str | None:
        """The plan in force at ``instant`` (None after cancellation)."""
        if self.ends_at is not None and instant >= self.ends_at:
            return None
        current = self.switches[0][1]
        for at, plan in self.switches:
            if at <= instant:
                current = plan
        return current


def build_timeline(account: Account, catalog: Catalog) -> Timeline:
    """Apply the rules: an upgrade (a dearer plan) takes effect at its instant; a downgrade
    (cheaper or equal) at the start of the next cycle; a cancellation at the end of the
    cycle in which it falls."""
    kind = catalog.get(account.plan).cycle
    switches: list[tuple[datetime, str]] = [(_BEGINNING, account.plan)]
    for change in account.plan_changes:
        current = catalog.get(_plan_at(switches, change.at))
        new = catalog.get(change.plan)
        if new.price > current.price:
            effective = change.at
        else:
            effective = cycle_containing(account.cycle_anchor, account.tz, change.at, kind).end
        switches.append((effective, change.plan))
        switches.sort(key=lambda s: s[0])
    ends_at = None
    if account.cancel_at is not None:
        ends_at = cycle_containing(account.cycle_anchor, account.tz, account.cancel_at, kind).end
    return Timeline(switches=tuple(switches), ends_at=ends_at)


def _plan_at(switches: list[tuple[datetime, str]], instant: datetime) -> str:
    current = switches[0][1]
    for at, plan in switches:
        if at <= instant:
            current = plan
    return current


def plan_periods(timeline: Timeline, cycle: BillingCycle) -> tuple[PlanPeriod, ...]:
    """The plans in force inside ``cycle``, split at each switch."""
    cuts = [at for at, _ in timeline.switches if cycle.start < at < cycle.end]
    bounds = [cycle.start, *cuts, cycle.end]
    periods: list[PlanPeriod] = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        plan = timeline.plan_at(start)
        if plan is None:
            break
        if periods and periods[-1].plan_id == plan:
            periods[-1] = PlanPeriod(plan, periods[-1].start, end)
        else:
            periods.append(PlanPeriod(plan, start, end))
    return tuple(periods)
