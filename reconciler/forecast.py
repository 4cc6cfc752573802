"""End-of-cycle forecasts with a band and the projected allowance crossing. Pure.

A distinct count (MAU) is never projected linearly: 100 people who meet daily are 100 MAU on
day 1 and still 100 on day 30. Future new entities = expected future activity (a run rate
with weekly seasonality) x the recent share of activity that came from new entities
("newness"), which falls to zero for a stable team and stays put for a stream of guests.
Sums (minutes) are projected from their own run rate with weekly seasonality.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal

from meterwise.reconciler.models import BillingCycle, Forecast

DAY = timedelta(days=1)
HALF_LIFE_DAYS = 2.0


def linear_forecast(used: float, cycle: BillingCycle, as_of: datetime) -> float:
    """The naive run-rate projection (Lago's): used / elapsed share of the cycle."""
    elapsed = (as_of - cycle.start) / (cycle.end - cycle.start)
    return used / elapsed if elapsed > 0 else used


def _weekday_factors(days: Sequence[float], weekdays: Sequence[int]) -> list[float]:
    """Activity of each weekday relative to the mean (1 for a weekday not seen yet)."""
    mean = sum(days) / len(days) if days else 0.0
    if mean <= 0:
        return [1.0] * 7
    factors = []
    for wd in range(7):
        seen = [d for d, w in zip(days, weekdays, strict=True) if w == wd]
        if not seen:
            factors.append(1.0)
            continue
        factors.append((sum(seen) / len(seen)) / mean)
    return factors


def _ewma(values: Sequence[float]) -> float:
    """Exponentially weighted mean, the most recent value weighing most."""
    if not values:
        return 0.0
    weights = [0.5 ** ((len(values) - 1 - i) / HALF_LIFE_DAYS) for i in range(len(values))]
    return float(sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights))


def _ew_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """Ratio of exponentially weighted sums: robust to quiet days with tiny denominators."""
    n = min(len(numerators), len(denominators))
    weights = [0.5 ** ((n - 1 - i) / HALF_LIFE_DAYS) for i in range(n)]
    den = sum(w * d for w, d in zip(weights, denominators, strict=False))
    num = sum(w * x for w, x in zip(weights, numerators, strict=False))
    return num / den if den > 0 else 0.0


def _level(act: Sequence[float], weekdays: Sequence[int], factors: Sequence[float]) -> float:
    """Deseasoned daily activity: activity over its expected weekday shares (so a quiet
    weekend, a small count over a small factor, adds no noise); the last three weeks when
    the last two agree within 18%, else exponentially weighted over the last week."""
    expected = [factors[w] for w in weekdays]
    if len(act) >= 14:
        recent = sum(act[-7:]) / max(sum(expected[-7:]), 1e-9)
        earlier = sum(act[-14:-7]) / max(sum(expected[-14:-7]), 1e-9)
        if earlier > 0 and 0.85 <= recent / earlier <= 1.18:  # steady: the longer, the surer
            return sum(act[-21:]) / max(sum(expected[-21:]), 1e-9)
    return _ew_ratio(act[-7:], expected[-7:])


def _newness(new: list[int], activity: list[float]) -> float:
    """Share of activity from new entities: a short memory while it is changing (a team
    being discovered, a spike passing), the last three weeks when it is steady (more days,
    less noise)."""
    short = _ew_ratio(new, activity)
    if len(new) >= 8:
        recent = sum(new[-7:]) / max(sum(activity[-7:]), 1e-9)
        earlier = sum(new[-14:-7]) / max(sum(activity[-14:-7]), 1e-9)
        if earlier > 0 and 0.75 <= recent / earlier <= 1.33:
            return sum(new[-21:]) / max(sum(activity[-21:]), 1e-9)
    return short


def _future_days(cycle: BillingCycle, as_of: datetime, tz: tzinfo) -> list[tuple[float, int]]:
    """(fraction of a day, weekday) for each remaining day slice of the cycle."""
    out, cursor = [], as_of
    while cursor < cycle.end:
        day_index = math.floor((cursor - cycle.start) / DAY)
        day_end = min(cycle.start + (day_index + 1) * DAY, cycle.end)
        out.append(((day_end - cursor) / DAY, cursor.astimezone(tz).weekday()))
        cursor = day_end
    return out


def _confidence(elapsed_days: float, activity: float) -> str:
    if elapsed_days < 3 or activity < 20:
        return "low"
    return "medium" if elapsed_days < 7 else "high"


_BANDS = {"low": (0.5, 1.8), "medium": (0.75, 1.35), "high": (0.85, 1.2)}


