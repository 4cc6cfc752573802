"""How instants and shares are shown to people: in the account's time zone, one rule. Pure.

Every date a person reads (emails, the report page and its chart, the CLI) is the account's
local date and time: a Europe/Berlin cycle of 8 Nov - 8 Dec is "Nov 8 to Dec 8", not the UTC
"Nov 7 to Dec 7". Percentages of an allowance are rounded down everywhere, so "100%" means the
allowance is reached and a warning never says 100% before it is.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo


def local(instant: datetime, timezone: str) -> datetime:
    """``instant`` in ``timezone``."""
    return instant.astimezone(ZoneInfo(timezone))


def day(instant: datetime, timezone: str) -> str:
    """E.g. ``Nov 8`` (local)."""
    when = local(instant, timezone)
    return f"{when:%b} {when.day}"


def stamp(instant: datetime, timezone: str) -> str:
    """E.g. ``2026-11-08 00:00 CET`` (local, with the zone's abbreviation)."""
    return f"{local(instant, timezone):%Y-%m-%d %H:%M %Z}"


def date_only(instant: datetime, timezone: str) -> str:
    """E.g. ``2026-11-08`` (local)."""
    return f"{local(instant, timezone):%Y-%m-%d}"


def percent(used: Decimal | int, allowance: Decimal | int) -> int:
    """``used`` as a whole percentage of ``allowance``, rounded down (the one rule)."""
    share = Decimal(used) * 100 / Decimal(allowance)
    return int(share.to_integral_value(rounding=ROUND_FLOOR))
