"""The checks, the provider comparison and the room ranking as JSON values and text lines."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from meterwise.reconciler.models import Comparison, Report


def money(amount: Decimal) -> str:
    """An amount as a string with two decimals, as every amount in a report."""
    return f"{amount.quantize(Decimal('0.01'))}"


def comparison_dict(c: Comparison) -> dict[str, Any]:
    """Ours beside theirs; MAU stays a whole number, amounts have two decimals."""
    return {
        "recorded_at": c.figures.recorded_at.isoformat().replace("+00:00", "Z"),
        "note": c.figures.note,
        "rows": [
            {
                "item": r.item,
                "ours": int(r.ours) if r.item == "mau" else money(r.ours),
                "theirs": int(r.theirs) if r.item == "mau" else money(r.theirs),
                "difference": int(r.delta) if r.item == "mau" else money(r.delta),
            }
            for r in c.rows
        ],
        "likely_causes": list(c.causes),
    }


def audit_dict(report: Report) -> dict[str, Any]:
    """The JSON members added to a report by the audit."""
    return {
        "checks": [
            {
                "code": c.code,
                "title": c.title,
                "count": c.count,
                "examples": list(c.examples),
                "meaning": c.meaning,
            }
            for c in report.checks
        ],
        "provider_figures": comparison_dict(report.comparison) if report.comparison else None,
        "rooms": [{"room": room, "mau": n} for room, n in report.rooms],
        "burnup": list(report.burnup),
    }


def audit_lines(report: Report) -> list[str]:
    """The checks and the comparison for the terminal table."""
    out = ["", "checks:"]
    for c in report.checks:
        mark = "!!" if c.count else "ok"
        out.append(f"  [{mark}] {c.title}: {c.count}")
        out += [f"       {e}" for e in c.examples]
    if report.comparison:
        out += ["", "ours vs the provider's figures:"]
        for r in report.comparison.rows:
            ours, theirs, delta = (
                (str(int(v)) if r.item == "mau" else money(v)) for v in (r.ours, r.theirs, r.delta)
            )
            out.append(
                f"  {r.item:28} ours {ours:>10}  theirs {theirs:>10}  difference {delta:>10}"
            )
        out += [f"  likely cause: {cause}" for cause in report.comparison.causes]
    return out
