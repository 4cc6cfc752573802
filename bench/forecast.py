"""Forecast accuracy on the traffic suite, through real storage and `compute_report`.

Every model of reconciler/traffic.py is delivered day by day (its provider's own payloads,
parsed by the adapter, stored in a real SQLite file, folded) and reported after each day of
the evaluated cycle: (a) the account's first cycle, (b) a cycle after one to three cycles
of history. Several seeds per model; the allowance is the final count times a margin that
varies with the seed (some runs cross, some end well under). Prints, per model and for the
tuned half, the spent half (the first set's former held-out half), the calibration set
(the second to seventh sets: the band is calibrated on them, `bench/calibrate.py`)
and the held-out half (the eighth set), by the fixed split of `traffic.split()`:

- median absolute % error at days 3, 5, 10, 15, 20 (ours / the linear run-rate);
- p90 error and band coverage (share of runs whose final count fell inside the 80% band);
- false alarms (a forecast warning by day 10 although the cycle ends under 90% of the
  allowance), missed warnings (the cycle crosses after day 10, no warning by day 10) and
  the first warning's lead time.

    python bench/forecast.py [--seeds 4] [--half both|tune|spent|calibration|held-out] [--jobs 2]
                             [--models "stable team,classes"]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._forecast_runs import Run, run  # noqa: E402
from meterwise.reconciler.forecast import forecast_sum, linear_forecast  # noqa: E402
from meterwise.reconciler.models import BillingCycle  # noqa: E402
from meterwise.reconciler.traffic import EVERY, ROLES, split  # noqa: E402

DAYS = (3, 5, 10, 15, 20)
MARGINS = (0.8, 0.92, 1.15, 1.4)  # allowance = final x margin, by seed
BAND = 0.8
BY_NAME = {m.name: m for m in EVERY}


def _ape(value: float, final: int) -> float:
    return abs(value - final) / max(final, 1) * 100


def _p90(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.9 * len(xs)))] if xs else float("nan")


def _job(args: tuple[str, int, int, float]) -> Run:
    name, seed, history, margin = args
    model = BY_NAME[name]
    return run(model, seed, history, margin)


def run_all(names: list[str], seeds: int, jobs: int) -> list[Run]:
    """Every named model, ``seeds`` seeds, a first cycle and a cycle with 1-3 cycles of
    history each; the allowance's margin by seed."""
    args = [
        (name, seed, history, MARGINS[seed % len(MARGINS)])
        for name in names
        for seed in range(seeds)
        for history in (0, 1 + seed % 3)
    ]
    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(_job, args, chunksize=4))


def _crossing_day(r: Run) -> int | None:
    return next((p.day for p in r.passes if p.used > r.allowance), None)


def outcomes(runs: list[Run]) -> dict[str, object]:
    """The figures of a group of runs (one model, or a half)."""
    out: dict[str, object] = {}
    for d in DAYS:
        out[f"ours{d}"] = statistics.median(_ape(r.at(d).value, r.final) for r in runs)
        out[f"lin{d}"] = statistics.median(_ape(r.at(d).linear, r.final) for r in runs)
    out["p90"] = _p90([_ape(r.at(10).value, r.final) for r in runs])
    out["cover10"] = statistics.mean(r.at(10).low <= r.final <= r.at(10).high for r in runs)
    # How wide the band is (its sharpness: a band can cover anything by being wide).
    out["width10"] = statistics.median(
        (r.at(10).high - r.at(10).low) / max(r.final, 1) for r in runs
    )
    out["cover"] = statistics.mean(
        r.at(d).low <= r.final <= r.at(d).high for r in runs for d in DAYS
    )
    under = [r for r in runs if r.final < 0.9 * r.allowance]
    late = [r for r in runs if r.at(10).used <= r.allowance < r.final]
    # At the rule's confidence; at any confidence; at any confidence from day 3 (days 1-2
    # are the run rate's, `forecast._too_early`).
    for key, said, first in (("", "warns", 1), ("_any", "projects", 1), ("_any3", "projects", 3)):
        out["false" + key] = (
            sum(any(getattr(p, said) for p in r.passes if first <= p.day <= 10) for r in under),
            len(under),
        )
        out["missed" + key] = (
            sum(not any(getattr(p, said) for p in r.passes if first <= p.day <= 10) for r in late),
            len(late),
        )

    # Misses by how far the cycle ends over its allowance: a crossing by less than the
    # forecast's error at day 10 cannot be told from a cycle that stays under.
    def margin_of(r: Run) -> float:
        return min(MARGINS, key=lambda m: abs(r.allowance / r.final - m))

    for margin in sorted({margin_of(r) for r in late}, reverse=True):
        near = [r for r in late if margin_of(r) == margin]
        out[f"missed_at_{margin:.2f}"] = (
            sum(not any(p.warns for p in r.passes if p.day <= 10) for r in near),
            len(near),
        )
    leads = []
    for r in runs:
        crossed = _crossing_day(r)
        if crossed is None:
            continue
        warned = next((p.day for p in r.passes if p.warns), None)
        leads.append(crossed - warned if warned is not None and warned < crossed else 0)
    out["lead"] = statistics.median(leads) if leads else None
    return out


