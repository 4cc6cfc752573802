"""Chatbots and your own apps: Standard Webhooks signatures, single or batched events."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from meterwise.config.providers import OPTIONS as PROVIDER_OPTIONS
from meterwise.config.providers import SIGNED
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
from meterwise.receiver.verify import Verdict, standard_secret_problem, verify_standard

NAME = "events"
NEEDS_SECRETS = NAME in SIGNED  # HMAC-signed with the account's webhook_secrets
OPTIONS = PROVIDER_OPTIONS[NAME]  # declared in config/providers.py
# Standard Webhooks headers, and the same under Svix's names (its hosted service sends those).
SPELLINGS = (
    ("webhook-id", "webhook-timestamp", "webhook-signature"),
    ("svix-id", "svix-timestamp", "svix-signature"),
)
BATCH_SEPARATOR = "\n"  # no header value holds a line break: element keys match no single key


def secret_problem(secret: str) -> str | None:
    """A signing secret must be whsec_<base64> of at least 16 bytes."""
    return standard_secret_problem(secret)


def _headers(headers: Mapping[str, str]) -> tuple[str | None, str | None, str | None] | str:
    """(id, timestamp, signature) under one spelling, or an error when both are used."""
    present = [names for names in SPELLINGS if any(headers.get(n) for n in names)]
    if len(present) > 1:
        return "webhook-* and svix-* headers must not be mixed in one request"
    names = present[0] if present else SPELLINGS[0]
    return headers.get(names[0]), headers.get(names[1]), headers.get(names[2])


def message_id(headers: Mapping[str, str]) -> str | None:
    """The delivery's id from either spelling (None when absent or mixed)."""
    found = _headers(headers)
    return None if isinstance(found, str) else found[0]


PRIVATE_PROPERTIES = ("name", "email", "phone")


def authenticate(headers: Mapping[str, str], raw: bytes, account: Account, now: float) -> Verdict:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (v1, any secret),
    or the same under ``svix-*``."""
    found = _headers(headers)
    if isinstance(found, str):
        return Verdict(False, "signature_malformed", found)
    msg_id, timestamp, signature = found
    return verify_standard(
        msg_id,
        timestamp,
        signature,
        raw,
        account.webhook_secrets,
        now,
        account.signature_tolerance_s,
    )


def peek_key(raw: bytes, headers: Mapping[str, str] | None = None) -> str | None:
    """The delivery's ``webhook-id`` (first element's key for a batch)."""
    msg_id = message_id(headers or {})
    if not msg_id:
        return None
    doc = None
    try:
        doc = load_json(raw)
    except BadPayload:
        return None
    return f"{msg_id}{BATCH_SEPARATOR}0" if isinstance(doc, list) else msg_id


def pseudonym(account: Account, user: str) -> str:
    """A keyed digest that stands in for a user id (counts stay the same)."""
    key = str(account.options.get("pseudonymize_key", "")).encode()
    return "u_" + hmac.new(key, user.encode(), hashlib.sha256).hexdigest()[:32]


def _at(doc: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def _paths(item: dict[str, Any], account: Account) -> tuple[str, str]:
    envelope = "type" in item and isinstance(item.get("data"), dict) and "event" not in item
    user_path = account.options.get("user_path") or ("data.user_id" if envelope else "user")
    event_path = account.options.get("event_path") or ("type" if envelope else "event")
    return str(user_path), str(event_path)


def _event(
    item: Any, index: int, account: Account, replay: bool = False
) -> tuple[str, str, int, dict[str, Any]]:
    where = f"[{index}]" if index >= 0 else ""
    item = require_object(item, ("timestamp",), f"event{where}")
    user_path, event_path = _paths(item, account)
    missing = [p for p in (user_path, event_path) if _at(item, p) in (None, "")]
    if missing:
        raise BadPayload(
            422,
            "missing_fields",
            f"event{where} lacks: {', '.join(missing)} (set options.user_path / event_path)",
        )
    user, name = as_str(_at(item, user_path)), as_str(_at(item, event_path))
    ts = parse_time(item["timestamp"])
    if not user or not name or ts is None:
        raise BadPayload(
            422,
            "invalid_fields",
            f"event{where}: {user_path} and {event_path} must be strings, "
            "timestamp ISO 8601 or epoch ms",
        )
    envelope = user_path.startswith("data.")
    props = (item.get("data") if envelope else item.get("properties")) or {}
    if not isinstance(props, dict):
        raise BadPayload(422, "invalid_fields", f"event{where}: properties must be an object")
    if envelope:  # the data object's other fields are the properties
        props = {k: v for k, v in props.items() if f"data.{k}" != user_path}
    if account.options.get("pseudonymize") and not replay:  # stored bodies are already
        user = pseudonym(account, user)
        props = {k: v for k, v in props.items() if k not in PRIVATE_PROPERTIES}
    return user, name, ts, props


def _stored(item: dict[str, Any], account: Account, user: str, props: dict[str, Any]) -> bytes:
    """The element as stored: with the pseudonym (and without private fields) if asked."""
    user_path, _ = _paths(item, account)
    parts = user_path.split(".")
    doc = {**item, "data" if parts[0] == "data" else "properties": dict(props)}
    _put(doc, parts, user)
    return json.dumps(doc, ensure_ascii=False).encode()


def _put(doc: dict[str, Any], path: list[str], value: str) -> None:
    for part in path[:-1]:
        child = doc.get(part)
        doc[part] = dict(child) if isinstance(child, dict) else {}
        doc = doc[part]
    doc[path[-1]] = value


def parse(
    raw: bytes, account: Account, headers: Mapping[str, str], received_ms: int = 0
) -> list[Parsed]:
    """One event object or an array of them (stored atomically, one key per element)."""
    msg_id = message_id(headers) or "sha256:" + hashlib.sha256(raw).hexdigest()
    doc = load_json(raw)
    items = list(enumerate(doc)) if isinstance(doc, list) else [(-1, doc)]
    if not items:
        raise BadPayload(422, "invalid_fields", "an empty batch")
    parsed = []
    for index, item in items:
        user, name, ts, props = _event(item, index, account, REPLAY in headers)
        private = bool(account.options.get("pseudonymize"))
        body = raw if index < 0 and not private else _stored(item, account, user, props)
        parsed.append(
            Parsed(
                msg_id if index < 0 else f"{msg_id}{BATCH_SEPARATOR}{index}",
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
