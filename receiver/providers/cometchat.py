"""CometChat: HTTP Basic auth, per-trigger idempotency keys, connections and call minutes."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from meterwise.config.providers import OPTIONS as PROVIDER_OPTIONS
from meterwise.config.providers import SIGNED
from meterwise.config.settings import Account
from meterwise.receiver.providers.base import (
    BadPayload,
    Entity,
    Parsed,
    as_bool,
    as_int,
    as_str,
    load_json,
    require_object,
)
from meterwise.receiver.verify import Verdict, verify_basic

NAME = "cometchat"
NEEDS_SECRETS = NAME in SIGNED  # HMAC-signed with the account's webhook_secrets
OPTIONS = PROVIDER_OPTIONS[NAME]  # declared in config/providers.py


def authenticate(headers: Mapping[str, str], raw: bytes, account: Account, now: float) -> Verdict:
    """Basic credentials from ``options.basic_auth_user`` / ``basic_auth_password``."""
    return verify_basic(
        headers.get("Authorization"),
        str(account.options.get("basic_auth_user", "")),
        str(account.options.get("basic_auth_password", "")),
    )


def _get(doc: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _key(doc: dict[str, Any], raw: bytes) -> str:
    """Idempotency keys as CometChat documents them per trigger; else the body's digest."""
    trigger, data, hook = doc.get("trigger"), _obj(doc.get("data")), doc.get("webhook", "")
    parts: list[Any]
    if trigger == "message_sent":
        parts = [_get(data, "message", "id")]
    elif trigger in ("call_ended", "meeting_ended"):
        parts = [data.get("sessionId"), data.get("destroyed_at")]
    elif trigger == "call_initiated":
        parts = [_get(data, "call", "id"), _get(data, "call", "sentAt")]
    elif trigger == "user_connection_status_changed":
        parts = [
            _get(data, "user", "uid"),
            _get(data, "currentConnection", "connectedAt"),
            _get(data, "currentConnection", "action"),
            _get(data, "currentConnection", "platform") or "",
        ]
    elif trigger == "after_connection_status_changed":
        parts = [
            _get(data, "user", "uid"),
            _get(data, "event", "type"),
            _get(data, "event", "at"),
            _get(data, "event", "event_for", "cometchat_device_id"),
        ]
    else:
        parts = []
    if not parts or any(p is None for p in parts):
        parts = ["sha256", hashlib.sha256(raw).hexdigest()]
    return ":".join(str(p) for p in (hook, trigger, *parts))


def peek_key(raw: bytes, headers: Mapping[str, str] | None = None) -> str | None:
    """CometChat has no signature to fail on a re-sent body: no peeking needed."""
    return None


def _seconds_ms(value: Any) -> int | None:
    number = as_int(value)
    if number is None and isinstance(value, float) and abs(value) < 2**63:
        number = int(value)
    if number is None:
        return None
    return number * 1000 if number < 10**11 else number  # seconds or milliseconds


MAX_CALL_S = 31 * 86400  # no call or meeting lasts longer than a month


def _list(data: Mapping[str, Any], name: str) -> list[Any]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadPayload(422, "invalid_fields", f"data.{name} must be an array")
    return value


def _when(value: Any, received_ms: int, name: str, seconds: bool = True) -> int:
    """An event time: absent means the receipt time; present but unusable is a 422."""
    if value is None:
        return received_ms
    ms = _seconds_ms(value) if seconds else as_int(value)
    if ms is None:
        raise BadPayload(422, "invalid_fields", f"{name} is not a usable time: {str(value)[:40]}")
    return ms


def _occupants(data: Mapping[str, Any]) -> tuple[float, float, bool]:
    voice = video = 0.0
    audio_only = True
    for i, occ in enumerate(_list(data, "all_occupants")):
        if not isinstance(occ, dict):
            continue
        joined, left = as_int(occ.get("joined_at")), as_int(occ.get("left_at"))
        if joined is None or left is None or left < joined:
            continue
        if left - joined > MAX_CALL_S:
            raise BadPayload(
                422, "invalid_fields", f"data.all_occupants[{i}] lasts more than {MAX_CALL_S} s"
            )
        audio = as_bool(occ.get("audio_call"))
        if audio:
            voice += left - joined
        else:
            video += left - joined
            audio_only = False
    return voice, video, audio_only


