"""Forecasts never fail and never contradict themselves, whatever the counts (hypothesis).

A report page or an alert run calls the forecast for every metric of every account: one
exception there is a 500 or a silent scheduler error. So for any daily counts, any history,
any allowance and any moment of the cycle the forecast returns, and its figures hold
together: the band holds the value, nothing is below what is already used, and a projected
crossing lies between the start of the cycle and its end.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from meterwise.reconciler.forecast import forecast_distinct, forecast_sum
from meterwise.reconciler.models import BillingCycle

START = datetime(2026, 3, 1, 5, tzinfo=UTC)
CYCLE = BillingCycle(START, START + timedelta(days=31))
ZONES = st.sampled_from([UTC, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")])
COUNTS = st.lists(st.integers(0, 5000), min_size=0, max_size=31)
SERIES = st.lists(st.integers(0, 3000), min_size=0, max_size=31)


def _holds(f, used, allowance) -> None:
    assert f.low <= f.value <= f.high
    assert f.low >= used  # and so the value, which the band holds
    assert f.confidence in ("low", "medium", "high") and f.method
    if f.crossing is not None:
        assert allowance is not None
        assert CYCLE.start <= f.crossing <= CYCLE.end


@settings(max_examples=300, deadline=None)
@given(
    new=COUNTS,
    extra=st.lists(st.integers(0, 400), max_size=31),
    hours=st.floats(0, 31 * 24 - 0.01),
    allowance=st.none() | st.integers(0, 20000),
    history=st.lists(st.tuples(st.integers(0, 6), SERIES), max_size=3),
    tz=ZONES,
)
def test_a_distinct_forecast_always_returns_figures_that_agree(
    new, extra, hours, allowance, history, tz
):
    as_of = START + timedelta(hours=hours)
    days = min(len(new), int(hours // 24) + 1)
    new = new[:days]
    activity = [n + (extra[i] if i < len(extra) else 0) for i, n in enumerate(new)]
    used = sum(new)
    crossed = None
    if allowance is not None and used > allowance:
        crossed = START + timedelta(hours=hours / 2)  # the stored instant, when there is one
    previous = [(float(a), (START.weekday() + i) % 7) for i, a in enumerate(activity)]
    for stored in (crossed, None):  # with and without the crossing's stored instant
        f = forecast_distinct(
            "mau", used, new, activity, CYCLE, as_of, tz, allowance, stored, previous, history
        )
        _holds(f, used, allowance)


@settings(max_examples=300, deadline=None)
@given(
    per_day=st.lists(st.decimals(0, 10**6, places=2), max_size=31),
    hours=st.floats(0, 31 * 24 - 0.01),
    allowance=st.none() | st.integers(0, 10**7),
    tz=ZONES,
)
def test_a_summed_forecast_always_returns_figures_that_agree(per_day, hours, allowance, tz):
    as_of = START + timedelta(hours=hours)
    per_day = per_day[: int(hours // 24) + 1]
    used = sum(per_day, Decimal(0))
    f = forecast_sum("minutes", used, per_day, CYCLE, as_of, tz, allowance)
    _holds(f, used, allowance)
