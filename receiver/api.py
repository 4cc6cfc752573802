"""The read API behind a bearer JWT, the HTML report page, and the OpenAPI description."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from meterwise.config.settings import Settings
from meterwise.receiver.auth import AuthError, Grant, bearer, grant_for
from meterwise.receiver.openapi import openapi_document
from meterwise.receiver.webhooks import error
from meterwise.storage import StorageUnavailable, storage_for

bp = Blueprint("api", __name__)
EARLIEST, LATEST = date(2000, 1, 1), date(2199, 12, 31)


class BadParameter(Exception):
    """A query parameter the API cannot use."""


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _grant(allow_query_token: bool = False) -> Grant:
    secret = _settings().api.jwt_secret
    if secret is None:
        raise AuthError(503, "api_not_configured", "set [api] jwt_secret to use the API")
    token = bearer(request.headers.get("Authorization"))
    if token is None and allow_query_token:
        token = request.args.get("token") or None
    return grant_for(token, secret)


def _date(name: str) -> date | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadParameter(f"{name} must be a date like 2026-03-20, got {value!r}") from None
    if not EARLIEST <= day <= LATEST:
        raise BadParameter(f"{name} must be between {EARLIEST} and {LATEST}")
    return day


def _instant(name: str) -> datetime:
    value = request.args.get(name)
    if value is None:
        return datetime.fromtimestamp(current_app.config["CLOCK"](), UTC)
    try:  # an unescaped "+01:00" arrives as " 01:00"
        instant = datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError:
        raise BadParameter(f"{name} must be an ISO 8601 instant, got {value!r}") from None
    instant = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    if not EARLIEST <= instant.date() <= LATEST:
        raise BadParameter(f"{name} must be between {EARLIEST} and {LATEST}")
    return instant.astimezone(UTC)


def _report(account_id: str, allow_query_token: bool = False) -> Any:
    from meterwise.reconciler.reconcile import compute_report

    settings = _settings()
    grant = _grant(allow_query_token)
    if account_id not in settings.accounts:
        raise AuthError(404, "unknown_account", f"no account {account_id!r} is configured")
    grant.check(account_id)
    as_of, cycle = _instant("at"), _date("cycle")
    event_time = request.args.get("event_time", "false")
    if event_time not in ("true", "false"):
        raise BadParameter("event_time must be true or false")
    known = as_of if "at" in request.args and event_time == "false" else None
    return compute_report(
        storage_for(settings),
        settings,
        account_id,
        as_of,
        cycle,
        settings.close_grace_s,
        known_at=known,
    )


@bp.errorhandler(AuthError)
def _auth_error(exc: AuthError) -> ResponseReturnValue:
    response = jsonify({"error": exc.reason, "detail": exc.detail})
    response.status_code = exc.status
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer error="{exc.reason}"'
    return response


@bp.errorhandler(StorageUnavailable)
def _storage_unavailable(exc: StorageUnavailable) -> ResponseReturnValue:
    response = jsonify({"error": "storage_unavailable", "detail": str(exc)})
    response.status_code = 503
    response.headers["Retry-After"] = "5"
    return response


@bp.errorhandler(BadParameter)
def _bad_parameter(exc: BadParameter) -> ResponseReturnValue:
    return error(400, "invalid_parameter", str(exc))


@bp.get("/api/accounts")
def accounts() -> ResponseReturnValue:
    """The accounts this token may read."""
    grant = _grant()
    return jsonify(
        {
            "accounts": [
                {
                    "id": a.id,
                    "provider": a.provider,
                    "plan": a.plan,
                    "timezone": a.timezone,
                    "webhook_path": f"/webhooks/{a.provider}/{a.id}",
                    "report_path": f"/api/accounts/{a.id}/report",
                }
                for a in _settings().accounts.values()
                if grant.allows(a.id)
            ]
        }
    )


@bp.get("/api/accounts/<account_id>/report")
def report(account_id: str) -> ResponseReturnValue:
    """The same JSON as `meterwise report --format json`."""
    from meterwise.reconciler.report import report_to_dict

    return jsonify(report_to_dict(_report(account_id)))


@bp.get("/api/accounts/<account_id>/checks")
def checks(account_id: str) -> ResponseReturnValue:
    """The consistency checks of a cycle, and the provider comparison if one is recorded."""
    from meterwise.reconciler.report import report_to_dict

    data = report_to_dict(_report(account_id))
    keys = ("account", "as_of", "cycle", "checks", "provider_figures")
    return jsonify({k: data[k] for k in keys})


@bp.get("/reports/<account_id>")
def report_page(account_id: str) -> ResponseReturnValue:
    """The HTML report; the token may come as a bearer header or ``?token=``."""
    from meterwise.reconciler.html import render_html

    report = _report(account_id, allow_query_token=True)
    page = render_html(report, _settings().catalog)
    return Response(
        page,
        mimetype="text/html",
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3.1 description of the read API."""
    return jsonify(openapi_document())
