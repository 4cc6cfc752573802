"""The webhook endpoints. ``POST /webhooks/<provider>/<account>`` is answered by
`WebhookIntake`, a WSGI layer in front of Flask's dispatch (Flask's request context, routing
and hooks cost more than verifying and parsing a delivery); everything else, including the
other methods on that path, goes on to Flask."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import HTTP_STATUS_CODES, parse_options_header
from werkzeug.wsgi import get_content_length, get_input_stream

from meterwise.config.settings import Settings
from meterwise.receiver import access, intake, runtime
from meterwise.receiver.limits import FailureLimiter
from meterwise.storage import StorageUnavailable, storage_for

bp = Blueprint("webhooks", __name__)
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_INTERNAL = intake.error(500, "internal_error", "unexpected server error")


def error(status: int, code: str, detail: str, **extra: Any) -> ResponseReturnValue:
    """A JSON error body ``{"error": code, "detail": ...}`` with its status (Flask views)."""
    g.outcome = code
    return jsonify({"error": code, "detail": detail, **extra}), status


def _limiter(app: Flask, settings: Settings) -> FailureLimiter:
    """The app's limiter (one per app and worker process)."""
    limiter: FailureLimiter | None = app.extensions.get("meterwise.limiter")
    if limiter is None:
        limiter = app.extensions["meterwise.limiter"] = FailureLimiter(settings.max_auth_failures)
    return limiter


def _path(environ: dict[str, Any]) -> str:
    # WSGI carries the path as latin-1 text; werkzeug decodes it as UTF-8 the same way.
    return str(environ.get("PATH_INFO") or "").encode("latin-1").decode("utf-8", "replace")


class WebhookIntake:
    """Answer webhook deliveries straight from the WSGI environ; pass the rest to ``inner``.

    The answer is the one Flask would give (same status, JSON body, security headers, access
    line and latency metric); an unexpected exception is logged and answered 500 JSON.
    """

    def __init__(self, app: Flask, inner: WSGIApp) -> None:
        self.app, self.inner = app, inner

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("REQUEST_METHOD") != "POST":
            return self.inner(environ, start_response)
        path = _path(environ)
        parts = path.split("/")
        if len(parts) != 4 or parts[0] or parts[1] != "webhooks" or not parts[2] or not parts[3]:
            return self.inner(environ, start_response)
        started = time.perf_counter()
        answer = self.answer(environ, parts[2], parts[3])
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(answer.body))),
            *access.SECURITY_HEADERS,
            *answer.headers,
        ]
        start_response(f"{answer.status} {HTTP_STATUS_CODES[answer.status]}", headers)
        access.record(
            "POST",
            path,
            answer.status,
            time.perf_counter() - started,
            answer.outcome,
            answer.account,
            answer.provider,
            answer.event_type,
        )
        return [answer.body]

    def answer(self, environ: dict[str, Any], provider: str, account_id: str) -> intake.Answer:
        config = self.app.config
        settings: Settings = config["SETTINGS"]
        try:
            req = intake.Incoming(
                provider,
                account_id,
                environ.get("REMOTE_ADDR"),
                parse_options_header(environ.get("CONTENT_TYPE", ""))[0].lower(),
                get_content_length(environ),
                get_input_stream(environ),
                EnvironHeaders(environ),
            )
            return intake.take(settings, config["CLOCK"](), _limiter(self.app, settings), req)
        except Exception:
            self.app.logger.exception("unhandled error")
            return _INTERNAL


@bp.post("/webhooks/<provider>/<account_id>")
def receive(provider: str, account_id: str) -> ResponseReturnValue:
    """The same intake through Flask's dispatch: reached only by an app whose `wsgi_app`
    lacks `WebhookIntake`, which answers these POSTs first (other methods get 405 here)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    settings: Settings = app.config["SETTINGS"]
    req = intake.Incoming(
        provider,
        account_id,
        request.remote_addr,
        request.mimetype,
        request.content_length,
        request.stream,
        request.headers,
    )
    answer = intake.take(settings, app.config["CLOCK"](), _limiter(app, settings), req)
    g.outcome, g.account, g.provider = answer.outcome, answer.account, answer.provider
    g.event_type = answer.event_type
    return app.response_class(
        answer.body, answer.status, list(answer.headers), mimetype="application/json"
    )


def storage_health(settings: Settings) -> str | None:
    """Why the storage cannot keep a delivery now, or None: the file is the one opened, a
    write commits, and the filesystem has ``min_free_mb`` free."""
    try:
        store = storage_for(settings)
    except StorageUnavailable as exc:
        return str(exc)
    return store.health(settings.min_free_mb)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when a delivery would be kept and the scheduler runs; 503 with the reason."""
    settings: Settings = current_app.config["SETTINGS"]
    problem = storage_health(settings)
    if problem:
        return jsonify({"status": "unavailable", "reason": "storage", "detail": problem}), 503
    scheduler = runtime.scheduler_status()
    if scheduler is not None and not scheduler.get("alive"):
        detail = scheduler.get("detail") or f"the scheduler exited ({scheduler.get('last_exit')})"
        return jsonify({"status": "unavailable", "reason": "scheduler", "detail": detail}), 503
    return jsonify({"status": "ok"}), 200
