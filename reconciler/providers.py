"""What each provider meters beyond its distinct users: a registry of pure hooks.

A new provider is a receiver module plus an entry here (and its plans in the catalog):
which distinct metrics it counts, which summed metrics (with a per-day series for the
forecast), which peak metrics, and which extra views its report carries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from meterwise.config.plans import Plan
from meterwise.config.settings import Account
from meterwise.reconciler.addons import jaas_sums
from meterwise.reconciler.calendar_view import calendar_extras
from meterwise.reconciler.cometchat import cometchat_peaks, cometchat_sums
from meterwise.reconciler.models import BillingCycle, MetricReport, MetricUsage

# (the provider's inputs from the snapshot, account, plan, cycle, eval_ms, days,
#  open_interval_max_age_s)
SumHook = Callable[
    [Any, Account, Plan | None, BillingCycle, int, int, int],
    list[tuple[MetricUsage, list[Decimal]]],
]
PeakHook = Callable[[Any, Account, Plan | None, BillingCycle, int], list[MetricReport]]
ExtrasHook = Callable[[Any, Account, BillingCycle, int, str | None], dict[str, Any]]


def no_sums(
    inputs: Any,
    account: Account,
    plan: Plan | None,
    cycle: BillingCycle,
    eval_ms: int,
    days: int,
    max_open_s: int = 0,
) -> list[tuple[MetricUsage, list[Decimal]]]:
    """A provider with nothing summed."""
    return []


def no_peaks(
    inputs: Any, account: Account, plan: Plan | None, cycle: BillingCycle, eval_ms: int
) -> list[MetricReport]:
    """A provider with no peak metric."""
    return []


def no_extras(
    inputs: Any, account: Account, cycle: BillingCycle, eval_ms: int, segment: str | None
) -> dict[str, Any]:
    """A provider whose report has no extra views."""
    return {}


@dataclass(frozen=True, slots=True)
class ProviderMetrics:
    """The metrics one provider's report carries."""

    distinct: tuple[str, ...] = ("mau",)
    sums: SumHook = no_sums
    peaks: PeakHook = no_peaks
    extras: ExtrasHook = no_extras
    attribution: bool = False
    inputs: str = ""  # which of the snapshot's provider inputs the hooks read


PROVIDERS: dict[str, ProviderMetrics] = {
    "jaas": ProviderMetrics(sums=jaas_sums, attribution=True, inputs="jaas"),
    "cometchat": ProviderMetrics(sums=cometchat_sums, peaks=cometchat_peaks, inputs="cometchat"),
    "wll": ProviderMetrics(
        distinct=("mau", "mau_engaged"), extras=calendar_extras, inputs="calendar"
    ),
    "events": ProviderMetrics(extras=calendar_extras, inputs="calendar"),
}


def metrics_for(provider: str) -> ProviderMetrics:
    """The provider's metrics; an unknown provider counts MAU only."""
    return PROVIDERS.get(provider, ProviderMetrics())
