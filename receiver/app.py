"""The Flask app: webhook endpoints, health, metrics and one log line per request."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask, Response, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from meterwise.config.settings import Settings, load_settings
from meterwise.receiver import access, runtime
from meterwise.receiver.access import NO_STORE, SECURITY_HEADERS
from meterwise.receiver.proxies import TrustedProxies
from meterwise.storage import storage_for


def _outbox_gauge(settings: Settings) -> bytes:
    """Outbox messages by status, read at scrape time (a failed email must be visible)."""
    try:
        found = storage_for(settings).outbox_counts()
    except Exception:  # a gauge read at scrape time never breaks /metrics
        return b""
    kinds = {"email", "slack", "teams", "webhook"}
    counts = {(k, s): 0 for k in kinds for s in ("pending", "sent", "failed")}
    counts.update(found)
    lines = [
        "# HELP meterwise_outbox_messages Alert messages in the outbox by channel kind and status",
        "# TYPE meterwise_outbox_messages gauge",
    ]
    lines += [
        f'meterwise_outbox_messages{{channel="{k}",status="{s}"}} {n}'
        for (k, s), n in sorted(counts.items())
    ]
    return ("\n".join(lines) + "\n").encode()


def _scheduler_gauge() -> bytes:
    """Whether `meterwise serve`'s scheduler child runs, and how often it was restarted."""
    status = runtime.scheduler_status()
    if status is None:
        return b""
    lines = [
        "# HELP meterwise_scheduler_up 1 when the scheduler child of this serve process runs",
        "# TYPE meterwise_scheduler_up gauge",
        f"meterwise_scheduler_up {1 if status.get('alive') else 0}",
        "# HELP meterwise_scheduler_restarts Times the scheduler child was restarted",
        "# TYPE meterwise_scheduler_restarts gauge",
        f"meterwise_scheduler_restarts {int(status.get('restarts') or 0)}",
    ]
    return ("\n".join(lines) + "\n").encode()


def create_app(settings: Settings | None = None, clock: Callable[[], float] = time.time) -> Flask:
    """Build the app; ``settings`` defaults to the configuration found on disk."""
    from meterwise.receiver import api, dashboard, login, metrics, webhooks

    settings = settings if settings is not None else load_settings()
    # An explicit instance path: Flask cannot search upward from a namespace package.
    app = Flask(__name__, instance_path=str(settings.storage_path.parent.resolve()))
    app.config["SETTINGS"] = settings
    app.config["CLOCK"] = clock
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(login.bp)
    # POST /webhooks/<provider>/<account> is answered in front of Flask's dispatch.
    app.wsgi_app = webhooks.WebhookIntake(app, app.wsgi_app)  # type: ignore[method-assign]
    if settings.forwarded_allow_ips:  # outermost: the intake sees the client's address
        app.wsgi_app = TrustedProxies(app.wsgi_app, settings.forwarded_allow_ips)  # type: ignore[method-assign]

    @app.get("/metrics")
    def metrics_view() -> ResponseReturnValue:
        try:
            body, content_type = metrics.render()
        except Exception:
            app.logger.exception("metrics: cannot render")
            return jsonify({"error": "metrics_unavailable", "detail": "see the log"}), 503
        extra = _outbox_gauge(app.config["SETTINGS"]) + _scheduler_gauge()
        return Response(body + extra, content_type=content_type)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        code = (exc.name or "error").lower().replace(" ", "_")
        g.outcome = code
        headers = {}
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return jsonify({"error": code, "detail": exc.description}), exc.code or 500, headers

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        app.logger.exception("unhandled error")
        g.outcome = "internal_error"
        return jsonify({"error": "internal_error", "detail": "unexpected server error"}), 500

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        response.headers.setdefault(*NO_STORE)
        for name, value in SECURITY_HEADERS[1:]:
            response.headers[name] = value
        access.record(
            request.method,
            request.path,
            response.status_code,
            elapsed,
            g.get("outcome"),
            g.get("account"),
            g.get("provider"),
            g.get("event_type"),
        )
        return response

    return app
