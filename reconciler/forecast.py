"""End-of-cycle forecasts with a band and the projected allowance crossing. Pure.

A distinct count (MAU) is never projected linearly: 100 people who meet daily are 100 MAU on
day 1 and still 100 on day 30. What is still to come is the fitted daily rate of *new*
entities (`forecast_fit.py`: a population being discovered, plus a stream that keeps coming,
growing or fading), with the weekday shape of activity; a cycle with history adds how
earlier cycles completed from the same point (`forecast_history.py`). Sums (minutes) fit
their own daily rate with its trend and weekday shape. The band is an 80% interval, and the
confidence says how wide it is, so alert rules can refuse to act on a guess. Each side of
the band is calibrated on traffic the forecaster was not tuned on
(`forecast_calibration.py`), so that its 80% is measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from functools import lru_cache

from meterwise.reconciler.forecast_calibration import FIRST, HISTORY, SUMMED, calibrated
from meterwise.reconciler.forecast_fit import fit_rate, spikes
from meterwise.reconciler.forecast_history import combine, from_history, scaled
from meterwise.reconciler.forecast_shape import moving_trend
from meterwise.reconciler.models import BillingCycle, Forecast

DAY = timedelta(days=1)
# Half-width of the 80% band as a share of the forecast, for "high" and "medium".
HIGH_REACH, MEDIUM_REACH = 0.08, 0.20


def linear_forecast(used: float, cycle: BillingCycle, as_of: datetime) -> float:
    """The naive run-rate projection (Lago's): used / elapsed share of the cycle."""
    elapsed = (as_of - cycle.start) / (cycle.end - cycle.start)
    return used / elapsed if elapsed > 0 else used


def _detrended(days: Sequence[float], detrend: bool = True) -> list[float]:
    """Each day's activity over the series' trend (`forecast_shape.moving_trend`), so that a
    weekday seen late in a growing series does not pass for a busy weekday; a straight line
    over a curving series (users piling up, then levelling) would read the curve as
    weekdays. Without ``detrend``, over the mean."""
    n = len(days)
    mean = sum(days) / n if n else 0.0
    if n < 7 or mean <= 0 or not detrend:
        return [d / mean if mean > 0 else 1.0 for d in days]
    trend = moving_trend(days)
    return [d / max(float(t), 0.1 * mean) for d, t in zip(days, trend, strict=True)]


def _weekday_factors(
    series: Sequence[tuple[Sequence[float], Sequence[int]]], detrend: bool = True
) -> list[float]:
    """Activity of each weekday relative to its series' trend (1 for a weekday not seen
    yet), from one or more series of (daily activity, weekdays): earlier cycles and this one.
    A summed quantity's own days are its rate: its weekday shape is taken against the mean
    (``detrend=False``; its fit has a tight growth prior, and the shape carries the trend).

    One busy day is not a weekly pattern: a weekday seen once counts at most 1.3 times the
    trend, seen twice at the one of its two days nearer the trend (one quiet Monday at the
    start of a ramp is no quiet Monday; two are; a silent day beside a burst of 7 times the
    trend is the nearer; against the mean, the lower one), seen more at its median. A quiet weekday
    seen once counts as quiet at once: an office's weekend must not read as saturation."""
    ratios: list[tuple[float, int]] = []
    for days, weekdays in series:
        ratios += zip(_detrended(days, detrend), weekdays, strict=True)
    if not ratios:
        return [1.0] * 7
    factors = []
    for wd in range(7):
        seen = sorted(r for r, w in ratios if w == wd)
        if not seen:
            factors.append(1.0)
        elif len(seen) == 1:
            factors.append(min(seen[0], 1.3))
        elif len(seen) == 2 and detrend:  # as strong a pattern as the weaker day shows
            factors.append(min(seen, key=lambda r: abs(r - 1.0)))
        elif len(seen) == 2:  # against the mean there is no trend to be nearer to
            factors.append(seen[0])
        else:
            factors.append(seen[len(seen) // 2])
    return factors


@lru_cache(maxsize=256)  # every metric of a report asks for the same days
def _future_days(cycle: BillingCycle, as_of: datetime, tz: tzinfo) -> tuple[tuple[float, int], ...]:
    """(fraction of a day, weekday) for each remaining day slice of the cycle."""
    out, cursor = [], as_of
    while cursor < cycle.end:
        day_index = math.floor((cursor - cycle.start) / DAY)
        day_end = min(cycle.start + (day_index + 1) * DAY, cycle.end)
        out.append(((day_end - cursor) / DAY, cursor.astimezone(tz).weekday()))
        cursor = day_end
    return tuple(out)


def reach_confidence(reach: float) -> str:
    """The confidence a band's reach (its half-width over the forecast) stands for."""
    return "high" if reach <= HIGH_REACH else "medium" if reach <= MEDIUM_REACH else "low"


def _confidence(elapsed_days: float, value: float, low: float, high: float) -> str:
    """How far the band reaches either side of the forecast: what alert rules gate on."""
    if elapsed_days < 3:
        return "low"
    return reach_confidence((high - low) / (2 * max(value, 1.0)))


def _crossing(
    used: float,
    daily_future: Sequence[float],
    future_days: Sequence[tuple[float, int]],
    as_of: datetime,
    allowance: float | None,
) -> datetime | None:
    """When the projected path passes the allowance (None: it does not)."""
    if allowance is None or used + sum(daily_future) <= allowance:
        return None
    if used > allowance:  # already over, the instant unknown: crossed by now
        return as_of
    cumulative, cursor = used, as_of
    for (fraction, _), amount in zip(future_days, daily_future, strict=True):
        if amount > 0 and cumulative + amount > allowance:
            return cursor + (allowance - cumulative) / amount * fraction * DAY
        cumulative += amount
        cursor += fraction * DAY
    return None


def _recurring_spikes(
    new: Sequence[float],
    weekdays: Sequence[int],
    factors: Sequence[float],
    history_new: Sequence[tuple[int, Sequence[int]]],
) -> set[int]:
    """Weekdays that have spiked on two days or more, in this cycle or earlier ones: a
    weekly webinar brings its crowd again, unlike a one-off event."""
    seen: list[int] = []
    for first, series in [*history_new, (weekdays[0] if weekdays else 0, new)]:
        days = [(first + i) % 7 for i in range(len(series))]
        flags = spikes([float(x) for x in series], [factors[d] for d in days])
        seen += [d for d, flag in zip(days, flags, strict=True) if flag]
    return {d for d in set(seen) if seen.count(d) >= 2}


def _too_early(
    used: float, elapsed: float, future_days: Sequence[tuple[float, int]]
) -> tuple[float, float, float, list[float], str]:
    """Under two full days a team cannot be told from a stream: the run rate, a wide band."""
    rate = used / elapsed if elapsed > 0 else 0.0
    daily_future = [rate * f for f, _ in future_days]
    future = sum(daily_future)
    return used + future, used, used + 2 * future, daily_future, "run-rate (too early)"


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
    history_new: Sequence[tuple[int, Sequence[int]]] = (),
) -> Forecast:
    """Forecast a distinct count from daily new entities and daily activity (sightings).

    ``new_per_day``/``activity_per_day`` are per cycle day up to ``as_of`` (the last one may
    be partial); ``history_activity`` is (sightings, weekday) of earlier cycles' days, which
    sharpens the weekly profile; ``history_new`` is up to three earlier cycles' (weekday of
    the first day, new entities per day), the most recent first.
    """
    elapsed = (as_of - cycle.start) / DAY
    future_days = _future_days(cycle, as_of, tz)
    full = min(int(elapsed), len(activity_per_day), len(new_per_day))
    weekdays = [(cycle.start + i * DAY).astimezone(tz).weekday() for i in range(full)]
    act = [float(a) for a in activity_per_day[:full]]
    factors = _weekday_factors(
        [([h[0] for h in history_activity], [h[1] for h in history_activity]), (act, weekdays)]
    )
    if full < 2:
        value, low, high, daily_future, method = _too_early(used, elapsed, future_days)
    else:
        slices = [(elapsed + i, f, factors[wd]) for i, (f, wd) in enumerate(future_days)]
        new = [float(n) for n in new_per_day[:full]]
        weights = [factors[w] for w in weekdays]
        again = _recurring_spikes(new, weekdays, factors, history_new)
        ahead = [wd for _, wd in future_days]
        recurring = [w in again for w in weekdays]
        fit = fit_rate(new, weights, slices, recurring=recurring, weekdays=(weekdays, ahead))
        value, low, high = used + fit.future, used + fit.low, used + fit.high
        method = f"new-entity rate fit ({fit.kind})"
        start_weekday = cycle.start.astimezone(tz).weekday()
        prior = from_history(used, elapsed, start_weekday, factors, new_per_day, history_new)
        if prior is not None:
            value, low, high = combine(value, low, high, *prior, used)
            method = f"history of {len(history_new)} cycle(s) + {method}"
        table = FIRST if prior is None else HISTORY
        low, high = calibrated(value, low, high, used, elapsed, table)
        daily_future = scaled(fit.per_slice, value - used)
    confidence = _confidence(elapsed, value, low, high)
    crossing = crossed_at or _crossing(used, daily_future, future_days, as_of, allowance)

    def whole(x: float) -> Decimal:
        return Decimal(math.ceil(x - 1e-9))

    return Forecast(
        metric, whole(value), whole(max(low, used)), whole(high), crossing, confidence, method
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
    """Forecast a summed quantity (minutes) from its daily rate, with the weekday shape and
    a trend fitted to the days so far, and a band from their spread."""
    elapsed = (as_of - cycle.start) / DAY
    future_days = _future_days(cycle, as_of, tz)
    full = min(int(elapsed), len(per_day))
    values = [float(v) for v in per_day[:full]]
    weekdays = [(cycle.start + i * DAY).astimezone(tz).weekday() for i in range(full)]
    if full < 2 or sum(values) <= 0:
        value, low, high, daily_future, method = _too_early(float(used), elapsed, future_days)
    else:
        factors = _weekday_factors([(values, weekdays)], False) if full >= 7 else [1.0] * 7
        slices = [(elapsed + i, f, factors[wd]) for i, (f, wd) in enumerate(future_days)]
        fit = fit_rate(values, [factors[w] for w in weekdays], slices, discovery=False)
        daily_future = list(fit.per_slice)
        value, low, high = (float(used) + x for x in (fit.future, fit.low, fit.high))
        low, high = calibrated(value, low, high, float(used), elapsed, SUMMED)
        method = f"daily rate fit with weekly seasonality ({fit.kind})"
    limit = None if allowance is None else float(allowance)
    crossing = _crossing(float(used), daily_future, future_days, as_of, limit)

    def cents(x: float) -> Decimal:
        return Decimal(str(round(x, 2)))

    confidence = _confidence(elapsed, value, low, high)
    return Forecast(metric, cents(value), cents(low), cents(high), crossing, confidence, method)
