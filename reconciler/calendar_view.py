"""Calendar-month views for WLL and custom events: history, growth, segments, system-only.
Pure: the snapshot loader reads the inputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meterwise.config.settings import Account
from meterwise.reconciler.cycles import from_ms, to_ms
from meterwise.reconciler.models import BillingCycle


def growth(current: int, previous: int) -> str | None:
    """Month-over-month change as a signed percentage, or None without a base."""
    if not previous:
        return None
    return f"{(current - previous) / previous:+.1%}"


@dataclass(frozen=True, slots=True)
class CalendarInputs:
    """Distinct users per stored cycle; the cycle's segments and system-only users."""

    history: tuple[tuple[int, int], ...]  # (cycle start ms, MAU), oldest first
    segments: Mapping[str, int] | None  # users per value of the asked property
    system_only: Mapping[str, int] | None  # WLL: users active only through system events


def calendar_extras(
    inputs: CalendarInputs,
    account: Account,
    cycle: BillingCycle,
    eval_ms: int,
    segment: str | None,
) -> dict[str, Any]:
    """MAU by month across history, month-over-month growth, segments, system-only users."""
    history = inputs.history
    start_ms = to_ms(cycle.start)
    extras: dict[str, Any] = {
        "mau_by_month": {
            f"{from_ms(c).astimezone(account.tz):%Y-%m}": n for c, n in history if c <= start_ms
        }
    }
    current = dict(history).get(start_ms, 0)
    earlier = [n for c, n in history if c < start_ms]
    change = growth(current, earlier[-1]) if earlier else None
    if change is not None:
        extras["growth_vs_previous_month"] = change
    if segment and inputs.segments is not None:
        extras["segments"] = {segment: dict(inputs.segments)}
        extras["segments_note"] = (
            f"distinct users per value of {segment!r}: a user seen with two values counts "
            "under both, so the segments can add up to more than the MAU; '(none)' holds "
            "users whose events lacked the property"
        )
    if inputs.system_only is not None:
        extras["system_only_users_by_event_type"] = dict(inputs.system_only)
    return extras
