"""Billing cycles are pure functions of the anchor, timezone and instant."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from meterwise.reconciler.cycles import cycle_after, cycle_before, cycle_containing


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    "anchor,instant,start,end",
    [
        (date(2026, 3, 8), utc(2026, 3, 23, 12), utc(2026, 3, 8), utc(2026, 4, 8)),
        (date(2026, 3, 8), utc(2026, 4, 8), utc(2026, 4, 8), utc(2026, 5, 8)),
        (date(2026, 3, 8), utc(2026, 4, 7, 23, 59, 59), utc(2026, 3, 8), utc(2026, 4, 8)),
        (date(2026, 1, 31), utc(2026, 2, 15), utc(2026, 1, 31), utc(2026, 2, 28)),
        (date(2026, 1, 31), utc(2026, 3, 1), utc(2026, 2, 28), utc(2026, 3, 31)),
        (date(2026, 1, 31), utc(2026, 4, 15), utc(2026, 3, 31), utc(2026, 4, 30)),
        (date(2024, 1, 30), utc(2024, 2, 29, 12), utc(2024, 2, 29), utc(2024, 3, 30)),
        (date(2026, 12, 15), utc(2027, 1, 1), utc(2026, 12, 15), utc(2027, 1, 15)),
    ],
    ids=[
        "faq",
        "boundary-belongs-to-new",
        "last-second",
        "short-feb",
        "after-short-feb",
        "anchor-returns",
        "leap-year",
        "year-end",
    ],
)
def test_anchored_cycles(anchor, instant, start, end):
    cycle = cycle_containing(anchor, UTC, instant)
    assert (cycle.start, cycle.end) == (start, end)


def test_cycle_starts_at_local_midnight():
    ny = ZoneInfo("America/New_York")
    cycle = cycle_containing(date(2026, 3, 8), ny, utc(2026, 3, 8, 3))
    assert cycle.start == utc(2026, 2, 8, 5)  # Mar 8 00:00 EST is 05:00 UTC: not yet
    cycle = cycle_containing(date(2026, 3, 8), ny, utc(2026, 3, 8, 6))
    assert (cycle.start, cycle.end) == (utc(2026, 3, 8, 5), utc(2026, 4, 8, 4))  # DST


def test_calendar_cycles_start_on_the_first():
    cycle = cycle_containing(date(2026, 3, 8), UTC, utc(2026, 2, 20), "calendar")
    assert (cycle.start, cycle.end) == (utc(2026, 2, 1), utc(2026, 3, 1))


def test_neighbouring_cycles():
    cycle = cycle_containing(date(2026, 1, 31), UTC, utc(2026, 2, 15))
    assert cycle_after(cycle, date(2026, 1, 31), UTC).start == cycle.end
    assert cycle_before(cycle, date(2026, 1, 31), UTC).end == cycle.start


def test_naive_instant_is_refused():
    with pytest.raises(ValueError):
        cycle_containing(date(2026, 3, 8), UTC, datetime(2026, 3, 9))
