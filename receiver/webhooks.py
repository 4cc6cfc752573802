"""The webhook endpoints: read -> authenticate -> parse -> store -> respond."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from meterwise.config.settings import Settings
from meterwise.receiver.db import get_db, write_lock
from meterwise.receiver.metrics import get_metrics
from meterwise.receiver.providers import PROVIDERS
from meterwise.receiver.providers.base import BadPayload
from meterwise.receiver.store import count_delivery, is_stored, store_events

bp = Blueprint("webhooks", __name__)


def error(status: int, code: str, detail: str, **extra: Any) -> ResponseReturnValue:
    """A JSON error body ``{"error": code, "detail": ...}`` with its status."""
    g.outcome = code
    return jsonify({"error": code, "detail": detail, **extra}), status


def _is_json(mimetype: str) -> bool:
    # werkzeug lower-cases the mimetype: CometChat's "Application/json" passes too.
    return mimetype == "application/json" or mimetype.endswith("+json")


def _read_body(limit: int) -> bytes | None:
    """The raw body, or None when it is larger than ``limit`` bytes (read at most limit+1)."""
    length = request.content_length
    if length is not None:
        return None if length > limit else request.get_data(cache=False)
    chunks, size = [], 0  # chunked transfer: read in pieces, stop past the limit
    while chunk := request.stream.read(65536):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@bp.post("/webhooks/<provider>/<account_id>")
def receive(provider: str, account_id: str) -> ResponseReturnValue:
    """Accept one webhook delivery for an account."""
    settings: Settings = current_app.config["SETTINGS"]
    metrics = get_metrics()
    g.account, g.provider = account_id, provider
    account = settings.accounts.get(account_id)
    adapter = PROVIDERS.get(provider)
    if account is None or adapter is None or account.provider != provider:
        metrics.rejected.labels(provider, "unknown_account").inc()
        return error(404, "unknown_account", f"no {provider} account {account_id!r} is configured")
    metrics.received.labels(provider).inc()
    db = get_db(settings.storage_path, settings.synchronous)
    now = current_app.config["CLOCK"]()
    now_ms = int(now * 1000)

    def reject(status: int, code: str, detail: str) -> ResponseReturnValue:
        metrics.rejected.labels(provider, code).inc()
        try:
            count_delivery(db, account_id, code, now_ms)
        except sqlite3.Error:
            pass  # the count is a diagnostic; the rejection stands either way
        return error(status, code, detail)

    if not _is_json(request.mimetype):
        return reject(
            415,
            "unsupported_media_type",
            f"Content-Type must be application/json, got {request.mimetype!r}",
        )
    raw = _read_body(settings.max_body_bytes)
    if raw is None:
        return reject(
            413, "body_too_large", f"body exceeds max_body_bytes = {settings.max_body_bytes}"
        )
    verdict = adapter.authenticate(request.headers, raw, account, now)
    if not verdict.ok:
        # The provider has been seen re-sending a changed body under the old signature:
        # if the key is already stored, the event is safe, so acknowledge it.
        key = adapter.peek_key(raw, request.headers)
        if key is not None and is_stored(db, account_id, key):
            return _duplicate(db, account_id, provider, now_ms, "duplicate_after_bad_signature")
        return reject(401, verdict.reason, verdict.detail)
    try:
        events = adapter.parse(raw, account, request.headers, now_ms)
    except BadPayload as exc:
        return reject(exc.status, exc.code, exc.detail)
    g.event_type = events[0].event_type if events else None
    kind = settings.catalog.get(account.plan).cycle
    try:
        with write_lock(settings.storage_path):
            new_ids = store_events(db, account, provider, kind, events, now_ms)
    except (OverflowError, UnicodeEncodeError, sqlite3.InterfaceError) as exc:
        # The parser should have refused this value; never answer a 500 for input.
        return reject(422, "invalid_fields", f"a value cannot be stored: {exc}")
    except sqlite3.OperationalError as exc:
        # Locked or unwritable: not acknowledged, so the provider will retry.
        metrics.rejected.labels(provider, "storage_unavailable").inc()
        current_app.logger.error("storage unavailable: %s", exc)
        g.outcome = "storage_unavailable"
        body = {"error": "storage_unavailable", "detail": "the event was not stored; retry later"}
        return jsonify(body), 503, {"Retry-After": "5"}
    if not new_ids:
        return _duplicate(db, account_id, provider, now_ms, "duplicate")
    metrics.stored.labels(provider).inc(len(new_ids))
    g.outcome = "stored"
    return jsonify({"status": "stored", "events": len(new_ids)}), 200


def _duplicate(
    db: Any, account_id: str, provider: str, now_ms: int, reason: str
) -> ResponseReturnValue:
    get_metrics().duplicate.labels(provider).inc()
    try:
        count_delivery(db, account_id, reason, now_ms)
    except sqlite3.Error:
        pass
    g.outcome = reason
    return jsonify({"status": "duplicate"}), 200


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database takes a write lock, 503 otherwise."""
    settings: Settings = current_app.config["SETTINGS"]
    try:
        db = get_db(settings.storage_path, settings.synchronous)
        db.conn.execute("BEGIN IMMEDIATE")
        db.conn.execute("ROLLBACK")
    except (sqlite3.Error, OSError) as exc:
        return jsonify({"status": "unavailable", "detail": str(exc)}), 503
    return jsonify({"status": "ok"}), 200
