"""Domain values of the reconciler: frozen dataclasses passed between pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class BillingCycle:
    """A billing period [start, end), both aware UTC datetimes."""

    start: datetime
    end: datetime

    def contains(self, instant: datetime) -> bool:
        """True when ``instant`` falls inside the cycle."""
        return self.start <= instant < self.end

    def fraction_left(self, instant: datetime, tz: tzinfo = UTC) -> Decimal:
        """The share of the cycle after ``instant``, in days of the account's time zone ``tz``
        (wall-clock time, to the second): an upgrade at local midnight with 14 of 28 days left
        is exactly 1/2, also when a DST change makes one of those days 23 or 25 hours long."""

        def wall(when: datetime) -> datetime:
            return when.astimezone(tz).replace(tzinfo=None)

        total = int((wall(self.end) - wall(self.start)).total_seconds())
        left = int((wall(self.end) - wall(instant)).total_seconds())
        return Decimal(max(0, min(left, total))) / Decimal(total)

    @property
    def days(self) -> float:
        """Length in days (a month is 28 to 31, or a fraction around DST changes)."""
        return (self.end - self.start).total_seconds() / 86400


@dataclass(frozen=True, slots=True)
class PlanPeriod:
    """One plan in force over [start, end) inside a cycle."""

    plan_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class MetricUsage:
    """A metered quantity over a cycle as of an instant."""

    name: str
    used: Decimal
    unit: str = "units"
    estimated: bool = False
    open_intervals: int = 0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Forecast:
    """End-of-cycle projection of one metric, with a band and the projected crossing."""

    metric: str
    value: Decimal
    low: Decimal
    high: Decimal
    crossing: datetime | None
    confidence: str
    method: str


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One line of an invoice; ``amount`` is rounded half-up to the cent."""

    code: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Invoice:
    """The invoice issued at the end of a cycle."""

    issued_on: datetime
    lines: tuple[InvoiceLine, ...] = field(default_factory=tuple)

    @property
    def total(self) -> Decimal:
        """The sum of the lines."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))


@dataclass(frozen=True, slots=True)
class Attribution:
    """MAU attributed to one internal user (or to nobody: ``user`` None)."""

    user: str | None
    name: str | None
    mau: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class MetricReport:
    """A metric's usage beside its allowance, overage and forecast."""

    usage: MetricUsage
    allowance: int | None
    overage_units: Decimal
    overage_amount: Decimal
    forecast: Forecast | None


@dataclass(frozen=True, slots=True)
class Check:
    """One consistency check: how many findings, a few examples, what they mean."""

    code: str
    title: str
    count: int
    examples: tuple[str, ...]
    meaning: str
    affects: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProviderFigures:
    """What the provider invoiced or its console showed for a cycle."""

    mau: int | None
    total: Decimal | None
    lines: Mapping[str, Decimal]
    recorded_at: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class Difference:
    """Ours beside theirs for one figure."""

    item: str
    ours: Decimal
    theirs: Decimal

    @property
    def delta(self) -> Decimal:
        """Ours minus theirs."""
        return self.ours - self.theirs


@dataclass(frozen=True, slots=True)
class Comparison:
    """Our figures beside the provider's, with the likely causes of any difference."""

    figures: ProviderFigures
    rows: tuple[Difference, ...]
    causes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Report:
    """Everything a reconciliation says about one account's cycle as of an instant."""

    account: str
    provider: str
    as_of: datetime
    cycle: BillingCycle
    closed: bool
    plan_id: str | None
    periods: tuple[PlanPeriod, ...]
    metrics: tuple[MetricReport, ...]
    invoice: Invoice
    attribution: tuple[Attribution, ...]
    notes: tuple[str, ...] = ()
    extras: Mapping[str, Any] = field(default_factory=dict)
    checks: tuple[Check, ...] = ()
    comparison: Comparison | None = None
    burnup: tuple[int, ...] = ()  # cumulative distinct users per cycle day, up to as_of
    rooms: tuple[tuple[str, int], ...] = ()  # MAU first counted per room, top first
    timezone: str = "UTC"  # the account's: every date shown to people is local
    # Overage units per metric and plan period as of ``as_of`` (frozen at each plan switch),
    # and the plan of the next cycle: what a projection of the invoice starts from.
    overage_by_period: Mapping[str, tuple[tuple[PlanPeriod, int], ...]] = field(
        default_factory=dict
    )
    next_plan: str | None = None
    usage_by_period: Mapping[str, tuple[tuple[PlanPeriod, Decimal], ...]] = field(
        default_factory=dict
    )
    observed_since: datetime | None = None  # set when observation began after cycle start
    adjustments: Mapping[str, Any] | None = None  # late events over a frozen closed cycle

    @property
    def observed(self) -> bool:
        """False when Meterwise began observing the account only after this cycle ended."""
        return self.observed_since is None or self.observed_since < self.cycle.end

    def metric(self, name: str) -> MetricReport | None:
        """The named metric, if the report has it."""
        return next((m for m in self.metrics if m.usage.name == name), None)
