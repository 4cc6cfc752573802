"""The band's calibration (`reconciler/forecast_calibration.py`): pure, on made-up runs."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterwise.reconciler import forecast_bands
from meterwise.reconciler.forecast_calibration import (
    FIRST,
    FLOOR,
    HISTORY,
    OWN,
    SUMMED,
    WINDOW,
    below_score,
    calibrated,
    row_from,
    table_from,
)


def _outside(runs, row):
    s, a, b = row
    under = sum(f < v - s * max(v - lo, FLOOR) - 1e-9 for f, v, lo, _ in runs)
    over = sum(f > v + a * max(h - v, FLOOR) + b * max(v, 1.0) + 1e-9 for f, v, _, h in runs)
    return under / len(runs), over / len(runs)


def test_a_low_score_counts_half_widths_under_the_forecast():
    assert below_score(100, 100, 90) == 0.0 and below_score(120, 100, 90) == 0.0
    assert below_score(80, 100, 90) == 2.0
    assert below_score(99, 100, 100) == 1 / FLOOR  # a band of no width: the floor


def test_a_row_leaves_a_tenth_under_and_a_tenth_over():
    rng = random.Random(7)
    runs = []
    for _ in range(2000):
        value = rng.uniform(50, 500)
        half = value * rng.uniform(0.02, 0.3)
        final = value * rng.lognormvariate(0.0, 0.25)
        runs.append((final, value, value - half, value + half))
    row = row_from(runs)
    under, over = _outside(runs, row)
    assert abs(under - 0.1) < 0.01 and abs(over - 0.1) < 0.01
    assert row[1] in OWN and row[2] >= 0


def test_the_high_side_follows_the_band_when_the_band_is_right_and_the_forecast_when_not():
    rng = random.Random(3)
    # Bands whose width tells the error: the own half-width carries the high side.
    told = []
    for _ in range(1000):
        value, half = 100.0, rng.choice((2.0, 40.0))
        told.append((value + half * rng.uniform(-1.2, 1.2), value, value - half, value + half))
    s, a, b = row_from(told)
    assert a >= 0.5 and b < 0.1 and _outside(told, (s, a, b))[1] <= 0.1
    # Narrow bands and a jump still to come in one run of six: a share of the forecast.
    jumps = [
        (300.0 if i % 6 == 0 else 100.0 + rng.uniform(-1, 1), 100.0, 99.0, 101.0)
        for i in range(600)
    ]
    s, a, b = row_from(jumps)
    assert b >= 1.5 and _outside(jumps, (s, a, b))[1] <= 0.1


def test_each_day_pools_the_days_around_it():
    near = [(110.0, 100.0, 90.0, 120.0)] * 9 + [(50.0, 100.0, 90.0, 120.0)]
    by_day = {d: list(near) for d in range(10 - WINDOW, 11 + WINDOW)}
    by_day[25] = [(100.0, 100.0, 95.0, 105.0)]
    table = table_from(by_day)
    assert len(table) == 31 and table[10][0] > 0  # one in ten under: the low side stretches
    assert table[0] == (1.0, 1.0, 0.0)  # no runs near day 0: the band as it is
    assert table[25] == row_from(by_day[25])  # alone within its window


def test_calibration_stretches_each_side_and_keeps_the_band_honest(monkeypatch):
    table = ((1.0, 1.0, 0.0),) * 5 + ((2.0, 0.5, 0.25),) * 26
    monkeypatch.setattr(forecast_bands, "DISTINCT_FIRST", table)
    low, high = calibrated(100, 90, 120, 0, 10.5, FIRST)
    assert low == 80 and high == pytest.approx(100 + 0.5 * 20 + 25)
    # Never below what is already used, never on the wrong side of the forecast.
    assert calibrated(100, 90, 120, 95, 10, FIRST)[0] == 95
    low, high = calibrated(100, 100, 100, 0, 99, FIRST)  # past the table: its last day
    assert low <= 100 <= high


def test_an_empty_table_leaves_the_band_as_it_is(monkeypatch):
    monkeypatch.setattr(forecast_bands, "SUMMED", ())
    assert calibrated(100.0, 90.0, 120.0, 0.0, 10.0, SUMMED) == (90.0, 120.0)


def test_the_checked_in_tables_are_generated_and_cover_every_day_of_a_cycle():
    source = forecast_bands.__doc__ or ""
    assert "bench/calibrate.py" in source and "do not edit by hand" in source
    for name in (FIRST, HISTORY, SUMMED):
        table = getattr(forecast_bands, name)
        assert len(table) == 31
        assert all(s > 0 and a in OWN and b >= 0 for s, a, b in table[2:])


outcomes = st.lists(
    st.tuples(st.floats(0, 5000), st.floats(0, 2000), st.floats(0, 1), st.floats(0, 3)).map(
        lambda t: (t[0], t[1], t[1] * (1 - t[2]), t[1] * (1 + t[3]))
    ),
    min_size=10,
    max_size=120,
)


@settings(max_examples=400, deadline=None)
@given(outcomes)
def test_any_row_leaves_at_most_a_tenth_under_and_a_tenth_over(runs):
    row = row_from(runs)
    under, over = _outside(runs, row)
    # The 90th percentile of n scores leaves at most a tenth above it (ties sit on the edge).
    assert under <= 0.1 + 1 / len(runs) and over <= 0.1 + 1 / len(runs)
    s, a, b = row
    assert s >= 0 and a in OWN and b >= 0