def parse(
    raw: bytes, account: Account, headers: Mapping[str, str], received_ms: int = 0
) -> list[Parsed]:
    """Validate the envelope and extract MAU entities, connection changes and call minutes."""
    doc = require_object(load_json(raw), ("trigger", "data"), present=bool)
    trigger, data = as_str(doc["trigger"]) or "", doc["data"]
    if not isinstance(data, dict):
        raise BadPayload(422, "invalid_fields", "data must be an object")
    by_device = bool(account.options.get("count_devices", False))
    rows: dict[str, list[dict[str, Any]]] = {}
    entities: list[Entity] = []
    ts = received_ms
    if trigger == "message_sent":
        message = _obj(data.get("message"))
        ts = _when(message.get("sentAt"), received_ms, "data.message.sentAt")
        sender = as_str(message.get("sender"))
        if sender:
            entities.append(Entity("mau", sender, ts, None, sender))
    elif trigger == "user_connection_status_changed":
        uid = as_str(_get(data, "user", "uid"))
        conn = _obj(data.get("currentConnection"))
        action = as_str(conn.get("action"))
        ts = _when(data.get("timestamp"), received_ms, "data.timestamp", seconds=False)
        if uid and action in ("connected", "disconnected"):
            connection = f"{uid}|{conn.get('connectedAt')}|{conn.get('platform')}"
            rows["connections"] = [
                {
                    "ts_ms": ts,
                    "uid": uid,
                    "action": action,
                    "connection_id": connection,
                    "snapshot": None,
                }
            ]
            if action == "connected":
                entity = f"{uid}|{conn.get('platform')}" if by_device else uid
                entities.append(Entity("mau", entity, ts, None, uid))
    elif trigger == "after_connection_status_changed":
        uid = as_str(_get(data, "user", "uid"))
        kind = as_str(_get(data, "event", "type"))
        ts = _when(_get(data, "event", "at"), received_ms, "data.event.at", seconds=False)
        open_ids = [
            f"{uid}|{c.get('cometchat_device_id')}|{c.get('session_id')}"
            for c in _list(data, "connections")
            if isinstance(c, dict)
        ]
        if uid:
            rows["connections"] = [
                {
                    "ts_ms": ts,
                    "uid": uid,
                    "action": "snapshot",
                    "connection_id": None,
                    "snapshot": "\n".join(open_ids),
                }
            ]
            if kind == "connected":
                device = _get(data, "event", "event_for", "cometchat_device_id")
                entities.append(
                    Entity("mau", f"{uid}|{device}" if by_device else uid, ts, None, uid)
                )
    elif trigger in ("call_ended", "meeting_ended"):
        ts = _when(data.get("destroyed_at"), received_ms, "data.destroyed_at")
        created, destroyed = as_int(data.get("created_at")), as_int(data.get("destroyed_at"))
        voice, video, audio_only = _occupants(data)
        if created is not None and destroyed is not None and destroyed - created > MAX_CALL_S:
            raise BadPayload(422, "invalid_fields", f"a session lasts more than {MAX_CALL_S} s")
        rows["call_sessions"] = [
            {
                "ts_ms": ts,
                "kind": as_str(doc.get("type")) or trigger.split("_")[0],
                "session_id": as_str(data.get("sessionId")),
                "voice_s": voice,
                "video_s": video,
                "session_s": max(0, (destroyed or 0) - (created or 0)),
                "audio_only": int(audio_only),
            }
        ]
    return [
        Parsed(
            idempotency_key=_key(doc, raw),
            event_type=trigger or "unknown",
            ts_ms=ts,
            session_id=as_str(data.get("sessionId")),
            fqn=as_str(doc.get("webhook")),
            app_id=as_str(doc.get("appId")),
            body=raw,
            rows=rows,
            entities=tuple(entities),
        )
    ]
