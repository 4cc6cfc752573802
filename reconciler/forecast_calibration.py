"""The band, calibrated: each side of the forecaster's own 80% band is stretched (or shrunk)
by how far final figures fell outside it on traffic the forecaster was never tuned on, so
that "80%" is a measured rate, not a model's hope. Pure.

This is split conformal prediction, one side at a time, at each point of the cycle (days
pooled over a window of +-3), over the calibration runs:

- the low side is ``value - s * (value - low)``, ``s`` the 90th percentile of how many of
  the band's lower half-widths the final figure lay below the forecast (0 when above);
- the high side is ``value + a * (high - value) + b * value`` (half-widths at least
  ``FLOOR``, the value at least 1): the band's own upper
  half-width, and a share of the forecast, because what is still to come can be a jump the
  days so far do not show (a crowd at the cycle's end, a customer onboarded), which a
  narrow band says nothing about. For each ``a`` of a grid, ``b`` is the least share that
  leaves 10% of runs above; the pair kept is the one whose band is narrowest on average.

So 10% of calibration runs end under the low end and 10% over the high end. Where the
model's own band is right, ``s`` and ``a`` come out near 1 and ``b`` near 0.

The tables (`forecast_bands.py`) are data, written by `bench/calibrate.py` from the
calibration set (`traffic.split()`'s "calibration" role, never the held-out half); the
forecaster's parameters were tuned on other models, so the runs are out of sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from meterwise.reconciler import forecast_bands

FLOOR = 0.5  # the least half-width a band is measured in (a band of zero width)
QUANTILE = 0.9  # each side holds 90%: the band 80%
WINDOW = 3  # days either side pooled into one day's row
OWN = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)  # the grid of ``a``
FIRST, HISTORY, SUMMED = "DISTINCT_FIRST", "DISTINCT_HISTORY", "SUMMED"  # the tables

Row = tuple[float, float, float]  # (s, a, b) of one cycle day
Table = tuple[Row, ...]
Outcome = tuple[float, float, float, float]  # (final, value, low, high) of one run and day


def _quantile(xs: Sequence[float], q: float) -> float:
    ordered = sorted(xs)
    at = q * (len(ordered) - 1)
    below = math.floor(at)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (at - below) * (ordered[above] - ordered[below])


def below_score(final: float, value: float, low: float) -> float:
    """How many lower half-widths ``final`` lay under the forecast (0 when above it)."""
    return (value - final) / max(value - low, FLOOR) if final < value else 0.0


def row_from(runs: Sequence[Outcome]) -> Row:
    """The (s, a, b) that leave 10% of ``runs`` under the low end and 10% over the high end,
    with the narrowest high side on average."""
    s = _quantile([below_score(f, v, lo) for f, v, lo, _ in runs], QUANTILE)
    best: tuple[float, float, float] | None = None
    for a in OWN:
        over = [(f - v - a * max(h - v, FLOOR)) / max(v, 1.0) for f, v, _, h in runs]
        b = max(_quantile(over, QUANTILE), 0.0)
        width = sum((a * max(h - v, FLOOR) + b * v) / max(v, 1.0) for _, v, _, h in runs)
        if best is None or width < best[0] - 1e-12:
            best = (width, a, b)
    assert best is not None
    return _up(s, 3), best[1], _up(best[2], 4)


def _up(x: float, digits: int) -> float:
    """Rounded up, so that the rounding never lets a run at the quantile fall outside."""
    scale = float(10**digits)
    return math.ceil(x * scale - 1e-9) / scale


def table_from(by_day: dict[int, list[Outcome]], days: int = 31) -> Table:
    """Each cycle day's row from the runs seen within ``WINDOW`` days of it (a day without
    runs keeps the band as it is)."""
    out = []
    for day in range(days):
        pooled = [o for d, got in by_day.items() if abs(d - day) <= WINDOW for o in got]
        out.append(row_from(pooled) if pooled else (1.0, 1.0, 0.0))
    return tuple(out)


def calibrated(
    value: float, low: float, high: float, used: float, elapsed_days: float, which: str
) -> tuple[float, float]:
    """The (low, high) band stretched by table ``which``'s row for this day of the cycle;
    never below what is used, never on the wrong side of the forecast. An empty table
    (`bench/calibrate.py` measures the band so) leaves the band as it is."""
    table: Table = getattr(forecast_bands, which)
    if not table:
        return low, high
    s, a, b = table[min(max(int(elapsed_days), 0), len(table) - 1)]
    new_low = value - s * max(value - low, FLOOR)
    new_high = value + a * max(high - value, FLOOR) + b * max(value, 1.0)  # as measured
    return min(max(new_low, used), value), max(new_high, value)
