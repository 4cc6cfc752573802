"""Forecasts: distinct counts are not projected linearly; crossings; confidence."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from meterwise.reconciler import forecast_bands
from meterwise.reconciler.forecast import (
    _weekday_factors,
    forecast_distinct,
    forecast_sum,
    linear_forecast,
)
from meterwise.reconciler.forecast_calibration import FIRST, HISTORY, SUMMED, calibrated
from meterwise.reconciler.forecast_fit import fit_rate
from meterwise.reconciler.forecast_shape import moving_trend, stream_shape
from meterwise.reconciler.models import BillingCycle
from meterwise.reconciler.traffic import (
    EIGHTH,
    FIFTH,
    FOURTH,
    MODELS,
    ROLES,
    SECOND,
    SEVENTH,
    SIXTH,
    SUITE,
    THIRD,
    daily_series,
    split,
)

START = datetime(2026, 6, 1, tzinfo=UTC)
CYCLE = BillingCycle(START, START + timedelta(days=30))


def at(day: int) -> datetime:
    return START + timedelta(days=day)


def test_a_team_that_meets_daily_is_not_projected_linearly():
    new = [100] + [0] * 9
    activity = [100] * 10
    f = forecast_distinct("mau", 100, new, activity, CYCLE, at(10), UTC, 300)
    assert f.value == 100 and f.crossing is None
    assert linear_forecast(100, CYCLE, at(10)) == 300


def test_a_stream_of_guests_is_projected_and_crossing_found():
    new = [50] + [10] * 9
    activity = [60] * 10
    f = forecast_distinct("mau", 140, new, activity, CYCLE, at(10), UTC, 250)
    assert 330 <= f.value <= 350
    assert f.crossing is not None and at(20) < f.crossing < at(22)
    assert f.low <= f.value <= f.high


def test_already_crossed_reports_the_actual_instant():
    crossed = at(3) + timedelta(hours=5)
    f = forecast_distinct(
        "mau", 400, [300, 100, 0, 0], [300, 200, 100, 100], CYCLE, at(4), UTC, 300, crossed
    )
    assert f.crossing == crossed


def test_already_over_without_the_instant_says_crossed_by_now():
    # 400 used against 300 and no stored instant of the crossing: the projected path starts
    # over the line (this overflowed the date arithmetic before).
    f = forecast_distinct(
        "mau", 400, [300, 100, 0, 0], [300, 200, 100, 100], CYCLE, at(4), UTC, 300
    )
    assert f.crossing == at(4)


def test_confidence_is_low_in_the_first_days_and_rises_with_history():
    f = forecast_distinct("mau", 30, [30], [30], CYCLE, at(1), UTC, 300)
    assert f.confidence == "low"
    # A team of 30 seen for ten days of a first cycle: it will not fall below 30, but on the
    # calibration set one cycle in ten that looked like this brought a crowd later (a
    # month-end close, a sprint review's guests), so the calibrated band says so.
    f = forecast_distinct("mau", 30, [30] + [0] * 9, [30] * 10, CYCLE, at(10), UTC, 300)
    assert f.value == f.low == 30 and f.high > 45 and f.confidence == "low"
    # Two earlier cycles of the same closed team: what is to come is known far better.
    history = [(0, tuple([30] + [0] * 29)), (2, tuple([30] + [0] * 29))]
    activity = [(30.0, i % 7) for i in range(30)]
    taught = forecast_distinct(
        "mau", 30, [30] + [0] * 9, [30] * 10, CYCLE, at(10), UTC, 300, None, activity, history
    )
    assert taught.low == 30 and taught.high < f.high
    # Two weeks of the same quiet team make the band narrow with or without history: on the
    # 31 kinds of traffic it is calibrated on, a first cycle that quiet by day 14 rarely
    # brings a crowd later (the first-cycle table's share of the forecast, b, is 0.21 there).
    days = 14
    taught, first = (
        forecast_distinct(
            "mau", 30, [30] + [0] * (days - 1), [30] * days, CYCLE, at(days), UTC, 300, *extra
        )
        for extra in ((None, activity, history), ())
    )
    assert taught.low == first.low == 30 and max(taught.high, first.high) < f.high
    assert taught.confidence != "low" and first.confidence != "low"


def test_the_band_is_the_calibrated_band_of_the_fit(monkeypatch):
    new, act = [40, 12, 9, 11, 8, 10, 12, 9, 10, 11], [40.0 + 3 * i for i in range(10)]
    f = forecast_distinct("mau", sum(new), new, act, CYCLE, at(10), UTC, None)
    for name in (FIRST, HISTORY, SUMMED):
        monkeypatch.setattr(forecast_bands, name, ())
    raw = forecast_distinct("mau", sum(new), new, act, CYCLE, at(10), UTC, None)
    assert raw.value == f.value and (raw.low, raw.high) != (f.low, f.high)
    monkeypatch.undo()
    low, high = calibrated(float(raw.value), float(raw.low), float(raw.high), sum(new), 10, FIRST)
    # Whole entities: the raw band was rounded before it was stretched here.
    assert (
        abs(float(f.low) - low) <= 0.01 * low + 1 and abs(float(f.high) - high) <= 0.01 * high + 1
    )


def test_the_tuned_models_beat_the_linear_run_rate_at_day_ten():
    # The tuned half only (bench/forecast.py reports the held-out half, through storage).
    # A step change and a spike still to come are unknowable at day 10: left out here. So is
    # growth of 2-4% a day from 3 new users a day in a first cycle: by day 10 it is under one
    # day's noise and reads as a level stream; with a cycle of history it is seen (below).
    halves = split()
    unknowable = ("step change", "mid-cycle spike", "exponential growth")
    for name, model in MODELS.items():
        if halves[name] != "tune" or name in unknowable:
            continue
        ours, linear = [], []
        for seed in range(5):
            new, activity, final = daily_series(model(START, 30, random.Random(seed)))
            f = forecast_distinct(
                "mau", sum(new[:10]), new[:10], activity[:10], CYCLE, at(10), UTC, None
            )
            ours.append(abs(float(f.value) - final) / final)
            linear.append(abs(linear_forecast(sum(new[:10]), CYCLE, at(10)) - final) / final)
        assert sum(ours) < sum(linear), (name, ours, linear)  # the mean error of 5 seeds
    ours, linear = [], []
    for seed in range(5):  # exponential growth with the cycle before as history
        days = MODELS["exponential growth"](START - timedelta(days=30), 60, random.Random(seed))
        before, (new, activity, final) = daily_series(days[:30])[0], daily_series(days[30:])
        f = forecast_distinct(
            "mau",
            sum(new[:10]),
            new[:10],
            activity[:10],
            CYCLE,
            at(10),
            UTC,
            None,
            history_new=[((START - timedelta(days=30)).weekday(), tuple(before))],
        )
        ours.append(abs(float(f.value) - final) / final)
        linear.append(abs(linear_forecast(sum(new[:10]), CYCLE, at(10)) - final) / final)
    assert sum(ours) < sum(linear), (ours, linear)


def test_the_split_is_fixed_and_holds_the_eighth_set_out():
    halves = split()
    sets = (SECOND, THIRD, FOURTH, FIFTH, SIXTH, SEVENTH, EIGHTH)
    assert len(SUITE) >= 14 and all(len(s) >= 10 for s in sets)
    names = [m.name for s in (SUITE, *sets) for m in s]
    assert sorted(halves) == sorted(MODELS) == sorted(names) and len(set(names)) == len(names)
    ranked = sorted(m.name for m in SUITE)
    assert all(halves[n] == ("tune" if i % 2 == 0 else "spent") for i, n in enumerate(ranked))
    assert all(halves[m.name] == "calibration" for s in sets[:-1] for m in s)
    assert all(halves[m.name] == "held-out" for m in EIGHTH)
    # every provider kind is held out, so the held-out figures cover each cycle rule
    assert {m.provider for m in EIGHTH} == {m.provider for m in SUITE}
    assert set(halves.values()) == set(ROLES)


def test_a_closed_team_is_not_projected_to_grow_and_says_so():
    new = [90, 8, 2, 0, 1, 0, 0, 0, 0, 0]
    f = forecast_distinct("mau", 101, new, [90.0] * 10, CYCLE, at(10), UTC, 150)
    assert 101 <= f.value <= 110 and f.crossing is None  # linear: 303
    # It will not fall; the calibrated high end allows for a crowd the days do not show.
    assert "saturating" in f.method and f.low == 101 and f.value < f.high


def test_growth_is_extrapolated_and_history_sharpens_it():
    # New users a day grow 6% a day: a steady run rate would miss the acceleration.
    new = [round(5 * 1.06**d) for d in range(30)]
    used = sum(new[:12])
    f = forecast_distinct(
        "mau", used, new[:12], [float(n) for n in new[:12]], CYCLE, at(12), UTC, None
    )
    steady = used + 18 * new[11]
    assert float(f.value) > steady and "growing" in f.method
    again = forecast_distinct(
        "mau",
        used,
        new[:12],
        [float(n) for n in new[:12]],
        CYCLE,
        at(12),
        UTC,
        None,
        history_new=[(START.weekday(), tuple(new))],
    )
    assert "history of 1 cycle" in again.method
    assert abs(float(again.value) - sum(new)) < abs(float(f.value) - sum(new))
    assert again.high - again.low < f.high - f.low


def test_sums_use_their_run_rate():
    f = forecast_sum("recording_minutes", 100, [10] * 10, CYCLE, at(10), UTC, None)
    assert 290 <= float(f.value) <= 310 and f.low < f.value < f.high


def test_an_earlier_cycle_teaches_the_weekly_shape():
    # Two days into a cycle that started on a Monday: without history the weekend is unknown.
    new, activity = [40, 10], [50, 50]
    history = [(50.0 if (i % 7) < 5 else 0.0, i % 7) for i in range(28)]
    blind = forecast_distinct("mau", 50, new, activity, CYCLE, at(2), UTC, None)
    taught = forecast_distinct(
        "mau", 50, new, activity, CYCLE, at(2), UTC, None, history_activity=history
    )
    assert taught.value < blind.value  # no new users expected on weekends


def test_a_steady_weekly_stream_is_projected_exactly():
    # 30 staff every weekday, 3 at weekends; 12 new customers a weekday, 2 a weekend day.
    weekend = [(START + timedelta(days=d)).weekday() >= 5 for d in range(30)]
    new = [30 + 12] + [2 if w else 12 for w in weekend[1:]]
    activity = [5.0 if w else 42.0 for w in weekend]
    used = sum(new[:20])
    f = forecast_distinct("mau", used, new[:20], activity[:20], CYCLE, at(20), UTC, None)
    assert abs(int(f.value) - sum(new)) <= 1  # the remaining 10 days, weekday by weekday
    # A third of the cycle is still to come, and no model is the traffic: not "high".
    assert f.confidence != "high" and f.low <= sum(new) <= f.high


def test_quiet_weekends_do_not_add_noise_to_a_steady_level():
    # The same stream with day-to-day noise: three steady weeks say more than the last one.
    weekend = [(START + timedelta(days=d)).weekday() >= 5 for d in range(30)]
    noise = [1, -1, 2, -2, 0, 1, -1, 3, -3, 0] * 3
    activity = [(5.0 + n) if w else (42.0 + 2 * n) for w, n in zip(weekend, noise, strict=True)]
    new = [42] + [round(a * 0.3) for a in activity[1:]]
    f = forecast_distinct("mau", sum(new[:20]), new[:20], activity[:20], CYCLE, at(20), UTC, None)
    assert abs(int(f.value) - sum(new)) <= 2  # a one-week, weekend-amplified level was off by 5


def test_a_crossing_is_sure_when_the_whole_band_is_over_the_allowance_after_a_week():
    from decimal import Decimal

    from meterwise.reconciler.alerts import crossing_confidence, forecast_warns
    from meterwise.reconciler.models import Forecast, MetricReport, MetricUsage

    def metric(low: int, confidence: str) -> MetricReport:
        f = Forecast("mau", Decimal(120), Decimal(low), Decimal(200), at(20), confidence, "fit")
        return MetricReport(MetricUsage("mau", Decimal(50)), 100, Decimal(0), Decimal(0), f)

    wide_above, wide_across = metric(101, "low"), metric(80, "low")
    assert crossing_confidence(wide_above, CYCLE, at(8)) == "high"
    assert crossing_confidence(wide_above, CYCLE, at(6)) == "low"  # a week not yet seen
    assert crossing_confidence(wide_across, CYCLE, at(8)) == "low"  # P(over 100) = 73%
    # Mostly above: the allowance is 0.86 sd under the forecast, an 80% chance of crossing.
    assert crossing_confidence(metric(93, "low"), CYCLE, at(8)) == "medium"
    assert crossing_confidence(metric(93, "low"), CYCLE, at(6)) == "low"
    assert forecast_warns(wide_above, CYCLE, at(8), "medium")
    assert not forecast_warns(wide_across, CYCLE, at(8), "medium")
    assert forecast_warns(metric(90, "medium"), CYCLE, at(8), "medium")


def test_after_a_week_a_crossing_is_as_sure_as_the_band_s_low_side():
    from decimal import Decimal

    from meterwise.reconciler.alerts import crossing_confidence, forecast_warns
    from meterwise.reconciler.models import Forecast, MetricReport, MetricUsage

    # A calibrated first-cycle band: tight below (a false alarm would end there), wide above
    # (a jump still to come), so the forecast's own confidence is low.
    f = Forecast("mau", Decimal(120), Decimal(110), Decimal(400), at(20), "low", "fit")
    m = MetricReport(MetricUsage("mau", Decimal(90)), 116, Decimal(0), Decimal(0), f)
    assert crossing_confidence(m, CYCLE, at(8)) == "medium"  # the low side within 20%
    assert forecast_warns(m, CYCLE, at(8), "medium") and not forecast_warns(m, CYCLE, at(8), "high")
    assert crossing_confidence(m, CYCLE, at(6)) == "low"  # a week not yet seen: its own
    loose = MetricReport(m.usage, 116, Decimal(0), Decimal(0), replace(f, low=Decimal(80)))
    assert crossing_confidence(loose, CYCLE, at(8)) == "low"  # P(over 116) is 55%


def test_history_is_compared_in_activity_time_not_calendar_days():
    from meterwise.reconciler.forecast_history import from_history

    # Weekdays only: 10 new a weekday, nothing at weekends, 220 in a 30-day cycle that began
    # on a Monday. This cycle began on a Saturday: after 4 days it has seen 2 weekdays.
    factors = [1.4] * 5 + [0.0] * 2
    past = [10 if (0 + i) % 7 < 5 else 0 for i in range(30)]
    now = [10 if (5 + i) % 7 < 5 else 0 for i in range(4)]
    total, spread = from_history(sum(now), 4.0, 5, factors, now, [(0, past)])
    # The past cycle had 20 after its first 2 weekdays and ended at 220: 20 -> 220.
    assert 200 <= total <= 240, total
    assert spread < 0.5


def test_a_ramp_of_sightings_is_not_read_as_a_quiet_weekday():
    # 76 new people a day, every day; sightings pile up and level off as they come back.
    # A straight-line trend read the ramp's first Monday as a quiet Monday, the next
    # Monday's 76 newcomers as a rising rate, and projected 2,914 (the truth: 2,280).
    new = [76] * 10
    activity = [76.0, 82, 89, 99, 103, 112, 107, 116, 115, 114]
    f = forecast_distinct("mau", 760, new, activity, CYCLE, at(10), UTC, None)
    assert abs(float(f.value) - 2280) <= 0.05 * 2280, f
    # An office's weekend is still a quiet weekend the first time it is seen, and its
    # Mondays (days 0 and 7, like every weekday about 1.4 times the week's mean) stay
    # ordinary weekdays.
    office = [60.0, 58, 59, 61, 57, 2, 1, 60, 59, 58]
    weekdays = [(START + timedelta(days=i)).weekday() for i in range(10)]
    factors = _weekday_factors([([], []), (office, weekdays)])
    assert factors[5] < 0.1 and factors[6] < 0.1, factors
    assert abs(factors[0] - factors[1]) < 0.1 and factors[0] > 1.2, factors


def test_sign_ups_at_weekends_are_not_read_as_growth():
    # A game's new players: 171 on Saturdays and Sundays, 107 on weekdays, joining players
    # who play every day (activity has no weekday shape). Read with the activity's weights,
    # the second weekend looked like growth (5,191 for 3,850); the stream keeps its own.
    saturday = datetime(2026, 6, 6, tzinfo=UTC)
    cycle = BillingCycle(saturday, saturday + timedelta(days=30))
    week = [171, 171, 107, 107, 107, 107, 107]
    new = (week * 5)[:30]
    activity = [171, 256, 272, 306, 318, 362, 375, 458, 507, 476]
    f = forecast_distinct(
        "mau", sum(new[:10]), new[:10], activity, cycle, saturday + timedelta(days=10), UTC, None
    )
    assert abs(float(f.value) - sum(new)) <= 0.05 * sum(new), f


def test_a_discovered_team_keeps_the_activity_s_weekday_shape():
    # An office of 80 found in its first days, a guest or two after: a weekday shape of its
    # own for that trickle does not earn its parameters; the fit is the same with or
    # without the weekdays that would allow one.
    days = 12
    weekdays = [(START + i * timedelta(days=1)).weekday() for i in range(days)]
    new = [50.0, 20, 6, 2, 1, 0, 0, 1, 2, 0, 1, 1]
    w = [0.02 if d >= 5 else 1.2 for d in weekdays]
    ahead = [(START + (days + i) * timedelta(days=1)).weekday() for i in range(18)]
    slices = [(float(days + i), 1.0, 0.02 if d >= 5 else 1.2) for i, d in enumerate(ahead)]
    assert fit_rate(new, w, slices) == fit_rate(new, w, slices, weekdays=(weekdays, ahead))


def test_the_newcomers_weekday_shape_needs_newcomers():
    # Saturdays bring 1.6 times the trend: with hundreds of newcomers a day the shape says
    # so; with a few a day it stays near the activity's weight (here 1).
    weekdays = [(START + i * timedelta(days=1)).weekday() for i in range(14)]
    for per_day, near in ((500.0, 1.6), (2.0, 1.0)):
        new = np.array([per_day * (1.6 if d == 5 else 0.9) for d in weekdays])
        shape = stream_shape(new, np.zeros(14), np.ones(14), weekdays)
        assert abs(shape[5] - near) < 0.12, (per_day, shape)
    assert np.allclose(moving_trend([7.0] * 10), 7.0)


def test_every_traffic_model_is_the_same_in_every_process():
    # "Deterministic for a seed" must hold across processes too: iterating a set of ids
    # follows the string hash, which changes with PYTHONHASHSEED (school holidays did).
    script = (
        "import hashlib, random\n"
        "from datetime import datetime, UTC\n"
        "from meterwise.reconciler.traffic import EVERY\n"
        "for m in EVERY:\n"
        "    days = m.generate(datetime(2026, 3, 4, tzinfo=UTC), 45, random.Random(1))\n"
        "    text = '\\n'.join('|'.join(day) for day in days)\n"
        "    print(m.name, hashlib.sha256(text.encode()).hexdigest()[:16])\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    ]
    assert runs[0].count("\n") == len(MODELS) and runs[0] == runs[1]


def test_a_level_stream_with_a_slow_first_week_is_not_read_as_growth():
    from meterwise.reconciler.forecast_fit import G_GRID

    assert np.isclose(G_GRID, 0.0).sum() == 1  # the level stream is one of the hypotheses
    # A team of 40, then about ten sign-ups a day: the first days a little slower.
    new = [40, 7, 9, 10, 8, 11, 10, 9, 10, 11]
    f = forecast_distinct("mau", sum(new), new, [40.0] * 10, CYCLE, at(10), UTC, None)
    level = sum(new) + 20 * 10
    assert abs(int(f.value) - level) <= 0.1 * level  # without the level's odds: 417, 28% high
    assert f.low <= level <= f.high
