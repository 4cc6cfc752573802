"""The second estimate a cycle with history gets: how earlier cycles completed from the
same point, and how it is weighed against the fit of this cycle's own days. Pure."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import numpy as np

from meterwise.reconciler.forecast_fit import Z80

HISTORY_SD = 0.05  # the least log spread a history-based estimate gets


def _clock(start_weekday: int, days: int, factors: Sequence[float]) -> list[float]:
    """Activity time at the end of each day: the running sum of the weekday weights, so
    that day d of a cycle that began on a Monday and day d of one that began on a Saturday
    are compared by how much activity they held, not by the calendar."""
    out, total = [], 0.0
    for i in range(days):
        total += max(factors[(start_weekday + i) % 7], 0.02)
        out.append(total)
    return out


def _count_at(series: Sequence[int], clock: list[float], when: Sequence[float]) -> np.ndarray:
    """The cumulative count of ``series`` at each activity time of ``when`` (linear
    between the ends of days; the whole count after the last)."""
    edges = np.concatenate(([0.0], np.asarray(clock[: len(series)], dtype=float)))
    counts = np.concatenate(([0.0], np.cumsum(np.asarray(series[: len(edges) - 1], dtype=float))))
    return np.asarray(np.interp(np.asarray(when, dtype=float), edges, counts))


def from_history(
    used: float,
    elapsed: float,
    start_weekday: int,
    factors: Sequence[float],
    new: Sequence[int],
    history: Sequence[tuple[int, Sequence[int]]],
) -> tuple[float, float] | None:
    """The total earlier cycles reached from the same point (``used`` times their final
    count over their count at the same activity time), and its log spread: how much the
    cycles differ, and how unlike them this cycle's shape is so far."""
    full = int(elapsed)
    mine = _clock(start_weekday, full + 1, factors)
    before = mine[full - 1] if full else 0.0
    now = before + (elapsed - full) * (mine[full] - before)
    ratios, mismatch = [], []
    cumulative = [sum(new[: i + 1]) / max(used, 1) for i in range(min(full, len(new)))]
    for weekday, series in history:
        total = sum(series)
        theirs = _clock(weekday, len(series), factors)
        at = float(_count_at(series, theirs, [now])[0])
        if total <= 0 or at <= 0:
            continue
        ratios.append(math.log(total / at))
        past = _count_at(series, theirs, mine[: len(cumulative)]) / at
        # Shares of the count so far, compared as differences: a quiet first day (0 here,
        # a sliver there) is no evidence of a different shape, as a log ratio would say.
        mismatch += [abs(share - float(then)) for share, then in zip(cumulative, past, strict=True)]
    if not ratios or used <= 0:
        return None
    centre = statistics.median(ratios)
    spread = statistics.pstdev(ratios) if len(ratios) > 1 else 0.0
    shape = statistics.mean(mismatch) if mismatch else 0.0
    return used * math.exp(centre), math.sqrt(spread**2 + HISTORY_SD**2 + shape**2)


def combine(
    value: float, low: float, high: float, prior: float, prior_sd: float, used: float
) -> tuple[float, float, float]:
    """The fit's total (with its 80% band) and the history's, weighed by their precision on
    a log scale; the band widens to cover both when they disagree."""
    fit_sd = max(math.log(max(high, 1) / max(low, 1)) / (2 * Z80), 0.01)
    w_fit, w_prior = 1 / fit_sd**2, 1 / prior_sd**2
    log_fit, log_prior = math.log(max(value, 1)), math.log(max(prior, 1))
    centre = (w_fit * log_fit + w_prior * log_prior) / (w_fit + w_prior)
    sd = max(math.sqrt(1 / (w_fit + w_prior)), abs(log_fit - log_prior) / 2)
    total = max(math.exp(centre), used)
    return total, max(used, total * math.exp(-Z80 * sd)), total * math.exp(Z80 * sd)


def scaled(per_slice: Sequence[float], total: float) -> list[float]:
    """A daily path scaled to ``total`` (spread evenly when the path is all zero)."""
    have = sum(per_slice)
    if have > 0:
        return [x * total / have for x in per_slice]
    return [total / len(per_slice)] * len(per_slice) if per_slice else []
