"""Calibrate the forecast band on the calibration set, and write `reconciler/forecast_bands.py`.

Every model of the calibration role of `traffic.split()` (the second to seventh sets; never
the held-out half) is run as `bench/forecast.py` runs it: delivered day by day through its
provider's parser into a real SQLite file, folded, and reported by `compute_report`, with
the band left as the forecaster gives it. For each day of the cycle, (final, forecast, low,
high) is kept; each table row (`forecast_calibration.row_from`) leaves 10% of the runs of
the days around under the band and 10% over it: one table for first cycles, one for cycles
with history (the forecast weighed against the history's). Summed minutes are forecast as
in `bench/forecast.py` (meetings of 20-60 minutes per sighting).

    python bench/calibrate.py [--seeds 16] [--jobs 2] [--write]

Seeds start at 100, apart from the evaluation's (0-3). Without --write it only prints.
"""

from __future__ import annotations

import argparse
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._forecast_runs import Run, run  # noqa: E402
from meterwise.reconciler import forecast_bands  # noqa: E402
from meterwise.reconciler.forecast import forecast_sum  # noqa: E402
from meterwise.reconciler.forecast_calibration import Outcome, Table, table_from  # noqa: E402
from meterwise.reconciler.models import BillingCycle  # noqa: E402
from meterwise.reconciler.traffic import EVERY, split  # noqa: E402

FIRST_SEED = 100
BANDS = Path(__file__).resolve().parent.parent / "reconciler" / "forecast_bands.py"
BY_NAME = {m.name: m for m in EVERY}


def _raw() -> None:
    """In each worker: the band as the forecaster gives it (an empty table calibrates nothing)."""
    forecast_bands.DISTINCT_FIRST = forecast_bands.DISTINCT_HISTORY = forecast_bands.SUMMED = ()


def _job(args: tuple[str, int, int]) -> Run:
    name, seed, history = args
    return run(BY_NAME[name], seed, history, 1.0)


def _minutes(name: str, seed: int) -> list[tuple[int, Outcome]]:
    """(day, outcome) of the summed forecast on one model's minutes, first cycle."""
    rng = random.Random(seed)
    start = datetime(2026, 6, 1 + seed % 28, tzinfo=UTC)
    cycle = BillingCycle(start, start + timedelta(days=30))
    days = BY_NAME[name].generate(start, 30, random.Random(seed))
    minutes = [Decimal(sum(rng.randint(20, 60) for _ in day)) for day in days]
    final = float(sum(minutes))
    out = []
    for d in range(2, 30):
        used = sum(minutes[:d], Decimal(0))
        f = forecast_sum("minutes", used, minutes[:d], cycle, start + timedelta(days=d), UTC, None)
        out.append((d, (final, float(f.value), float(f.low), float(f.high))))
    return out


def _render(first: Table, history: Table, summed: Table, note: str) -> str:
    def rows(table: Table) -> str:
        return "".join(f"    ({s}, {a}, {b}),  # day {d}\n" for d, (s, a, b) in enumerate(table))

    return (
        '"""Calibration tables of the forecast band (see `forecast_calibration.py`): per day of\n'
        "the cycle, (s, a, b): low = value - s * (value - low), high = value + a * (high - value)\n"
        "+ b * value.\n"
        f"Data, written by `bench/calibrate.py --write`; do not edit by hand. {note}\n"
        '"""\n\n'
        f"DISTINCT_FIRST = (\n{rows(first)})\n\n"
        f"DISTINCT_HISTORY = (\n{rows(history)})\n\n"
        f"SUMMED = (\n{rows(summed)})\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="rewrite forecast_bands.py")
    args = parser.parse_args()
    halves = split()
    names = [m.name for m in EVERY if halves[m.name] == "calibration"]
    seeds = range(FIRST_SEED, FIRST_SEED + args.seeds)
    jobs = [(n, s, h) for n in names for s in seeds for h in (0, 1 + s % 3)]
    by_day: dict[bool, dict[int, list[Outcome]]] = {False: {}, True: {}}
    summed: dict[int, list[Outcome]] = {}
    held: dict[bool, dict[int, list[bool]]] = {False: {}, True: {}}  # the raw band held final
    with ProcessPoolExecutor(args.jobs, initializer=_raw) as pool:
        for r in pool.map(_job, jobs, chunksize=2):
            history = r.history > 0
            for p in r.passes:
                if p.day >= 2:
                    got = (float(r.final), p.value, p.low, p.high)
                    by_day[history].setdefault(p.day, []).append(got)
                    held[history].setdefault(p.day, []).append(p.low <= r.final <= p.high)
        minutes = pool.map(_minutes, [n for n in names for _ in seeds], [*seeds] * len(names))
        for d, sc in (x for got in minutes for x in got):
            summed.setdefault(d, []).append(sc)
    tables = table_from(by_day[False]), table_from(by_day[True]), table_from(summed)
    print(f"calibration set: {len(names)} models x {args.seeds} seeds, through compute_report")
    print("rows (s, a, b) (in brackets: how often the raw band held the final count)")
    for label, table, got in zip(
        ("first cycle", "history", "minutes"), tables, (held[False], held[True], {}), strict=True
    ):
        cells = "  ".join(
            f"day {d}: {table[d][0]:.2f} {table[d][1]:.2f} {table[d][2]:.2f}"
            + (f" ({sum(got[d]) / len(got[d]):.0%})" if d in got else "")
            for d in (3, 5, 10, 15, 20)
        )
        print(f"{label:12s} {cells}")
    if args.write:
        note = f"From {len(names)} models x {args.seeds} seeds\n(seeds {FIRST_SEED}-)."
        BANDS.write_text(_render(*tables, note))
        print(f"wrote {BANDS}")


if __name__ == "__main__":
    main()
