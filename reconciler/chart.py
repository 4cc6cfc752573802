"""The burn-up chart as inline SVG: cumulative MAU by day, the allowance, the forecast band.

Pure: values in, markup out (escaped); no script, no external font or stylesheet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 36


def _nice_top(value: float) -> float:
    """A round number a little above ``value`` for the y axis."""
    if value <= 0:
        return 10.0
    step = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if m * step >= value * 1.08:
            return float(m * step)
    return float(10 * step)


def burnup_svg(
    cumulative: Sequence[int],
    cycle_days: int,
    start: datetime,
    allowance: int | None,
    forecast: tuple[float, float, float] | None,
) -> str:
    """``cumulative[i]`` users by the end of day i; ``forecast`` = (value, low, high) at end."""
    peak = max([*cumulative, allowance or 0, *(forecast or ())], default=0)
    y_top = _nice_top(float(peak))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    days = max(cycle_days, 1)

    def x(day: float) -> float:
        return LEFT + plot_w * day / days

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / y_top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-labelledby="burnup-title" class="burnup">',
        '<title id="burnup-title">Cumulative MAU by day against the allowance</title>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa"/>',
    ]
    for i in range(5):
        value = y_top * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="#e3e3e3"/><text x="{LEFT - 6}" y="{y(value) + 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="#555">{value:g}</text>'
        )
    for day in range(0, days + 1, max(1, days // 6)):
        label = escape(f"{start + timedelta(days=day):%b %d}")
        parts.append(
            f'<text x="{x(day):.1f}" y="{HEIGHT - 12}" font-size="11" text-anchor="middle" '
            f'fill="#555">{label}</text>'
        )
    if forecast and cumulative:
        value, low, high = forecast
        now_x, now_y = x(len(cumulative)), y(cumulative[-1])
        parts.append(
            f'<polygon class="band" points="{now_x:.1f},{now_y:.1f} {x(days):.1f},{y(high):.1f} '
            f'{x(days):.1f},{y(low):.1f}" fill="#4c78a8" fill-opacity="0.15"/>'
            f'<line class="forecast" x1="{now_x:.1f}" y1="{now_y:.1f}" x2="{x(days):.1f}" '
            f'y2="{y(value):.1f}" stroke="#4c78a8" stroke-width="2" stroke-dasharray="6 4"/>'
        )
    if allowance is not None:
        parts.append(
            f'<line class="allowance" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(allowance):.1f}" '
            f'y2="{y(allowance):.1f}" stroke="#d62728" stroke-width="2" stroke-dasharray="3 3"/>'
            f'<text x="{LEFT + 4}" y="{y(allowance) - 5:.1f}" font-size="11" fill="#d62728">'
            f"allowance {allowance}</text>"
        )
    if cumulative:
        points = " ".join(f"{x(i + 1):.1f},{y(v):.1f}" for i, v in enumerate(cumulative))
        parts.append(
            f'<polyline class="used" points="{x(0):.1f},{y(0):.1f} {points}" fill="none" '
            f'stroke="#1f77b4" stroke-width="2.5"/>'
        )
    parts.append("</svg>")
    return "".join(parts)
