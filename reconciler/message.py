"""Compose alert and end-of-cycle emails from a report. Pure."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from datetime import datetime

from meterwise.config.plans import Catalog
from meterwise.reconciler.advice import Option
from meterwise.reconciler.alerts import Alert
from meterwise.reconciler.audit_view import money
from meterwise.reconciler.display import date_only, day, percent, stamp
from meterwise.reconciler.mailer import OutgoingEmail
from meterwise.reconciler.models import Report
from meterwise.reconciler.projection import overage_amount, projected_invoice, projected_overage
from meterwise.reconciler.report import extra_lines, number

# Report views worth repeating in a warning (the month history stays in the report).
EMAIL_EXTRAS = ("system_only_users_by_event_type", "growth_vs_previous_month")


def outbox_key(account: str, cycle_start: datetime, parts: Sequence[str]) -> str:
    """A stable key for one message: the same alerts give the same key, so one email."""
    raw = f"{account}|{cycle_start.isoformat()}|{'|'.join(sorted(parts))}"
    return "mw-" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def subject_line(report: Report, catalog: Catalog, metric: str = "mau") -> str:
    """E.g. ``[Meterwise] acme: MAU 92% of 300, projected 410 by Apr 8 (+$108.90 overage)``."""
    m, tz = report.metric(metric), report.timezone
    if m is None or not m.allowance:
        return f"[Meterwise] {report.account}: usage alert"
    pct = percent(m.usage.used, m.allowance)
    text = f"[Meterwise] {report.account}: {metric.upper()} {pct}% of {m.allowance}"
    if m.forecast is not None:
        text += f", projected {number(m.forecast.value)} by {day(report.cycle.end, tz)}"
    amount = projected_overage(report, catalog, report.as_of, metric)
    if amount > 0:
        text += f" (+${money(amount)} overage)"
    return text


def _lines(
    report: Report,
    alerts: Sequence[Alert],
    options: Sequence[Option],
    catalog: Catalog,
    now: datetime,
) -> list[str]:
    days_left = max(0.0, (report.cycle.end - now).total_seconds() / 86400)
    tz = report.timezone
    projected = projected_invoice(report, catalog, report.as_of)
    plan = catalog.get(report.plan_id) if report.plan_id else None
    out = [
        f"{report.account}: {plan.name if plan else 'no plan'}, cycle "
        f"{day(report.cycle.start, tz)} to {day(report.cycle.end, tz)} "
        f"({days_left:.1f} days left)",
        "",
        "Why you are getting this:",
    ]
    out += [f"  - {a.headline}" for a in alerts]
    out += [f"Note: {n}" for n in report.notes if n.startswith(("partly observed", "not obs"))]
    out.append("")
    for m in report.metrics:
        if m.allowance is None and m.usage.used == 0:
            continue
        line = f"{m.usage.name}: {number(m.usage.used)} used"
        if m.allowance:
            line += f" of {m.allowance} ({percent(m.usage.used, m.allowance)}%)"
        out.append(line + (" (estimated)" if m.usage.estimated else ""))
        f = m.forecast
        if f is not None:
            crossing = (
                f"; projected to cross on {stamp(f.crossing, tz)}"
                if (f.crossing and m.allowance)
                else ""
            )
            out.append(
                f"  forecast by {day(report.cycle.end, tz)}: {number(f.value)} (band "
                f"{number(f.low)}-{number(f.high)}, confidence {f.confidence}){crossing}"
            )
        if m.allowance:
            out.append(
                f"  overage so far ${money(m.overage_amount)}, projected "
                f"${money(overage_amount(projected, m.usage.name))}"
            )
    for name, value in report.extras.items():
        if name in EMAIL_EXTRAS:
            out += extra_lines(name, value)
    if options:
        out += [
            "",
            "The next invoice if the forecast holds (the invoice rules: next cycle's fee, "
            "proration by days, overage before an upgrade never waived, usage charges):",
        ]
        for o in options:
            line = (
                f"  {o.action}: ${money(o.total)} (overage ${money(o.charges('overage:'))}, "
                f"usage ${money(o.charges('usage:'))}, next cycle fee ${money(o.next_cycle_fee)})"
            )
            if o.downgrade_plan and o.downgrade_total is not None:
                back = catalog.get(o.downgrade_plan).name
                line += f"; ${money(o.downgrade_total)} if you go back to {back} next cycle"
            out.append(line)
        best = options[0]
        then = (
            f", then back to {catalog.get(best.downgrade_plan).name} next cycle"
            if best.downgrade_plan and best.best_total < best.total
            else ""
        )
        out += [
            "",
            f"Recommendation: {best.action}{then} (cheapest, ${money(best.best_total)}).",
        ]
    return out


def _html(lines: list[str], title: str) -> str:
    body = "".join(
        f"<p>{html.escape(ln)}</p>"
        if not ln.startswith("  ")
        else f'<p style="margin-left:1.5em">{html.escape(ln.strip())}</p>'
        for ln in lines
        if ln
    )
    return (
        f'<!doctype html><html><body style="font-family:sans-serif"><h2>'
        f"{html.escape(title)}</h2>{body}</body></html>"
    )


def compose_alert(
    report: Report,
    alerts: Sequence[Alert],
    options: Sequence[Option],
    catalog: Catalog,
    recipients: Sequence[str],
    now: datetime,
    link: str | None = None,
) -> OutgoingEmail:
    """One email for the alerts of one pass, with the recommendation (and a link to the
    account's dashboard page when ``[server] public_url`` is set)."""
    lines = _lines(report, alerts, options, catalog, now)
    if link:
        lines += ["", f"The account's page: {link}"]
    metric = next((a.metric for a in alerts if a.metric != "*"), None)
    if metric is None and alerts:  # only ingest failures: say what is wrong
        subject = f"[Meterwise] {report.account}: webhooks may be lost: {alerts[0].level}"
    else:
        subject = subject_line(report, catalog, metric or "mau")
    key = outbox_key(
        report.account, report.cycle.start, [":".join(k) for a in alerts for k in a.keys]
    )
    return OutgoingEmail(
        key, tuple(recipients), subject, "\n".join(lines) + "\n", _html(lines, subject)
    )


def compose_final(
    report: Report,
    catalog: Catalog,
    recipients: Sequence[str],
    now: datetime,
    link: str | None = None,
) -> OutgoingEmail:
    """The end-of-cycle report with the invoice estimate, sent once when the cycle closes."""
    notes = [f"Note: {n}" for n in report.notes if n.startswith("partly observed")]
    lines = _lines(report, [], [], catalog, now)[:1] + notes + [""]
    for m in report.metrics:
        if m.allowance is not None or m.usage.used:
            lines.append(
                f"{m.usage.name}: {number(m.usage.used)}"
                + (f" of {m.allowance}" if m.allowance else "")
                + (" (estimated)" if m.usage.estimated else "")
            )
    lines += [
        "",
        f"Invoice estimate (issued {date_only(report.invoice.issued_on, report.timezone)}):",
    ]
    lines += [f"  {ln.description}: ${money(ln.amount)}" for ln in report.invoice.lines]
    lines.append(f"  total: ${money(report.invoice.total)}")
    if link:
        lines += ["", f"The account's page: {link}"]
    subject = (
        f"[Meterwise] {report.account}: cycle {day(report.cycle.start, report.timezone)} to "
        f"{day(report.cycle.end, report.timezone)} closed, "
        f"invoice estimate ${money(report.invoice.total)}"
    )
    key = outbox_key(report.account, report.cycle.start, ["final"])
    return OutgoingEmail(
        key, tuple(recipients), subject, "\n".join(lines) + "\n", _html(lines, subject)
    )


def compose_correction(report: Report, recipients: Sequence[str]) -> OutgoingEmail:
    """A closed cycle's invoice estimate changed by events that arrived after its report."""
    found = report.adjustments or {}
    total = found.get("invoice_total", {})
    tz = report.timezone
    lines = [
        f"{report.account}: cycle {day(report.cycle.start, tz)} to {day(report.cycle.end, tz)}, "
        "closed and reported, received late events dated inside it.",
        "",
        f"Late events: {found.get('late_events')} (arrived {found.get('first_arrived')} to "
        f"{found.get('last_arrived')})",
        f"Invoice estimate as reported: ${total.get('reported')}",
        f"Invoice estimate with the late events: ${total.get('with_late_events')}",
    ]
    lines += [
        f"{name}: {v['reported']} reported, {v['with_late_events']} with the late events"
        for name, v in found.get("metrics", {}).items()
    ]
    lines += ["", "The reported figures stay as they were; the report lists these adjustments."]
    subject = (
        f"[Meterwise] {report.account}: correction for cycle {day(report.cycle.start, tz)} to "
        f"{day(report.cycle.end, tz)}: invoice estimate ${total.get('with_late_events')} "
        f"(reported ${total.get('reported')})"
    )
    key = outbox_key(
        report.account, report.cycle.start, [f"correction:{total.get('with_late_events')}"]
    )
    return OutgoingEmail(
        key, tuple(recipients), subject, "\n".join(lines) + "\n", _html(lines, subject)
    )
