"""The webhook endpoints: read -> authenticate -> parse -> store -> respond."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import ClientDisconnected

from meterwise.config.settings import Settings
from meterwise.receiver import metrics, runtime
from meterwise.receiver.limits import FailureLimiter
from meterwise.receiver.providers import PROVIDERS
from meterwise.receiver.providers.base import BadPayload, check_times
from meterwise.storage import (
    Storage,
    StorageUnavailable,
    UnstorableValue,
    storage_for,
    store_delivery,
)

bp = Blueprint("webhooks", __name__)


def error(status: int, code: str, detail: str, **extra: Any) -> ResponseReturnValue:
    """A JSON error body ``{"error": code, "detail": ...}`` with its status."""
    g.outcome = code
    return jsonify({"error": code, "detail": detail, **extra}), status


def unavailable(detail: str, provider: str | None = None) -> ResponseReturnValue:
    """503 ``storage_unavailable``: nothing was acknowledged, the sender should retry."""
    if provider:
        metrics.count("rejected", provider, "storage_unavailable")
    current_app.logger.error("storage unavailable: %s", detail)
    g.outcome = "storage_unavailable"
    body = {"error": "storage_unavailable", "detail": f"the event was not stored: {detail}"}
    return jsonify(body), 503, {"Retry-After": "5"}


def _limiter(settings: Settings) -> FailureLimiter:
    """The app's limiter (one per app and worker process)."""
    limiter: FailureLimiter | None = current_app.extensions.get("meterwise.limiter")
    if limiter is None:
        limiter = current_app.extensions["meterwise.limiter"] = FailureLimiter(
            settings.max_auth_failures
        )
    return limiter


def _is_json(mimetype: str) -> bool:
    # werkzeug lower-cases the mimetype: CometChat's "Application/json" passes too.
    return mimetype == "application/json" or mimetype.endswith("+json")


class BodyIncomplete(Exception):
    """The body stopped before its announced end (a slow client cut by the read deadline)."""


def _read_body(limit: int) -> bytes | None:
    """The raw body, or None when it is larger than ``limit`` bytes (read at most limit+1)."""
    length = request.content_length
    if length is not None:
        if length > limit:
            return None
        raw = request.get_data(cache=False)
        if len(raw) < length:
            raise BodyIncomplete
        return raw
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
    now = current_app.config["CLOCK"]()
    now_ms = int(now * 1000)
    limiter, tick = _limiter(settings), time.monotonic()  # limits run on the real clock
    address = f"addr:{request.remote_addr}"
    wait = limiter.retry_after(address, tick)
    if wait:
        g.outcome = "too_many_failures"
        body = {"error": "too_many_failures", "detail": "too many failed authentications"}
        return jsonify(body), 429, {"Retry-After": str(wait)}
    account = settings.accounts.get(account_id)
    adapter = PROVIDERS.get(provider)
    if account is None or adapter is None or account.provider != provider:
        limiter.fail(address, tick)
        label = provider if provider in PROVIDERS else metrics.OTHER
        metrics.count("rejected", label, "unknown_account")
        return error(404, "unknown_account", f"no {provider} account {account_id!r} is configured")
    g.account, g.provider = account_id, provider
    metrics.count("received", provider)
    try:  # the file is checked once, after the COMMIT, before anything is acknowledged
        store = storage_for(settings)
    except StorageUnavailable as exc:
        return unavailable(str(exc), provider)

    def reject(status: int, code: str, detail: str) -> ResponseReturnValue:
        metrics.count("rejected", provider, code)
        store.count_delivery(account_id, code, now_ms)  # a diagnostic: never raises
        return error(status, code, detail)

    if not _is_json(request.mimetype):
        return reject(
            415,
            "unsupported_media_type",
            f"Content-Type must be application/json, got {request.mimetype!r}",
        )
    try:
        raw = _read_body(settings.max_body_bytes)
    except (ClientDisconnected, BodyIncomplete, OSError):
        return reject(
            408, "body_timeout", f"the body did not arrive within {settings.read_timeout_s} s"
        )
    if raw is None:
        return reject(
            413, "body_too_large", f"body exceeds max_body_bytes = {settings.max_body_bytes}"
        )
    verdict = adapter.authenticate(request.headers, raw, account, now)
    if not verdict.ok:
        # The provider has been seen re-sending a changed body under the old signature:
        # if the key is already stored, the event is safe, so acknowledge it (counted apart
        # from real duplicates: an unsigned request must not move any figure).
        key = adapter.peek_key(raw, request.headers)
        try:
            known = key is not None and store.is_stored(account_id, key)
        except StorageUnavailable as exc:
            return unavailable(str(exc), provider)
        if known:
            return _duplicate(store, account_id, provider, now_ms, "duplicate_unverified")
        limiter.fail(address, tick)
        wait = limiter.retry_after(f"account:{account_id}", tick)
        limiter.fail(f"account:{account_id}", tick)
        if wait:  # over the limit: no more counting, no more detail
            metrics.count("rejected", provider, "too_many_failures")
            g.outcome = "too_many_failures"
            body = {"error": "too_many_failures", "detail": "too many failed authentications"}
            return jsonify(body), 429, {"Retry-After": str(wait)}
        return reject(401, verdict.reason, verdict.detail)
    try:
        events = adapter.parse(raw, account, request.headers, now_ms)
        check_times(events, now_ms, settings.max_future_s)
    except BadPayload as exc:
        return reject(exc.status, exc.code, exc.detail)
    g.event_type = events[0].event_type if events else None
    try:
        new_ids = store_delivery(settings, account_id, provider, events, now_ms)
    except UnstorableValue as exc:
        # The parser should have refused this value; never answer a 500 for input.
        return reject(422, "invalid_fields", f"a value cannot be stored: {exc}")
    except StorageUnavailable as exc:
        # Locked, unwritable, corrupt or gone: not acknowledged, so the provider will retry.
        return unavailable(str(exc), provider)
    if not new_ids:
        return _duplicate(store, account_id, provider, now_ms, "duplicate")
    metrics.count("stored", provider, amount=len(new_ids))
    g.outcome = "stored"
    return _ok(b'{"status":"stored","events":%d}' % len(new_ids))


def _duplicate(
    store: Storage, account_id: str, provider: str, now_ms: int, reason: str
) -> ResponseReturnValue:
    metrics.count("duplicate", provider)
    store.count_delivery(account_id, reason, now_ms)
    g.outcome = reason
    return _ok(b'{"status":"duplicate"}')


def _ok(body: bytes) -> ResponseReturnValue:
    """A 200 with a fixed JSON body: the hot path skips the JSON provider (~100 us)."""
    return current_app.response_class(body, status=200, mimetype="application/json")


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
