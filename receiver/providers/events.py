"""Chatbots and your own apps: Standard Webhooks signatures, single or batched events."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from meterwise.config.options import Option
from meterwise.config.settings import Account
from meterwise.receiver.providers.base import (
    REPLAY,
    BadPayload,
    Entity,
    Parsed,
    as_str,
    load_json,
    require_object,
)
from meterwise.receiver.providers.wll import parse_time
from meterwise.receiver.verify import Verdict, verify_standard

NAME = "events"
NEEDS_SECRETS = True  # True: deliveries are HMAC-signed with the account's webhook_secrets
OPTIONS = {
    "pseudonymize": Option(bool, False),
    "pseudonymize_key": Option(str, secret=True),
}
PRIVATE_PROPERTIES = ("name", "email", "phone")


def authenticate(headers: Mapping[str, str], raw: bytes, account: Account, now: float) -> Verdict:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (v1, any secret)."""
    return verify_standard(
        headers.get("webhook-id"),
        headers.get("webhook-timestamp"),
        headers.get("webhook-signature"),
        raw,
        account.webhook_secrets,
        now,
        account.signature_tolerance_s,
    )


def peek_key(raw: bytes, headers: Mapping[str, str] | None = None) -> str | None:
    """The delivery's ``webhook-id`` (first element's key for a batch)."""
    msg_id = (headers or {}).get("webhook-id")
    if not msg_id:
        return None
    doc = None
    try:
        doc = load_json(raw)
    except BadPayload:
        return None
    return f"{msg_id}:0" if isinstance(doc, list) else msg_id


def pseudonym(account: Account, user: str) -> str:
    """A keyed digest that stands in for a user id (counts stay the same)."""
    key = str(account.options.get("pseudonymize_key", "")).encode()
    return "u_" + hmac.new(key, user.encode(), hashlib.sha256).hexdigest()[:32]


def _event(
    item: Any, index: int, account: Account, replay: bool = False
) -> tuple[str, str, int, dict[str, Any]]:
    where = f"[{index}]" if index >= 0 else ""
    item = require_object(item, ("user", "event", "timestamp"), f"event{where}")
    user, name = as_str(item["user"]), as_str(item["event"])
    ts = parse_time(item["timestamp"])
    if not user or not name or ts is None:
        raise BadPayload(
            422,
            "invalid_fields",
            f"event{where}: user and event must be strings, timestamp ISO 8601 or epoch ms",
        )
    props = item.get("properties") or {}
    if not isinstance(props, dict):
        raise BadPayload(422, "invalid_fields", f"event{where}: properties must be an object")
    if account.options.get("pseudonymize") and not replay:  # stored bodies are already
        user = pseudonym(account, user)
        props = {k: v for k, v in props.items() if k not in PRIVATE_PROPERTIES}
    return user, name, ts, props


def parse(
    raw: bytes, account: Account, headers: Mapping[str, str], received_ms: int = 0
) -> list[Parsed]:
    """One event object or an array of them (stored atomically, one key per element)."""
    msg_id = headers.get("webhook-id") or "sha256:" + hashlib.sha256(raw).hexdigest()
    doc = load_json(raw)
    items = list(enumerate(doc)) if isinstance(doc, list) else [(-1, doc)]
    if not items:
        raise BadPayload(422, "invalid_fields", "an empty batch")
    parsed = []
    for index, item in items:
        user, name, ts, props = _event(item, index, account, REPLAY in headers)
        body = (
            raw
            if index < 0
            else json.dumps(
                {**item, "user": user, "properties": props}, ensure_ascii=False
            ).encode()
        )
        if index < 0 and account.options.get("pseudonymize"):
            body = json.dumps(
                {**item, "user": user, "properties": props}, ensure_ascii=False
            ).encode()  # never keep the raw identity
        parsed.append(
            Parsed(
                msg_id if index < 0 else f"{msg_id}:{index}",
                name,
                ts,
                None,
                None,
                None,
                body,
                {
                    "custom_events": [
                        {
                            "ts_ms": ts,
                            "user_id": user,
                            "event": name,
                            "system": 0,
                            "properties": json.dumps(props, ensure_ascii=False),
                        }
                    ]
                },
                (Entity("mau", user, ts, None, user),),
            )
        )
    return parsed
