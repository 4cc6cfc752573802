"""One self-contained HTML page per report (Jinja2 with autoescape; inline CSS and SVG)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from meterwise.config.plans import Catalog
from meterwise.reconciler.audit_view import comparison_dict, money
from meterwise.reconciler.chart import burnup_svg
from meterwise.reconciler.display import day, local, percent, stamp
from meterwise.reconciler.models import Report
from meterwise.reconciler.projection import projected_overage
from meterwise.reconciler.report import extra_lines, number

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(
    report: Report, catalog: Catalog | None = None, dash: Mapping[str, Any] | None = None
) -> str:
    """The report page: cards, burn-up chart, metrics, invoice, comparison, checks.

    ``catalog`` gives the projected overage on the invoice card (the projected invoice's);
    ``dash`` (the dashboard's account page) adds navigation, downloads and this cycle's
    alert messages.
    """
    main = report.metrics[0] if report.metrics else None
    chart = ""
    if main is not None and main.usage.unit == "users" and report.burnup:
        f = main.forecast
        chart = burnup_svg(
            report.burnup,
            math.ceil(report.cycle.days),
            local(report.cycle.start, report.timezone),  # axis dates in the account's zone
            main.allowance,
            (float(f.value), float(f.low), float(f.high)) if f else None,
        )
    c = report.cycle
    projected = Decimal(0)
    if main is not None and catalog is not None and report.plan_id and not report.closed:
        projected = projected_overage(report, catalog, report.as_of, main.usage.name)
    shown = [m for m in report.metrics if m.allowance is not None or m.usage.used]
    return _ENV.get_template("report.html").render(
        r=report,
        main=main,
        shown=shown,
        projected=projected - (main.overage_amount if main else Decimal(0)),
        chart=chart,
        cycle_label=f"{stamp(c.start, report.timezone)} to {stamp(c.end, report.timezone)}",
        as_of_label=stamp(report.as_of, report.timezone),
        percent=percent,
        findings=sum(1 for check in report.checks if check.count),
        comparison=comparison_dict(report.comparison) if report.comparison else None,
        extras=[ln for k, v in report.extras.items() for ln in extra_lines(k, v)],
        money=money,
        num=number,
        dash=dash,
    )


def render_page(template: str, **values: Any) -> str:
    """One of the dashboard's own pages (login, off, overview), with the display helpers."""
    return _ENV.get_template(f"{template}.html").render(
        money=money, num=number, day=day, stamp=stamp, **values
    )
