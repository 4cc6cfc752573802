"""Weekday shapes for the forecast: a series' trend (a centred 7-day moving average), and
the weekday shape of the newcomers themselves. Pure: numpy, no storage, no clock."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

STREAM_PRIOR = 20.0  # newcomers at the activity's weight added to each weekday's own


def _line(days: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The straight line (least squares) through (day, value) points, read at ``at``."""
    slope, level = np.polyfit(days, values, 1)
    return np.asarray(level + slope * at)


def moving_trend(series: Sequence[float]) -> np.ndarray:
    """The trend of a daily series: a centred 7-day moving average (classical
    decomposition: a whole week in the window, the weekly shape cancels out), the ends
    continued on the line through the nearest three averages. Under three whole windows (9
    days) the line is over all the days; under a week the mean stands for the trend (it
    cannot be told from the weekday shape)."""
    x = np.asarray(series, dtype=float)
    n = len(x)
    if n < 7:
        return np.full(n, float(x.mean()) if n else 0.0)
    if n < 9:
        return _line(np.arange(n), x, np.arange(n))
    averages = np.convolve(x, np.ones(7) / 7, mode="valid")  # centred on days 3 .. n-4
    centres = np.arange(3, n - 3)
    trend = np.empty(n)
    trend[3 : n - 3] = averages
    trend[:3] = _line(centres[:3], averages[:3], np.arange(3))
    trend[n - 3 :] = _line(centres[-3:], averages[-3:], np.arange(n - 3, n))
    return trend


def stream_shape(
    new: np.ndarray, found: np.ndarray, weights: np.ndarray, weekdays: Sequence[int]
) -> np.ndarray:
    """The weekday shape of the newcomers themselves, for each weekday 0-6: what is left of
    the new entities once the fitted discovery (``found``) is taken off, over its trend,
    with ``STREAM_PRIOR`` newcomers at the activity's weight added to each weekday (a gamma
    prior: a few newcomers a day say little, a hundred say a lot). Sign-ups that come at
    weekends do not follow the weekday shape of the users they join."""
    left = np.maximum(new - found, 0.0)
    trend = np.maximum(moving_trend(left), 0.0)
    days = np.asarray(weekdays)
    shape = np.ones(7)
    for wd in range(7):
        on = days == wd
        if on.any():
            prior = float(weights[on][0])
            seen, usual = float(left[on].sum()), float(trend[on].sum())
            shape[wd] = (seen + STREAM_PRIOR * prior) / (usual + STREAM_PRIOR)
    return shape