def _finish(
    metric: str,
    used: float,
    daily_future: list[float],
    future_days: list[tuple[float, int]],
    cycle: BillingCycle,
    as_of: datetime,
    allowance: float | None,
    crossed_at: datetime | None,
    confidence: str,
    method: str,
    integral: bool,
) -> Forecast:
    future = sum(daily_future)
    lo, hi = _BANDS[confidence]
    spread = 1.64 * math.sqrt(future)  # Poisson-like noise of what is still to come
    low = used + max(0.0, future * lo - spread)
    high = used + future * hi + spread
    crossing = crossed_at
    if crossing is None and allowance is not None and used + future > allowance:
        cumulative, cursor = used, as_of
        for (fraction, _), amount in zip(future_days, daily_future, strict=True):
            if amount > 0 and cumulative + amount > allowance:
                crossing = cursor + (allowance - cumulative) / amount * fraction * DAY
                break
            cumulative += amount
            cursor += fraction * DAY

    def rnd(x: float) -> Decimal:
        return Decimal(math.ceil(x - 1e-9)) if integral else Decimal(str(round(x, 2)))

    return Forecast(metric, rnd(used + future), rnd(low), rnd(high), crossing, confidence, method)


def forecast_distinct(
    metric: str,
    used: int,
    new_per_day: Sequence[int],
    activity_per_day: Sequence[float],
    cycle: BillingCycle,
    as_of: datetime,
    tz: tzinfo,
    allowance: int | None,
    crossed_at: datetime | None = None,
    history_activity: Sequence[tuple[float, int]] = (),
) -> Forecast:
    """Forecast a distinct count from daily new entities and daily activity (sightings).

    ``new_per_day``/``activity_per_day`` are per cycle day up to ``as_of`` (the last one may
    be partial); ``history_activity`` is (sightings, weekday) of earlier cycles' days, which
    sharpens the weekly profile.
    """
    elapsed = (as_of - cycle.start) / DAY
    future_days = _future_days(cycle, as_of, tz)
    full = min(int(elapsed), len(activity_per_day))
    weekdays = [(cycle.start + i * DAY).astimezone(tz).weekday() for i in range(full)]
    act = [float(a) for a in activity_per_day[:full]]
    factors = _weekday_factors(
        [*(h[0] for h in history_activity), *act], [*(h[1] for h in history_activity), *weekdays]
    )
    confidence = _confidence(elapsed, sum(activity_per_day))
    if full < 2:
        # Too early to tell a team from a stream: fall back on the run rate, say so.
        rate = used / elapsed if elapsed > 0 else 0.0
        daily_future = [rate * f for f, _ in future_days]
        confidence, method = "low", "run-rate (too early)"
    else:
        # Day 1 discovers the recurring population; newness afterwards is what continues.
        recent_newness = _newness(list(new_per_day[1:full]), act[1:])
        level = _level(act, weekdays, factors)
        daily_future = [level * factors[wd] * recent_newness * f for f, wd in future_days]
        method = "new-entity rate x activity"
    return _finish(
        metric,
        used,
        daily_future,
        future_days,
        cycle,
        as_of,
        allowance,
        crossed_at,
        confidence,
        method,
        True,
    )


def forecast_sum(
    metric: str,
    used: Decimal,
    per_day: Sequence[Decimal],
    cycle: BillingCycle,
    as_of: datetime,
    tz: tzinfo,
    allowance: int | None,
) -> Forecast:
    """Forecast a summed quantity from its daily run rate with weekly seasonality."""
    elapsed = (as_of - cycle.start) / DAY
    future_days = _future_days(cycle, as_of, tz)
    full = min(int(elapsed), len(per_day))
    values = [float(v) for v in per_day[:full]]
    weekdays = [(cycle.start + i * DAY).astimezone(tz).weekday() for i in range(full)]
    confidence = _confidence(elapsed, 100.0 if float(used) > 0 else 0.0)
    if full < 1:
        rate = float(used) / elapsed if elapsed > 0 else 0.0
        daily_future = [rate * f for f, _ in future_days]
    else:
        factors = _weekday_factors(values, weekdays) if full >= 7 else [1.0] * 7
        level = sum(values[-14:]) / len(values[-14:])
        daily_future = [level * factors[wd] * f for f, wd in future_days]
    return _finish(
        metric,
        float(used),
        daily_future,
        future_days,
        cycle,
        as_of,
        None if allowance is None else float(allowance),
        None,
        confidence,
        "run-rate with weekly seasonality",
        False,
    )
