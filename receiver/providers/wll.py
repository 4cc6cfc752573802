"""White Label Loyalty: reactor WEBHOOK reactions authenticated by a shared-secret header."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from meterwise.config.providers import OPTIONS as PROVIDER_OPTIONS
from meterwise.config.providers import SIGNED
from meterwise.config.providers import WLL_DEFAULT_HEADER as DEFAULT_HEADER
from meterwise.config.providers import WLL_DEFAULT_SYSTEM_EVENTS as DEFAULT_SYSTEM_EVENTS
from meterwise.config.settings import Account
from meterwise.receiver.providers.base import (
    BadPayload,
    Entity,
    Parsed,
    as_str,
    load_json,
    require_object,
)
from meterwise.receiver.verify import Verdict, verify_shared_header

NAME = "wll"
NEEDS_SECRETS = NAME in SIGNED  # HMAC-signed with the account's webhook_secrets
OPTIONS = PROVIDER_OPTIONS[NAME]  # declared in config/providers.py


def authenticate(headers: Mapping[str, str], raw: bytes, account: Account, now: float) -> Verdict:
    """The header named ``options.header_name`` must carry ``options.secret``."""
    name = str(account.options.get("header_name", DEFAULT_HEADER))
    return verify_shared_header(headers.get(name), name, str(account.options.get("secret", "")))


def peek_key(raw: bytes, headers: Mapping[str, str] | None = None) -> str | None:
    """No signature, so no re-sent-body case to rescue."""
    return None


def system_events(account: Account) -> frozenset[str]:
    """Event types counted as system-triggered for this account."""
    return frozenset(account.options.get("system_event_types", DEFAULT_SYSTEM_EVENTS))


def parse_time(value: Any) -> int | None:
    """Epoch ms from an ISO string (``Z`` allowed) or a number of ms (the receiver refuses
    times before 2000 or too far ahead: ``timestamp_out_of_range``)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 2**53:
        return int(value)
    if isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if instant.tzinfo is None:
            return None
        try:
            return int(instant.timestamp() * 1000)
        except (OverflowError, ValueError):
            return None
    return None


def parse(
    raw: bytes, account: Account, headers: Mapping[str, str], received_ms: int = 0
) -> list[Parsed]:
    """``{"type", "reportedAt", "subject", "payload"}``: one event for one user."""
    fields = ("type", "subject", "reportedAt")
    doc = require_object(load_json(raw), fields, present=lambda v: bool(as_str(v)))
    ts = parse_time(doc["reportedAt"])
    if ts is None:
        raise BadPayload(422, "invalid_fields", "reportedAt must be an ISO 8601 instant")
    kind, subject = str(doc["type"]), str(doc["subject"])
    system = kind in system_events(account)
    entities = [Entity("mau", subject, ts, None, subject)]
    if not system:
        entities.append(Entity("mau_engaged", subject, ts, None, subject))
    payload = doc.get("payload") if isinstance(doc.get("payload"), dict) else {}
    # WLL sends no event id: identical bodies are the same delivery.
    key = "sha256:" + hashlib.sha256(raw).hexdigest()
    return [
        Parsed(
            key,
            kind,
            ts,
            None,
            None,
            None,
            raw,
            {
                "custom_events": [
                    {
                        "ts_ms": ts,
                        "user_id": subject,
                        "event": kind,
                        "system": int(system),
                        "properties": json.dumps(payload, ensure_ascii=False),
                    }
                ]
            },
            tuple(entities),
        )
    ]
