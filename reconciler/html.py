"""One self-contained HTML page per report (Jinja2 with autoescape; inline CSS and SVG)."""

from __future__ import annotations

import math
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from reconciler.audit_view import comparison_dict
from reconciler.chart import burnup_svg
from reconciler.models import Report
from reconciler.report import extra_lines, money, number

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(report: Report) -> str:
    """The report page: cards, burn-up chart, metrics, invoice, comparison, checks."""
    main = report.metrics[0] if report.metrics else None
    chart = ""
    if main is not None and main.usage.unit == "users" and report.burnup:
        f = main.forecast
        chart = burnup_svg(
            report.burnup,
            math.ceil(report.cycle.days),
            report.cycle.start,
            main.allowance,
            (float(f.value), float(f.low), float(f.high)) if f else None,
        )
    c = report.cycle
    return _ENV.get_template("report.html").render(
        r=report,
        main=main,
        chart=chart,
        cycle_label=f"{c.start:%Y-%m-%d %H:%M} to {c.end:%Y-%m-%d %H:%M} UTC",
        as_of_label=f"{report.as_of:%Y-%m-%d %H:%M} UTC",
        findings=sum(1 for check in report.checks if check.count),
        comparison=comparison_dict(report.comparison) if report.comparison else None,
        extras=[ln for k, v in report.extras.items() for ln in extra_lines(k, v)],
        money=money,
        num=number,
    )
