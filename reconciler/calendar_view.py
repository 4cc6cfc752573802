"""Calendar-month views for WLL and custom events: history, growth, segments, system-only."""

from __future__ import annotations

from typing import Any

from meterwise.config.settings import Account
from meterwise.reconciler import store_extras
from meterwise.reconciler.cycles import from_ms, to_ms
from meterwise.reconciler.models import BillingCycle


def growth(current: int, previous: int) -> str | None:
    """Month-over-month change as a signed percentage, or None without a base."""
    if not previous:
        return None
    return f"{(current - previous) / previous:+.1%}"


def calendar_extras(
    db: Any, account: Account, cycle: BillingCycle, eval_ms: int, segment: str | None
) -> dict[str, Any]:
    """MAU by month across history, month-over-month growth, segments, system-only users."""
    history = store_extras.distinct_by_cycle(db, account.id, "mau")
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
        extras["segments"] = {
            segment: store_extras.segments(db, account.id, start_ms, eval_ms, segment)
        }
        extras["segments_note"] = (
            f"distinct users per value of {segment!r}: a user seen with two values counts "
            "under both, so the segments can add up to more than the MAU; '(none)' holds "
            "users whose events lacked the property"
        )
    if account.provider == "wll":
        extras["system_only_users_by_event_type"] = store_extras.system_only_by_type(
            db, account.id, start_ms, start_ms, eval_ms
        )
    return extras
