"""The forecast alert's trade-off on the sets it may be tuned on: today's rule against a
crossing read as a probability, false alarms beside missed warnings.

Every model of the tune, spent and calibration roles of `traffic.split()` (never the
held-out half) is run as `bench/forecast.py` runs it (8 seeds, a first cycle and a cycle
with history each, through storage and `compute_report`). Each day's forecast is then read
again under other rules, a pure step: today's rule (`alerts.low_side_confidence` after a
week, the forecast's own confidence before) is applied to the stored figures and must give
the bench's own warnings exactly (the mismatches are printed), and the alternative warns
when a crossing is projected and its probability, from the calibrated low side taken as a
normal's, is at least a threshold (after a week; before it, as today, the forecast's own
confidence).

    python bench/alert_rules.py [--seeds 8] [--jobs 2]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from statistics import NormalDist

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._forecast_runs import Pass, Run  # noqa: E402
from bench.forecast import run_all  # noqa: E402
from meterwise.reconciler.alerts import (  # noqa: E402
    CONFIDENCE_RANK,
    WEEK,
    low_side_confidence,
)
from meterwise.reconciler.forecast_fit import Z80  # noqa: E402
from meterwise.reconciler.traffic import EVERY, split  # noqa: E402

TUNABLE = ("tune", "spent", "calibration")
MEDIUM = CONFIDENCE_RANK["medium"]  # the default `forecast_min_confidence`
Rule = Callable[[Pass, int], bool]


def rule_with(after_week: Rule) -> Rule:
    """A forecast rule as `alerts.forecast_warns` has it: a projected crossing, read before
    a whole week at the forecast's own confidence and after it by ``after_week``."""

    def rule(p: Pass, allowance: int) -> bool:
        if not p.projects:
            return False
        if p.day < WEEK.days:
            return CONFIDENCE_RANK[p.confidence] >= MEDIUM
        return after_week(p, allowance)

    return rule


def chance(p: Pass, allowance: int) -> float:
    """The crossing's probability, the calibrated low side taken as a normal's."""
    sd = (p.value - p.low) / Z80
    if sd <= 0:
        return 1.0 if p.value > allowance else 0.0
    return NormalDist().cdf((p.value - allowance) / sd)


today = rule_with(
    lambda p, allowance: CONFIDENCE_RANK[low_side_confidence(p.value, p.low, allowance)] >= MEDIUM
)


def at_least(threshold: float) -> Rule:
    return rule_with(lambda p, allowance: chance(p, allowance) >= threshold)


def score(rule: Rule, runs: list[Run]) -> str:
    """False alarms (by day 10, of runs ending under 90%) and missed warnings (crossing
    after day 10, none by day 10), as `bench/forecast.py` counts them."""
    under = [r for r in runs if r.final < 0.9 * r.allowance]
    late = [r for r in runs if r.at(10).used <= r.allowance < r.final]
    fa = sum(any(rule(p, r.allowance) for p in r.passes if p.day <= 10) for r in under)
    mi = sum(not any(rule(p, r.allowance) for p in r.passes if p.day <= 10) for r in late)
    return f"{100 * fa / max(len(under), 1):3.0f}% / {100 * mi / max(len(late), 1):3.0f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    roles = split()
    names = [m.name for m in EVERY if roles[m.name] in TUNABLE]
    runs = run_all(names, args.seeds, args.jobs)
    mismatches = sum(today(p, r.allowance) != p.warns for r in runs for p in r.passes)
    print(f"alert rules: {len(names)} models x {args.seeds} seeds x (first cycle, history)")
    print(f"today's rule vs the bench's own warnings: {mismatches} mismatches")
    groups = {
        f"{which} ({'tune+spent' if half == 'tune' else 'calibration'})": [
            r
            for r in runs
            if (r.history == 0) == (which == "first")
            and (roles[r.model] in ("tune", "spent")) == (half == "tune")
        ]
        for which in ("first", "history")
        for half in ("tune", "calibration")
    }
    print("false alarms / missed by day 10:  " + "  ".join(f"{g:>26s}" for g in groups))
    rules: dict[str, Rule] = {"today's rule": today}
    rules |= {f"P >= {t}": at_least(t) for t in (0.5, 0.6, 0.7, 0.8, 0.9)}
    for name, rule in rules.items():
        print(f"  {name:31s}" + "  ".join(f"{score(rule, g):>26s}" for g in groups.values()))


if __name__ == "__main__":
    main()
