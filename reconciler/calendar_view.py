"""Calendar-month views for WLL and custom events: history, growth, segments, system-only."""

from __future__ import annotations

from typing import Any

from meterwise.config.settings import Account
from meterwise.reconciler.cycles import from_ms, to_ms
from meterwise.reconciler.models import BillingCycle
from meterwise.storage import Storage


def growth(current: int, previous: int) -> str | None:
    """Month-over-month change as a signed percentage, or None without a base."""
    if not previous:
        return None
    return f"{(current - previous) / previous:+.1%}"


def calendar_extras(
    store: Storage, account: Account, cycle: BillingCycle, eval_ms: int, segment: str | None
) -> dict[str, Any]:
    """MAU by month across history, month-over-month growth, segments, system-only users."""
    history = store.distinct_by_cycle(account.id, "mau")
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
    if segment:
        extras["segments"] = {segment: store.segments(account.id, start_ms, eval_ms, segment)}
        extras["segments_note"] = (
            f"distinct users per value of {segment!r}: a user seen with two values counts "
            "under both, so the segments can add up to more than the MAU; '(none)' holds "
            "users whose events lacked the property"
        )
    if account.provider == "wll":
        extras["system_only_users_by_event_type"] = store.system_only_by_type(
            account.id, start_ms, start_ms, eval_ms
        )
    return extras
