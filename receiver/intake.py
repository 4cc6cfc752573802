"""One webhook delivery, from the request's parts to its answer: limit -> account -> read ->
authenticate -> parse -> store. Framework-free, so the hot path (`receiver.webhooks`) runs it
straight from the WSGI environ; nothing here is acknowledged before its COMMIT."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import IO, Any

from werkzeug.datastructures import Headers
from werkzeug.exceptions import ClientDisconnected

from meterwise.config.settings import Settings
from meterwise.receiver import metrics
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

log = logging.getLogger("meterwise.receiver")


@dataclass(frozen=True)
class Incoming:
    """What the intake needs of one request."""

    provider: str
    account_id: str
    remote_addr: str | None
    mimetype: str  # lower-cased, without parameters
    content_length: int | None
    stream: IO[bytes]  # the body, ending at Content-Length (or the chunked body's end)
    headers: Headers  # case-insensitive (werkzeug's, from the environ)


@dataclass(frozen=True)
class Answer:
    """The status, JSON body and extra headers to send, and what the access log says."""

    status: int
    body: bytes
    outcome: str
    headers: tuple[tuple[str, str], ...] = ()
    account: str | None = None
    provider: str | None = None  # set only once the provider is known to be configured
    event_type: str | None = None


def json_body(doc: Mapping[str, Any]) -> bytes:
    """A compact JSON body, as Flask's `jsonify` writes it."""
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode() + b"\n"


def error(status: int, code: str, detail: str, **extra: Any) -> Answer:
    """``{"error": code, "detail": ...}`` with its status."""
    return Answer(status, json_body({"error": code, "detail": detail, **extra}), code)


def _limited(wait: int) -> Answer:
    body = json_body({"error": "too_many_failures", "detail": "too many failed authentications"})
    return Answer(429, body, "too_many_failures", (("Retry-After", str(wait)),))


def unavailable(detail: str, provider: str | None = None) -> Answer:
    """503 ``storage_unavailable``: nothing was acknowledged, the sender should retry."""
    if provider:
        metrics.count("rejected", provider, "storage_unavailable")
    log.error("storage unavailable: %s", detail)
    body = json_body(
        {"error": "storage_unavailable", "detail": f"the event was not stored: {detail}"}
    )
    return Answer(503, body, "storage_unavailable", (("Retry-After", "5"),))


def is_json(mimetype: str) -> bool:
    # werkzeug lower-cases the mimetype: CometChat's "Application/json" passes too.
    return mimetype == "application/json" or mimetype.endswith("+json")


class BodyIncomplete(Exception):
    """The body stopped before its announced end (a slow client cut by the read deadline)."""


def read_body(incoming: Incoming, limit: int) -> bytes | None:
    """The raw body, or None when it is larger than ``limit`` bytes (read at most limit+1)."""
    length = incoming.content_length
    if length is not None:
        if length > limit:
            return None
        raw = incoming.stream.read()
        if len(raw) < length:
            raise BodyIncomplete
        return raw
    chunks, size = [], 0  # chunked transfer: read in pieces, stop past the limit
    while chunk := incoming.stream.read(65536):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def take(settings: Settings, now: float, limiter: FailureLimiter, req: Incoming) -> Answer:
    """Accept one webhook delivery for an account (``now``: the receipt time, Unix s)."""
    provider, account_id = req.provider, req.account_id
    now_ms = int(now * 1000)
    tick = time.monotonic()  # limits run on the real clock
    address = f"addr:{req.remote_addr}"
    wait = limiter.retry_after(address, tick)
    if wait:
        return _limited(wait)
    account = settings.accounts.get(account_id)
    adapter = PROVIDERS.get(provider)
    if account is None or adapter is None or account.provider != provider:
        limiter.fail(address, tick)
        label = provider if provider in PROVIDERS else metrics.OTHER
        metrics.count("rejected", label, "unknown_account")
        return error(404, "unknown_account", f"no {provider} account {account_id!r} is configured")
    metrics.count("received", provider)
    known: dict[str, Any] = {"account": account_id, "provider": provider}
    try:  # the file is checked once, after the COMMIT, before anything is acknowledged
        store = storage_for(settings)
    except StorageUnavailable as exc:
        return replace(unavailable(str(exc), provider), **known)

    def reject(status: int, code: str, detail: str) -> Answer:
        metrics.count("rejected", provider, code)
        store.count_delivery(account_id, code, now_ms)  # a diagnostic: never raises
        return replace(error(status, code, detail), **known)

    if not is_json(req.mimetype):
        detail = f"Content-Type must be application/json, got {req.mimetype!r}"
        return reject(415, "unsupported_media_type", detail)
    try:
        raw = read_body(req, settings.max_body_bytes)
    except (ClientDisconnected, BodyIncomplete, OSError):
        return reject(
            408, "body_timeout", f"the body did not arrive within {settings.read_timeout_s} s"
        )
    if raw is None:
        return reject(
            413, "body_too_large", f"body exceeds max_body_bytes = {settings.max_body_bytes}"
        )
    verdict = adapter.authenticate(req.headers, raw, account, now)
    if not verdict.ok:
        # The provider has been seen re-sending a changed body under the old signature:
        # if the key is already stored, the event is safe, so acknowledge it (counted apart
        # from real duplicates: an unsigned request must not move any figure).
        key = adapter.peek_key(raw, req.headers)
        try:
            stored = key is not None and store.is_stored(account_id, key)
        except StorageUnavailable as exc:
            return replace(unavailable(str(exc), provider), **known)
        if stored:
            return _duplicate(store, account_id, provider, now_ms, "duplicate_unverified")
        limiter.fail(address, tick)
        wait = limiter.retry_after(f"account:{account_id}", tick)
        limiter.fail(f"account:{account_id}", tick)
        if wait:  # over the limit: no more counting, no more detail
            metrics.count("rejected", provider, "too_many_failures")
            return replace(_limited(wait), **known)
        return reject(401, verdict.reason, verdict.detail)
    try:
        events = adapter.parse(raw, account, req.headers, now_ms)
        check_times(events, now_ms, settings.max_future_s)
    except BadPayload as exc:
        return reject(exc.status, exc.code, exc.detail)
    event_type = known["event_type"] = events[0].event_type if events else None
    try:
        new_ids = store_delivery(settings, account_id, provider, events, now_ms)
    except UnstorableValue as exc:
        # The parser should have refused this value; never answer a 500 for input.
        return reject(422, "invalid_fields", f"a value cannot be stored: {exc}")
    except StorageUnavailable as exc:
        # Locked, unwritable, corrupt or gone: not acknowledged, so the provider will retry.
        return replace(unavailable(str(exc), provider), **known)
    if not new_ids:
        return _duplicate(store, account_id, provider, now_ms, "duplicate", event_type)
    metrics.count("stored", provider, amount=len(new_ids))
    body = b'{"status":"stored","events":%d}' % len(new_ids)
    return Answer(200, body, "stored", (), account_id, provider, event_type)


def _duplicate(
    store: Storage,
    account_id: str,
    provider: str,
    now_ms: int,
    reason: str,
    event_type: str | None = None,
) -> Answer:
    metrics.count("duplicate", provider)
    store.count_delivery(account_id, reason, now_ms)
    return Answer(200, b'{"status":"duplicate"}', reason, (), account_id, provider, event_type)
