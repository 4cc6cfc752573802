"""Billing cycles: anchored on the signup day, or calendar months; pure functions of time."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import UTC, date, datetime, time, tzinfo

from meterwise.config.settings import Account
from meterwise.reconciler.models import BillingCycle


def _boundary(year: int, month: int, anchor_day: int, tz: tzinfo) -> datetime:
    """00:00 local on the billing day of a month (its last day when the month is short)."""
    day = min(anchor_day, calendar.monthrange(year, month)[1])
    return datetime.combine(date(year, month, day), time(0), tzinfo=tz).astimezone(UTC)


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def cycle_containing(
    anchor: date, tz: tzinfo, instant: datetime, kind: str = "anchored"
) -> BillingCycle:
    """The billing cycle that contains ``instant``.

    Anchored cycles run from the anchor's day of month, 00:00 in the account's timezone, to the
    same day next month; for anchor days 29-31 a short month uses its last day. Calendar cycles
    start on the 1st.
    """
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    day = 1 if kind == "calendar" else anchor.day
    local = instant.astimezone(tz)
    year, month = local.year, local.month
    start = _boundary(year, month, day, tz)
    if instant < start:
        year, month = _shift(year, month, -1)
        start = _boundary(year, month, day, tz)
    next_year, next_month = _shift(year, month, 1)
    return BillingCycle(start=start, end=_boundary(next_year, next_month, day, tz))


def cycle_after(
    cycle: BillingCycle, anchor: date, tz: tzinfo, kind: str = "anchored"
) -> BillingCycle:
    """The cycle that starts when ``cycle`` ends."""
    return cycle_containing(anchor, tz, cycle.end, kind)


def cycle_before(
    cycle: BillingCycle, anchor: date, tz: tzinfo, kind: str = "anchored"
) -> BillingCycle:
    """The cycle that ends when ``cycle`` starts."""
    return cycle_containing(anchor, tz, cycle.start.replace(microsecond=0) - _ONE_SECOND, kind)


def to_ms(instant: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return int(instant.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """An aware UTC datetime from epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


_ONE_SECOND = datetime(2000, 1, 1, 0, 0, 1) - datetime(2000, 1, 1)


def closed_boundary(cycle_start_ms: int, current_cycle_start_ms: int) -> int:
    """Purge whole closed cycles only: never past the start of the current cycle."""
    return min(cycle_start_ms, current_cycle_start_ms)


def cycle_start_of(account: Account, kind: str) -> Callable[[int], int]:
    """Event time (ms) -> start (ms) of the account's billing cycle that holds it.

    The function remembers the last few cycles it met as [start, end) in ms, so the fold's
    millions of calls cost a comparison each, not a timezone conversion (the answer is the
    same: a cycle is exactly the instants from its start to its end)."""
    met: list[tuple[int, int]] = []

    def start(ts_ms: int) -> int:
        for lo, hi in met:
            if lo <= ts_ms < hi:
                return lo
        cycle = cycle_containing(account.cycle_anchor, account.tz, from_ms(ts_ms), kind)
        lo, hi = to_ms(cycle.start), to_ms(cycle.end)
        met[:] = [(lo, hi), *met[:3]]
        return lo

    return start
