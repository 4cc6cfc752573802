"""The dashboard: every account at a glance, one account's report page and downloads.

Pages are server-rendered and self-contained (no scripts, fonts or styles from elsewhere;
the CSP forbids them). Every page needs a session (receiver/login.py signs in); an account
the user may not see answers 404 exactly as one that does not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app
from flask.typing import ResponseReturnValue

from meterwise.receiver import signin
from meterwise.receiver.pages import (
    Answer,
    answer_with,
    clock_now,
    current_settings,
    error,
    off,
    page,
    signed_in,
    storage_unavailable,
    to_login,
)
from meterwise.reconciler.display import stamp
from meterwise.reconciler.fold import fold_pending
from meterwise.reconciler.html import render_html, render_page
from meterwise.reconciler.models import Report
from meterwise.reconciler.overview import Facts, overview, row_for
from meterwise.reconciler.reconcile import compute_report
from meterwise.reconciler.report import render_csv, report_to_dict
from meterwise.storage import StorageUnavailable, storage_for

bp = Blueprint("dashboard", __name__)
bp.register_error_handler(Answer, answer_with)
bp.register_error_handler(StorageUnavailable, storage_unavailable)
ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" '
    'rx="3" fill="#1f4f99"/><rect x="3" y="9" width="2" height="4" fill="#fff"/><rect x="7" '
    'y="6" width="2" height="7" fill="#fff"/><rect x="11" y="3" width="2" height="10" '
    'fill="#fff"/></svg>'
)


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """The browser tab's icon (asked for by every page; drawn here, nothing fetched)."""
    return Response(ICON, mimetype="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


def _report(account_id: str, now: datetime) -> Report:
    settings = current_settings()
    return compute_report(
        storage_for(settings), settings, account_id, now, close_grace_s=settings.close_grace_s
    )


@bp.get("/")
def home() -> ResponseReturnValue:
    """Every account the user may see, what needs attention first."""
    settings = current_settings()
    if not settings.dashboard_on:
        return off()
    session = signed_in()
    if session is None:
        return to_login()
    store, now = storage_for(settings), datetime.fromtimestamp(clock_now(), UTC)
    visible = [a for a in settings.accounts if session.user.sees(a)]
    fold_pending(store, settings, visible)  # receipts are kept by the fold: bring them up
    received = store.last_received()
    silence = timedelta(seconds=settings.checks.silence_alert_s)
    rows = []
    for account_id in visible:
        report = _report(account_id, now)
        messages = store.cycle_messages(account_id, int(report.cycle.start.timestamp() * 1000))
        last = received.get(account_id)
        facts = Facts(
            datetime.fromtimestamp(last / 1000, UTC) if last is not None else None,
            len(messages),
            sum(1 for m in messages if m[1] == "failed"),
        )
        rows.append(row_for(report, facts, settings.catalog, now, silence))
    catalog = settings.catalog

    def plan_name(plan_id: str | None) -> str:
        return catalog.get(plan_id).name if plan_id and plan_id in catalog.plans else "no plan"

    body = render_page(
        "overview",
        rows=overview(rows),
        user=session.user.name,
        csrf=signin.csrf_token(settings, session.sid),
        now=stamp(now, "UTC"),
        plan_name=plan_name,
    )
    return page(body)


def _account(account_id: str) -> signin.SignedIn:
    """The session that may see ``account_id``; else `Answer` (the page is off, sign in
    first, or 404 when the account is not there for this user)."""
    settings = current_settings()
    if not settings.dashboard_on:
        raise Answer(off())
    session = signed_in()
    if session is None:
        raise Answer(to_login())
    if account_id not in settings.accounts or not session.user.sees(account_id):
        raise Answer(error(404, "not_found", "no such page"))
    return session


@bp.get("/accounts/<account_id>")
def account_page(account_id: str) -> ResponseReturnValue:
    """One account's report page, with this cycle's alerts and their delivery status."""
    session = _account(account_id)
    settings = current_settings()
    report = _report(account_id, datetime.fromtimestamp(clock_now(), UTC))
    store, tz = storage_for(settings), report.timezone
    messages: list[dict[str, Any]] = [
        {
            "subject": subject,
            "status": status,
            "attempts": attempts,
            "error": err,
            "queued": stamp(datetime.fromtimestamp(created / 1000, UTC), tz),
            "sent": stamp(datetime.fromtimestamp(sent / 1000, UTC), tz) if sent else None,
            "fired": fired,
            "channel": channel.partition(":")[0],
        }
        for subject, status, attempts, err, created, sent, fired, channel in store.cycle_messages(
            account_id, int(report.cycle.start.timestamp() * 1000)
        )
    ]
    dash = {
        "user": session.user.name,
        "csrf": signin.csrf_token(settings, session.sid),
        "messages": messages,
        "csv_url": f"/accounts/{account_id}/report.csv",
        "json_url": f"/accounts/{account_id}/report.json",
    }
    return page(render_html(report, settings.catalog, dash))


@bp.get("/accounts/<account_id>/report.json")
def account_json(account_id: str) -> ResponseReturnValue:
    """The report as JSON (what `meterwise report --format json` prints)."""
    _account(account_id)
    report = _report(account_id, datetime.fromtimestamp(clock_now(), UTC))
    response = current_app.json.response(report_to_dict(report))
    response.headers["Content-Disposition"] = f'attachment; filename="{account_id}-report.json"'
    return response


@bp.get("/accounts/<account_id>/report.csv")
def account_csv(account_id: str) -> ResponseReturnValue:
    """The report as CSV (what `meterwise report --format csv` prints)."""
    _account(account_id)
    report = _report(account_id, datetime.fromtimestamp(clock_now(), UTC))
    return Response(
        render_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{account_id}-report.csv"'},
    )
