"""Forecast accuracy on synthetic traffic models, ours vs the linear run-rate projection.

For each model of reconciler/traffic.py, runs the real forecast code at days 5, 10 and 20 of a
30-day cycle and prints the absolute % error of our end-of-cycle MAU forecast and of the
linear projection (used / elapsed share, what Lago does). Targets: median error <= 10% at
day 10, and below linear on every model.

    python bench/forecast.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meterwise.reconciler.forecast import forecast_distinct, linear_forecast  # noqa: E402
from meterwise.reconciler.models import BillingCycle  # noqa: E402
from meterwise.reconciler.traffic import MODELS, daily_series  # noqa: E402

CHECK_DAYS = (5, 10, 20)


def errors(model, seed: int, start: datetime) -> dict[int, tuple[float, float]]:
    cycle = BillingCycle(start, start + timedelta(days=30))
    days = model(start, 30, random.Random(seed))
    new, activity, final = daily_series(days)
    out = {}
    for d in CHECK_DAYS:
        as_of = start + timedelta(days=d)
        used = sum(new[:d])
        ours = forecast_distinct("mau", used, new[:d], activity[:d], cycle, as_of, UTC, None)
        linear = linear_forecast(used, cycle, as_of)
        out[d] = (abs(float(ours.value) - final) / final * 100, abs(linear - final) / final * 100)
    return out


def warning_lead(model, seed: int, start: datetime) -> tuple[int | None, int | None]:
    """(day the first forecast warning would go out, day the allowance is crossed) with the
    allowance at 80% of the model's final MAU and the alert rule's confidence gate (medium)."""
    cycle = BillingCycle(start, start + timedelta(days=30))
    new, activity, final = daily_series(model(start, 30, random.Random(seed)))
    allowance = int(final * 0.8)
    warned = crossed = None
    for d in range(1, 30):
        used = sum(new[:d])
        if crossed is None and used > allowance:
            crossed = d
        f = forecast_distinct(
            "mau", used, new[:d], activity[:d], cycle, start + timedelta(days=d), UTC, allowance
        )
        if (
            warned is None
            and crossed is None
            and f.crossing is not None
            and f.crossing < cycle.end
            and f.confidence != "low"
        ):
            warned = d
    return warned, crossed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    starts = [datetime(2026, 6, 1 + i, tzinfo=UTC) for i in range(args.seeds)]  # vary weekday
    print(
        f"forecast bench: 30-day cycles, {args.seeds} seeds (start weekday varies); "
        "absolute % error of the end-of-cycle MAU forecast"
    )
    print(f"{'model':20s}" + "".join(f"  day {d:2d} ours / linear" for d in CHECK_DAYS))
    at10, worse = [], []
    for name, model in MODELS.items():
        per_day = {d: ([], []) for d in CHECK_DAYS}
        for seed, start in enumerate(starts):
            for d, (ours, lin) in errors(model, seed, start).items():
                per_day[d][0].append(ours)
                per_day[d][1].append(lin)
        cells = []
        for d in CHECK_DAYS:
            ours, lin = statistics.median(per_day[d][0]), statistics.median(per_day[d][1])
            cells.append(f"  {ours:8.1f}% / {lin:7.1f}%  ")
            if ours >= lin:
                worse.append(f"{name} day {d}")
        at10.append(statistics.median(per_day[10][0]))
        print(f"{name:20s}" + "".join(cells))
    median10 = statistics.median(at10)
    print(
        f"median error at day 10 across models: {median10:.1f}% (target <= 10%: "
        f"{'met' if median10 <= 10 else 'NOT met'})"
    )
    print("below linear everywhere: " + ("yes" if not worse else "no: " + ", ".join(worse)))
    print()
    print("forecast warning lead (allowance = 80% of final MAU; medium confidence needed):")
    for name, model in MODELS.items():
        leads = [warning_lead(model, seed, start) for seed, start in enumerate(starts)]
        cells = []
        for warned, crossed in leads:
            if crossed is None:
                cells.append("never crossed")
            elif warned is None:
                cells.append(f"crossed day {crossed}, no warning before")
            else:
                cells.append(f"{crossed - warned} days ahead")
        print(f"  {name:20s} " + "; ".join(cells))


if __name__ == "__main__":
    main()
