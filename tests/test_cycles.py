"""Billing cycles are pure functions of the anchor, timezone and instant."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["UTC", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"]),
    st.integers(1, 31),
    st.sampled_from(["anchored", "calendar"]),
    st.lists(st.integers(1_700_000_000_000, 1_800_000_000_000), min_size=1, max_size=40),
    st.lists(st.integers(-2, 2), min_size=1, max_size=40),
)
def test_the_remembering_cycle_start_matches_a_fresh_computation(zone, day, kind, times, nudges):
    """`cycle_start_of` remembers cycles it met; its answers equal `cycle_containing`'s for
    instants in any order, including a millisecond either side of each boundary."""
    from types import SimpleNamespace

    from meterwise.reconciler.cycles import cycle_start_of, from_ms, to_ms

    tz = ZoneInfo(zone)
    account = SimpleNamespace(cycle_anchor=date(2026, 1, day), tz=tz)
    start_of = cycle_start_of(account, kind)  # type: ignore[arg-type]
    probes = []
    for ts in times:
        cycle = cycle_containing(account.cycle_anchor, tz, from_ms(ts), kind)
        probes += [
            ts,
            *(to_ms(cycle.end) + n for n in nudges),
            *(to_ms(cycle.start) + n for n in nudges),
        ]
    for ts in probes:
        fresh = cycle_containing(account.cycle_anchor, tz, from_ms(ts), kind)
        assert start_of(ts) == to_ms(fresh.start), ts