def _rate(pair: object) -> str:
    n, of = pair  # type: ignore[misc]
    return f"{n}/{of}" + (f" ({100 * n / of:.0f}%)" if of else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--models", default="", help="comma-separated names (default: all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--half",
        choices=("both", *ROLES),
        default="both",
        help="tune on tune and spent only; calibration is the band's, held-out the final figures",
    )
    args = parser.parse_args()
    halves = split()
    names = [
        m.name
        for m in EVERY
        if (not args.models or m.name in args.models.split(","))
        and args.half in ("both", halves[m.name])
    ]
    runs = run_all(names, args.seeds, args.jobs)
    print(
        f"forecast bench: {len(names)} models x {args.seeds} seeds x (first cycle, 1-3 cycles "
        "of history), through storage and compute_report; absolute % error of the "
        "end-of-cycle MAU forecast, ours / linear run-rate"
    )
    for label, hist in (("first cycle (no history)", False), ("with history", True)):
        print(f"\n== {label} ==")
        print(
            f"{'model':20s} {'half':11s}"
            + "".join(f" {'day ' + str(d):>13s}" for d in DAYS)
            + "  p90@10  band@10  method at day 10"
        )
        for name in names:
            mine = [r for r in runs if r.model == name and (r.history > 0) == hist]
            o = outcomes(mine)
            cells = "".join(f" {o[f'ours{d}']:5.1f}/{o[f'lin{d}']:6.1f}" for d in DAYS)
            methods = sorted({r.at(10).method for r in mine})
            print(
                f"{name:20s} {halves[name]:11s}{cells}  {o['p90']:6.1f}  {o['cover10']:6.0%}"
                f"  {methods[0]}{' +' if len(methods) > 1 else ''}"
            )
    print("\n== summary (held-out is what counts; never tuned on) ==")
    for half in ROLES:
        for label, hist in (("first cycle", False), ("history", True)):
            group = [r for r in runs if halves[r.model] == half and (r.history > 0) == hist]
            if not group:
                continue
            o = outcomes(group)
            models = {r.model for r in group}
            worse = [
                m
                for m in sorted(models)
                if outcomes([r for r in group if r.model == m])["ours10"]
                >= outcomes([r for r in group if r.model == m])["lin10"]
            ]
            print(
                f"{half:11s} {label:11s} median@10 {o['ours10']:5.1f}% (linear {o['lin10']:5.1f}%)"
                f"  p90@10 {o['p90']:5.1f}%  band coverage@10 {o['cover10']:.0%}"
                f" (all days {o['cover']:.0%}, stated {BAND:.0%}; width {o['width10']:.0%} of"
                f" final)  false alarms {_rate(o['false'])}"
                f"  missed {_rate(o['missed'])}  lead {o['lead']} d"
                f"  worse than linear: {', '.join(worse) or 'none'}"
            )
            by_margin = "  ".join(
                f"allowance {k.split('_')[-1]} x final: {_rate(v)}"
                for k, v in o.items()
                if k.startswith("missed_at_")
            )
            print(
                f"{'':20s} missed by how far it ends over: {by_margin}; a crossing projected"
                f" at any confidence: false alarms {_rate(o['false_any'])},"
                f" missed {_rate(o['missed_any'])}; from day 3: false alarms"
                f" {_rate(o['false_any3'])}, missed {_rate(o['missed_any3'])}"
            )
    sums(names, args.seeds, halves)


def sums(names: list[str], seeds: int, halves: dict[str, str]) -> None:
    """Summed metrics (minutes): each model's sightings as meetings of 20-60 minutes,
    forecast by `forecast_sum` at the same days (a pure function: the storage path of
    minutes is the acceptance tests'), against the linear run-rate."""
    print("\n== summed metric (minutes), first cycle: median error ours / linear, band@10 ==")
    rows: dict[str, list[tuple[float, ...]]] = {half: [] for half in ROLES}
    for name in names:
        model = BY_NAME[name]
        per_model = []
        for seed in range(seeds):
            rng = random.Random(seed)
            start = datetime(2026, 6, 1 + seed, tzinfo=UTC)
            cycle = BillingCycle(start, start + timedelta(days=30))
            minutes = [
                Decimal(sum(rng.randint(20, 60) for _ in day))
                for day in model.generate(start, 30, random.Random(seed))
            ]
            final = float(sum(minutes))
            cells = []
            for d in DAYS:
                used = sum(minutes[:d], Decimal(0))
                f = forecast_sum(
                    "minutes", used, minutes[:d], cycle, start + timedelta(d), UTC, None
                )
                lin = linear_forecast(float(used), cycle, start + timedelta(days=d))
                cells += [_ape(float(f.value), final), _ape(lin, final)]
                if d == 10:
                    cells.append(float(f.low) <= final <= float(f.high))
            per_model.append(tuple(cells))
        rows[halves[name]] += per_model
        med = [statistics.median(c[i] for c in per_model) for i in range(len(per_model[0]))]
        print(
            f"{name:20s} {halves[name]:11s}"
            + "".join(
                f" {med[2 * i + (i > 2)]:5.1f}/{med[2 * i + 1 + (i > 2)]:6.1f}" for i in range(5)
            )
            + f"  band@10 {statistics.mean(c[6] for c in per_model):.0%}"
        )
    for half, got in rows.items():
        if got:
            print(
                f"{half:11s} minutes median@10 {statistics.median(c[4] for c in got):5.1f}%"
                f" (linear {statistics.median(c[5] for c in got):5.1f}%)"
                f"  band coverage@10 {statistics.mean(c[6] for c in got):.0%}"
            )


if __name__ == "__main__":
    main()
