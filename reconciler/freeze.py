"""A closed cycle stays as it was reported and mailed at its close. Pure.

Events that arrive after the closing report and are dated inside the cycle never change its
figures silently: they are listed as dated ``adjustments`` (what they would change, when they
arrived), flagged in the notes, and, when they change the invoice estimate, mailed once as a
correction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from meterwise.reconciler.models import Report
from meterwise.reconciler.report import quantity


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def adjustments(
    frozen: Report, now: Report, late: tuple[int, int | None, int | None]
) -> dict[str, Any] | None:
    """What late events would change in a frozen cycle (None when nothing)."""
    count, first, last = late
    metrics = {
        m.usage.name: {
            "reported": quantity(m.usage.used),
            "with_late_events": quantity(n.usage.used),
        }
        for m in frozen.metrics
        for n in now.metrics
        if n.usage.name == m.usage.name and n.usage.used != m.usage.used
    }
    total_then, total_now = frozen.invoice.total, now.invoice.total
    if not metrics and total_then == total_now and not count:
        return None
    return {
        "late_events": count,
        "first_arrived": _iso(first),
        "last_arrived": _iso(last),
        "metrics": metrics,
        "invoice_total": {"reported": f"{total_then:.2f}", "with_late_events": f"{total_now:.2f}"},
    }


def freeze(
    frozen: Report, now: Report, late: tuple[int, int | None, int | None], mailed_ms: int
) -> Report:
    """The frozen report, with the adjustments of ``now`` over it, as of ``now``."""
    found = adjustments(frozen, now, late)
    if found is None:
        return now
    note = (
        f"frozen at its closing report ({_iso(mailed_ms)}): {found['late_events']} event(s) "
        f"dated in this cycle arrived later ({found['first_arrived']} to "
        f"{found['last_arrived']}); see adjustments: the invoice estimate would be "
        f"${found['invoice_total']['with_late_events']} instead of "
        f"${found['invoice_total']['reported']}"
    )
    return replace(
        frozen,
        as_of=now.as_of,
        notes=(*frozen.notes, note),
        adjustments=found,
        checks=now.checks,
        comparison=now.comparison,
    )
