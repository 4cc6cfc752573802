"""Fitting the daily rate of new entities (or of a summed quantity) over the days of a cycle
so far, and the spread of what is still to come. Pure: numpy, no storage, no clock.

The rate on day t is ``w_t * (c * exp(g t) + A * exp(-k t))``: ``w_t`` is the weekday's
share of activity, ``A exp(-k t)`` the discovery of a population that is all there is (a
team is all new on day 1, then ever fewer), and ``c exp(g t)`` the stream of entities that
keep coming (guests, sign-ups), growing (g > 0) or fading (g < 0). Where the stream brings
most of the newcomers, it may keep its own weekday shape instead of ``w_t`` (sign-ups that
come at weekends, to users who meet on weekdays), if that earns its parameters. Summed
quantities use the stream part only. Every (g, k) of a grid is fitted at once with numpy
(c and A by Poisson-weighted least squares), and the grid points are weighed by their
quasi-likelihood and weak priors on g and k: a grid posterior, cheap enough for every
report. The band is the 10th and 90th percentile of what is still to come under that
posterior, with the doubt about c and A and the measured over-dispersion of the days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from meterwise.reconciler.forecast_shape import stream_shape

Z80 = 1.2815515655446004  # a normal's 90th percentile: the band holds 80%
DRAWS = 400
G_SD = 0.06  # prior on the stream's daily growth: a few % a day needs evidence
G_SD_SUM = 0.01  # minutes: a level, unless the days insist (the linear beat 0.04 on sums)
K_MEAN, K_SD = math.log(0.7), 1.5  # prior on the discovery decay (log of per-day rate)
BAND_SCALE = 1.0  # the posterior's 10-90% spread as it is (0.6 covered 47% on the tuned half)
DISCREPANCY = 0.15  # no model is the traffic: this share of what is to come, as doubt
STREAM_GAIN = 1.0  # log-likelihood gain per weekday the stream's own shape must bring
STREAM_SHARE = 0.5  # the stream's own weekday shape where it brings this share of newcomers
LEVEL_WEIGHT = 4.0  # prior odds for a stream that neither grows nor fades (Occam's razor)
SPIKE = 5.0  # a day above this many times the usual rate (plus 5) is capped for the fit


@dataclass(frozen=True, slots=True)
class Fit:
    """What is still to come: expected amount, its 10th and 90th percentile, per future
    slice (for the crossing), and which part of the model carries it."""

    future: float
    low: float
    high: float
    per_slice: tuple[float, ...]
    kind: str  # "saturating", "steady stream", "growing stream", "fading stream"


G_GRID = np.linspace(-0.15, 0.12, 10)  # the stream's daily growth rates considered
K_GRID = np.geomspace(0.08, 3.0, 8)  # the discovery's daily decay rates considered
_GK = np.meshgrid(G_GRID, K_GRID, indexing="ij")  # (G, K) for populations and streams
_G1 = np.meshgrid(G_GRID, np.array([1.0]), indexing="ij")  # (G, 1) for sums
_LEVEL, _LEVEL1 = (np.isclose(grid[0], 0.0) for grid in (_GK, _G1))  # the level stream
# Fixed draws: the same inputs give the same band, and no generator is built per call.
_RNG = np.random.default_rng(20261202)
_UNIFORM, _NORMAL = np.sort(_RNG.random(DRAWS)), _RNG.standard_normal(DRAWS)


def _solve(y: np.ndarray, x1: np.ndarray, x2: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """Non-negative (c, A) for every grid point at once: Poisson-weighted least squares
    (weights from the counts, then from the first fit); a coefficient that comes out
    negative is refitted at zero."""
    mu = np.maximum(y, 0.5)[None, :]
    for _ in range(2):
        v = 1.0 / np.maximum(mu, 0.5)
        vx1 = v * x1
        s11, b1 = (vx1 * x1).sum(-1), vx1 @ y
        only1 = np.maximum(b1 / np.maximum(s11, 1e-12), 0.0)
        if x2 is None:
            c, a = only1, np.zeros_like(only1)
            mu = c[..., None] * x1
            continue
        vx2 = v * x2
        s22, s12, b2 = (vx2 * x2).sum(-1), (vx1 * x2).sum(-1), vx2 @ y
        det = s11 * s22 - s12 * s12
        safe = np.where(np.abs(det) > 1e-12, det, 1e-12)
        c2, a2 = (s22 * b1 - s12 * b2) / safe, (s11 * b2 - s12 * b1) / safe
        both = (c2 >= 0) & (a2 >= 0) & (np.abs(det) > 1e-12)
        if both.all():
            c, a = c2, a2
        else:  # one component alone where the pair would need a negative one
            only2 = np.maximum(b2 / np.maximum(s22, 1e-12), 0.0)
            pick1 = _loglik(y, only1[..., None] * x1) >= _loglik(y, only2[..., None] * x2)
            c = np.where(both, c2, np.where(pick1, only1, 0.0))
            a = np.where(both, a2, np.where(pick1, 0.0, only2))
        mu = c[..., None] * x1 + a[..., None] * x2
    return c, a, np.maximum(mu, 1e-9)


def _loglik(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    mu = np.maximum(mu, 1e-9)
    return np.asarray((y * np.log(mu) - mu).sum(-1))


def _spike_limit(yv: np.ndarray, wv: np.ndarray) -> np.ndarray:
    """Per day, the most that is still a rate: ``SPIKE`` times the usual weekday-weighted
    rate, plus 5 (the first day, all of a population at once, is never a spike)."""
    usual = float(np.median(yv[1:] / wv[1:]))
    limit = wv * (SPIKE * usual + 5.0)
    limit[0] = np.inf
    return np.asarray(limit)


def spikes(y: list[float], w: list[float]) -> list[bool]:
    """The days above `_spike_limit` (none in a series of three days or fewer)."""
    if len(y) <= 3:
        return [False] * len(y)
    yv, wv = np.asarray(y, dtype=float), np.maximum(np.asarray(w, dtype=float), 0.02)
    return [bool(x) for x in yv > _spike_limit(yv, wv)]


def _own_shape(
    y: np.ndarray,
    w: np.ndarray,
    growth: np.ndarray,
    x2: np.ndarray,
    plain: tuple[np.ndarray, ...],
    weekdays: list[int],
) -> tuple[np.ndarray, tuple[np.ndarray, ...]] | None:
    """The stream's own weekday shape, and the fit (x1, c, a, mu) under it, or None.

    Tried where a week has been seen and the stream brings at least ``STREAM_SHARE`` of
    the last week's fitted newcomers (a team being discovered follows its activity);
    refined up to three times (the discovery is refitted under each shape); kept only if it
    earns its parameters: a likelihood-ratio test of ``STREAM_GAIN`` per extra weekday,
    the dispersion measured under the shape, so noise in a handful of newcomers does not."""
    x1, c, a, mu = plain
    if len(y) < 7:
        return None
    days, ll0 = np.asarray(weekdays), float(_loglik(y, mu).max())
    shape, ll = None, ll0
    for _ in range(3):
        best = np.unravel_index(np.argmax(_loglik(y, mu)), c.shape)
        recent = slice(len(y) - 7, None)
        share = float((c[best] * x1[best])[recent].sum()) / max(float(mu[best][recent].sum()), 1e-9)
        if share < STREAM_SHARE:
            break
        trial = stream_shape(y, a[best] * x2[best], w, weekdays)
        x1t = growth * np.maximum(trial[days], 0.02)
        ct, at, mut = _solve(y, x1t, x2)
        llt = float(_loglik(y, mut).max())
        if llt <= ll:
            break
        shape, ll, (x1, c, a, mu) = trial, llt, (x1t, ct, at, mut)
    if shape is None:
        return None
    extra = len(set(weekdays)) - 1
    top = np.unravel_index(np.argmax(_loglik(y, mu)), c.shape)
    scale = max(1.0, float(np.sum((y - mu[top]) ** 2 / mu[top])) / max(1, len(y) - 4 - extra))
    return (shape, (x1, c, a, mu)) if (ll - ll0) / scale > STREAM_GAIN * extra else None


def fit_rate(
    y: list[float],
    w: list[float],
    future: list[tuple[float, float, float]],
    discovery: bool = True,
    recurring: list[bool] | None = None,
    weekdays: tuple[list[int], list[int]] | None = None,
) -> Fit:
    """Fit the rate to the days so far (``y`` per day, ``w`` their weekday weights) and
    project it over ``future`` slices (day index, fraction of the day, weekday weight).
    A one-off spike is capped; a day marked ``recurring`` (its weekday has spiked before:
    a weekly webinar) is kept as it is. ``weekdays`` (of the days seen and of the slices
    ahead) lets the stream keep its own weekday shape (`_own_shape`).

    Every (g, k) of a grid is fitted at once (its c and A by weighted least squares); the
    grid points are weighed by their likelihood (scaled by the measured over-dispersion)
    and the priors, so the band carries the doubt about the trend and the decay."""
    t = np.arange(len(y), dtype=float)
    yv, wv = np.asarray(y, dtype=float), np.maximum(np.asarray(w, dtype=float), 0.02)
    if len(yv) > 3:  # a one-off spike (a webinar, an import) is not a rate: cap it
        capped = np.minimum(yv, _spike_limit(yv, wv))
        yv = capped if recurring is None else np.where(recurring, yv, capped)
    g, k = _GK if discovery else _G1
    x1 = wv * np.exp(g[..., None] * t)
    x2 = wv * np.exp(-k[..., None] * t) if discovery else None
    c, a, mu = _solve(yv, x1, x2)
    ll = _loglik(yv, mu)
    best = np.unravel_index(np.argmax(ll), ll.shape)
    shape = None  # the stream's own weekday weights, where they earn their place
    if weekdays is not None and x2 is not None:
        own = _own_shape(yv, wv, np.exp(g[..., None] * t), x2, (x1, c, a, mu), weekdays[0])
        if own is not None:
            shape, (x1, c, a, mu) = own
            ll = _loglik(yv, mu)
            best = np.unravel_index(np.argmax(ll), ll.shape)
    params = 2 + (2 if discovery else 0)
    resid = (yv - mu[best]) ** 2 / mu[best]
    dispersion = max(1.0, float(np.sum(resid)) / max(1, len(y) - params))
    prior = -(g**2) / (2 * (G_SD if discovery else G_SD_SUM) ** 2)
    # A level stream (g = 0) is one hypothesis against a spread of growth rates: it gets
    # prior odds of its own, so growth must be shown by the days, not by their noise (a
    # steady sign-up stream read 3% a day of growth from its first week's ramp).
    prior = prior + np.where(_LEVEL if discovery else _LEVEL1, math.log(LEVEL_WEIGHT), 0.0)
    if discovery:
        prior = prior - (np.log(k) - K_MEAN) ** 2 / (2 * K_SD**2)
    logw = (ll - ll.max()) / dispersion + prior
    weight = np.exp(logw - logw.max())
    weight /= weight.sum()
    ft = np.array([f[0] for f in future], dtype=float)
    fw = np.array([f[1] * max(f[2], 0.0) for f in future], dtype=float)
    fws = fw  # the stream's weights ahead: the activity's, or the stream's own
    if shape is not None and weekdays is not None:
        fws = np.array([f[1] for f in future]) * shape[np.asarray(weekdays[1], dtype=int)]
    f1 = fws * np.exp(g[..., None] * ft)  # (G, K, F)
    f2 = fw * np.exp(-k[..., None] * ft) if discovery else np.zeros_like(f1)
    stream, found = c[..., None] * f1, a[..., None] * f2
    totals = (stream + found).sum(-1)
    # The doubt about c and A at each grid point: their Fisher information on the days seen.
    v = 1.0 / mu
    i11 = (v * x1 * x1).sum(-1)
    u1 = f1.sum(-1)
    var = u1**2 / np.maximum(i11, 1e-12)
    if discovery and x2 is not None:
        i22, i12 = (v * x2 * x2).sum(-1), (v * x1 * x2).sum(-1)
        u2 = f2.sum(-1)
        det = np.maximum(i11 * i22 - i12**2, 1e-12)
        var = (u1**2 * i22 - 2 * u1 * u2 * i12 + u2**2 * i11) / det
    spread = np.sqrt(
        dispersion * (np.maximum(var, 0.0) + np.maximum(totals, 0.0))
        + (DISCREPANCY * np.maximum(totals, 0.0)) ** 2
    )
    pick = np.minimum(np.searchsorted(np.cumsum(weight.ravel()), _UNIFORM), weight.size - 1)
    draws = totals.ravel()[pick] + _NORMAL * spread.ravel()[pick]
    # The point forecast is the posterior median: the mean of exp(g t) over a spread of g
    # leans towards growth that the days have not shown.
    order = np.argsort(totals.ravel())
    cumulative = np.cumsum(weight.ravel()[order])
    median_at = order[min(int(np.searchsorted(cumulative, 0.5)), order.size - 1)]
    expected = float(totals.ravel()[median_at])
    ranked = np.sort(np.maximum(draws, 0.0))
    low, high = (
        expected + BAND_SCALE * (float(ranked[int(q * (DRAWS - 1))]) - expected) for q in (0.1, 0.9)
    )
    per_slice = (stream + found).reshape(-1, len(ft))[median_at]
    stream_part = float(np.sum(weight * stream.sum(-1)))
    growth = float(np.sum(weight * g))
    if discovery and stream_part < 0.1 * max(float(np.sum(yv)), 1.0):
        kind = "saturating"  # what is still to come is a small share of what came
    elif growth > 0.01:
        kind = "growing stream"
    elif growth < -0.01:
        kind = "fading stream"
    else:
        kind = "steady stream"
    return Fit(expected, min(low, expected), max(high, expected), tuple(per_slice), kind)
