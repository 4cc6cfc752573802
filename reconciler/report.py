"""Report renderers: JSON-ready dicts, the terminal table and CSV. Pure.

Amounts go through `reconciler.audit_view.money`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from meterwise.reconciler.audit_view import audit_dict, audit_lines, money
from meterwise.reconciler.csvout import write_csv
from meterwise.reconciler.display import date_only, stamp
from meterwise.reconciler.models import Forecast, Report


def number(value: Decimal) -> int | str:
    """A quantity: an int when whole, else a decimal string."""
    return int(value) if value == value.to_integral_value() else str(value.normalize())


QUANTUM = Decimal("0.000001")


def quantity(value: Decimal) -> str:
    """The JSON type of every quantity: a decimal string, at most 6 decimals, no exponent
    and no trailing zeros ("1600", "153.333333", "0.5")."""
    text = format(value.quantize(QUANTUM), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _iso(instant: datetime | None) -> str | None:
    """Every instant in JSON: UTC, ending in ``Z``."""
    if instant is None:
        return None
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _forecast(f: Forecast | None) -> dict[str, Any]:
    if f is None:
        return {
            "forecast": None,
            "forecast_low": None,
            "forecast_high": None,
            "projected_crossing": None,
            "forecast_confidence": None,
        }
    return {
        "forecast": quantity(f.value),
        "forecast_low": quantity(f.low),
        "forecast_high": quantity(f.high),
        "projected_crossing": _iso(f.crossing),
        "forecast_confidence": f.confidence,
        "forecast_method": f.method,
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    """The JSON shape of `meterwise report --format json` and the API."""
    return {
        "account": report.account,
        "provider": report.provider,
        "as_of": _iso(report.as_of),
        "cycle": {
            "start": _iso(report.cycle.start),
            "end": _iso(report.cycle.end),
            "closed": report.closed,
        },
        "plan": {
            "id": report.plan_id,
            "changes": [
                {"plan": p.plan_id, "from": _iso(p.start), "to": _iso(p.end)}
                for p in report.periods
            ],
        },
        "metrics": {
            m.usage.name: {
                "used": quantity(m.usage.used),
                "unit": m.usage.unit,
                "allowance": m.allowance,
                "overage_units": quantity(m.overage_units),
                "overage_amount": money(m.overage_amount),
                **_forecast(m.forecast),
                "estimated": m.usage.estimated,
                "open_intervals": m.usage.open_intervals,
                "notes": list(m.usage.notes),
            }
            for m in report.metrics
        },
        "invoice": {
            "issued_on": _iso(report.invoice.issued_on),
            "lines": [
                {
                    "code": ln.code,
                    "description": ln.description,
                    "quantity": quantity(ln.quantity),
                    "unit_price": str(ln.unit_price),
                    "amount": money(ln.amount),
                }
                for ln in report.invoice.lines
            ],
            "total": money(report.invoice.total),
        },
        "attribution": [
            {"user": a.user, "name": a.name, "mau": a.mau, "amount": money(a.amount)}
            for a in report.attribution
        ],
        "notes": list(report.notes),
        "observed_since": _iso(report.observed_since),
        "adjustments": dict(report.adjustments) if report.adjustments else None,
        **({"extras": dict(report.extras)} if report.extras else {}),
        **audit_dict(report),
    }


def render_table(report: Report, top: int = 10) -> str:
    """What a person reads in a terminal (dates in the account's time zone)."""
    c, tz = report.cycle, report.timezone
    out = [
        f"{report.account} ({report.provider}), plan {report.plan_id or 'cancelled'}",
        f"cycle {stamp(c.start, tz)} -> {stamp(c.end, tz)}"
        f"{' (closed)' if report.closed else ''}, as of {stamp(report.as_of, tz)}",
        "",
    ]
    out.append(
        f"{'metric':28} {'used':>10} {'allowance':>10} {'overage':>10} "
        f"{'forecast':>10} {'band':>15}  crossing"
    )
    for m in report.metrics:
        f = m.forecast
        band = f"{number(f.low)}-{number(f.high)}" if f else ""
        crossing = stamp(f.crossing, tz) if f and f.crossing else "-"
        name = m.usage.name + (" (est.)" if m.usage.estimated else "")
        out.append(
            f"{name:28} {number(m.usage.used)!s:>10} "
            f"{'-' if m.allowance is None else m.allowance!s:>10} "
            f"{money(m.overage_amount):>10} {number(f.value) if f else '-'!s:>10} "
            f"{band:>15}  {crossing}"
        )
    out += ["", f"invoice issued {date_only(report.invoice.issued_on, tz)}:"]
    for ln in report.invoice.lines:
        out.append(f"  {ln.code:28} {ln.description[:50]:50} {money(ln.amount):>10}")
    out.append(f"  {'total':79} {money(report.invoice.total):>10}")
    if report.attribution:
        out += ["", "attribution (top users):"]
        for a in report.attribution[:top]:
            who = a.user or "(unattributed)"
            out.append(f"  {who[:40]:40} {a.mau:>8} MAU {money(a.amount):>10}")
    notes = [f"{m.usage.name}: {n}" for m in report.metrics for n in m.usage.notes]
    if notes or report.notes:
        out.append("")
    for note in [*notes, *report.notes]:
        out.append(f"note: {note}")
    if report.extras:
        out.append("")
    for name, value in report.extras.items():
        out.extend(extra_lines(name, value))
    out.extend(audit_lines(report))
    return "\n".join(out) + "\n"


def extra_lines(name: str, value: Any, indent: str = "") -> list[str]:
    """A nested mapping as indented ``name: value`` lines (top-level names humanized)."""
    label = name if indent else name.replace("_", " ")
    if not isinstance(value, dict):
        return [f"{indent}{label}: {value}"]
    lines = [f"{indent}{label}:"]
    if not value:
        lines[0] += " none"
    for key, inner in value.items():
        lines.extend(extra_lines(str(key), inner, indent + "  "))
    return lines


def render_csv(report: Report) -> str:
    """The metrics table as CSV (cells made safe for spreadsheets)."""
    header = [
        "account",
        "cycle_start",
        "metric",
        "used",
        "unit",
        "allowance",
        "overage_units",
        "overage_amount",
        "forecast",
        "forecast_low",
        "forecast_high",
        "projected_crossing",
        "estimated",
    ]
    data = report_to_dict(report)
    fields = header[3:]
    rows = [
        [report.account, data["cycle"]["start"], name, *(m[f] for f in fields)]
        for name, m in data["metrics"].items()
    ]
    return write_csv(header, rows)
