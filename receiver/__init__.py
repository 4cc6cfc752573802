"""The Flask app: webhook endpoints, health, metrics and one log line per request."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from flask import Flask, Response, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from config.settings import Settings, load_settings

access_log = logging.getLogger("meterwise.access")


def create_app(settings: Settings | None = None, clock: Callable[[], float] = time.time) -> Flask:
    """Build the app; ``settings`` defaults to the configuration found on disk."""
    from receiver import metrics, webhooks

    app = Flask(__name__)
    app.config["SETTINGS"] = settings if settings is not None else load_settings()
    app.config["CLOCK"] = clock
    app.register_blueprint(webhooks.bp)

    @app.get("/metrics")
    def metrics_view() -> ResponseReturnValue:
        body, content_type = metrics.render()
        return Response(body, content_type=content_type)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        code = (exc.name or "error").lower().replace(" ", "_")
        g.outcome = code
        return jsonify({"error": code, "detail": exc.description}), exc.code or 500

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
        provider = g.get("provider")
        if provider:
            metrics.get_metrics().latency.labels(provider).observe(elapsed)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(
                json.dumps(
                    {
                        "method": request.method,
                        "path": request.path,
                        "account": g.get("account"),
                        "eventType": g.get("event_type"),
                        "status": response.status_code,
                        "outcome": g.get("outcome"),
                        "ms": round(elapsed * 1000, 2),
                    }
                )
            )
        return response

    return app
