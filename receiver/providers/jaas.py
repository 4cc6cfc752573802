"""8x8 JaaS: X-Jaas-Signature verification and the envelope's normalization."""

from __future__ import annotations

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
from meterwise.receiver.verify import Verdict, verify_jaas

NAME = "jaas"
NEEDS_SECRETS = NAME in SIGNED  # HMAC-signed with the account's webhook_secrets
OPTIONS = PROVIDER_OPTIONS[NAME]  # declared in config/providers.py
_REQUIRED = ("idempotencyKey", "eventType", "timestamp", "sessionId", "fqn", "data")
_CALL_KINDS = {
    "DIAL_IN": "dial_in",
    "DIAL_OUT": "dial_out",
    "SIP_CALL_IN": "sip_in",
    "SIP_CALL_OUT": "sip_out",
    "LIVE_STREAM": "streaming",
}
# Before 2000-01-01 a "timestamp" is seconds or nonsense; after the year 5138 it is surely not
# milliseconds either. (The receiver also refuses times beyond [receiver] max_future_s.)
_MIN_MS, _MAX_MS = 946_684_800_000, 10**14
MAX_RECORDING_S = 31 * 86400  # no recording is longer than a month


def authenticate(headers: Mapping[str, str], raw: bytes, account: Account, now: float) -> Verdict:
    """Verify ``X-Jaas-Signature`` against the account's secrets and tolerance."""
    return verify_jaas(
        headers.get("X-Jaas-Signature"),
        raw,
        account.webhook_secrets,
        now,
        account.signature_tolerance_s,
    )


def peek_key(raw: bytes, headers: Mapping[str, str] | None = None) -> str | None:
    """The idempotencyKey of a body, if it has one, without validating anything else."""
    try:
        doc = load_json(raw)
    except BadPayload:
        return None
    return as_str(doc.get("idempotencyKey")) if isinstance(doc, dict) else None


def _envelope(doc: Any) -> dict[str, Any]:
    doc = require_object(
        doc, _REQUIRED, "the JaaS envelope", lambda v: v is not None, ("appId", "customerId")
    )
    wrong = [
        f
        for f in ("idempotencyKey", "eventType", "sessionId", "fqn")
        if not isinstance(doc[f], str) or not doc[f]
    ]
    if not isinstance(doc["data"], (dict, list)):
        wrong.append("data")
    ts = as_int(doc["timestamp"])
    if ts is None:
        wrong.append("timestamp")
    if wrong:
        raise BadPayload(
            422, "invalid_fields", "fields of the wrong type or empty: " + ", ".join(wrong)
        )
    if ts is not None and not _MIN_MS <= ts < _MAX_MS:
        raise BadPayload(
            422,
            "timestamp_out_of_range",
            "timestamp must be Unix epoch milliseconds after 2000-01-01",
        )
    if len(doc["idempotencyKey"]) > 200:
        raise BadPayload(422, "invalid_fields", "idempotencyKey longer than 200 characters")
    return doc


def _app_id(doc: Mapping[str, Any]) -> str | None:
    app_id = as_str(doc.get("appId"))
    customer = as_str(doc.get("customerId"))
    if app_id is None and customer:
        app_id = f"vpaas-magic-cookie-{customer}"
    return app_id


def _usage(doc: Mapping[str, Any], ts: int) -> tuple[list[dict[str, Any]], list[Entity]]:
    data = doc["data"]
    if not isinstance(data, list):
        raise BadPayload(422, "invalid_fields", "USAGE data must be an array")
    rows, entities = [], []
    for i, item in enumerate(data):
        device = as_str(item.get("deviceId")) if isinstance(item, dict) else None
        if not device:
            raise BadPayload(422, "invalid_fields", f"USAGE data[{i}].deviceId is missing")
        row = {
            "session_id": doc["sessionId"],
            "ts_ms": ts,
            "device_id": device,
            "user_id": as_str(item.get("userId")),
            "email": as_str(item.get("email")),
            "kid": as_str(item.get("kid")),
            "call_direction": as_str(item.get("callDirection")),
            "participant_id": as_str(item.get("participantId")),
        }
        rows.append(row)
        entities.append(Entity("mau", device, ts, doc["sessionId"], row["user_id"], row["email"]))
    return rows, entities


def _data(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    data = doc["data"]
    if not isinstance(data, dict):
        raise BadPayload(422, "invalid_fields", f"{doc['eventType']} data must be an object")
    return data


def _normalize(
    doc: Mapping[str, Any], ts: int
) -> tuple[dict[str, list[dict[str, Any]]], list[Entity]]:
    kind = doc["eventType"]
    base = {"session_id": doc["sessionId"], "ts_ms": ts, "event_type": kind}
    if kind == "USAGE":
        rows, entities = _usage(doc, ts)
        return {"usage_devices": rows}, entities
    if kind in (
        "PARTICIPANT_JOINED",
        "PARTICIPANT_LEFT",
        "PARTICIPANT_JOINED_LOBBY",
        "PARTICIPANT_LEFT_LOBBY",
    ):
        d = _data(doc)
        return {
            "participants": [
                {
                    **base,
                    "lobby": int(kind.endswith("_LOBBY")),
                    "joined": int("JOINED" in kind),
                    "participant_id": as_str(d.get("participantId")),
                    "user_id": as_str(d.get("id")),
                    "name": as_str(d.get("name")),
                    "email": as_str(d.get("email")),
                    "moderator": as_bool(d.get("moderator")),
                    "disconnect_reason": as_str(d.get("disconnectReason")),
                    "is_breakout": as_bool(d.get("isBreakout")),
                    "breakout_room_id": as_str(d.get("breakoutRoomId")),
                }
            ]
        }, []
    if kind in ("RECORDING_STARTED", "RECORDING_ENDED", "RECORDING_UPLOADED"):
        d = _data(doc)
        duration = as_int(d.get("durationSec"))
        if duration is not None and not 0 <= duration <= MAX_RECORDING_S:
            raise BadPayload(
                422, "invalid_fields", f"data.durationSec must be 0 to {MAX_RECORDING_S} seconds"
            )
        return {
            "recordings": [
                {
                    **base,
                    "duration_sec": duration,
                    "start_ts_ms": as_int(d.get("startTimestamp")),
                    "end_ts_ms": as_int(d.get("endTimestamp")),
                    "recording_session_id": as_str(d.get("recordingSessionId")),
                    "initiator_id": as_str(d.get("initiatorId")),
                    "link": as_str(d.get("preAuthenticatedLink")),
                }
            ]
        }, []
    if kind in ("TRANSCRIPTION_UPLOADED", "CHAT_UPLOADED"):
        d = _data(doc)
        return {"uploads": [{**base, "link": as_str(d.get("preAuthenticatedLink"))}]}, []
    if kind in ("ROOM_CREATED", "ROOM_DESTROYED"):
        d = _data(doc)
        return {
            "rooms": [
                {
                    **base,
                    "conference": as_str(d.get("conference")),
                    "is_breakout": as_bool(d.get("isBreakout")),
                    "breakout_room_id": as_str(d.get("breakoutRoomId")),
                }
            ]
        }, []
    prefix, _, phase = kind.rpartition("_")
    if prefix in _CALL_KINDS and phase in ("STARTED", "ENDED"):
        d = _data(doc)
        return {
            "calls": [
                {
                    **base,
                    "kind": _CALL_KINDS[prefix],
                    "phase": phase.lower(),
                    "participant_id": as_str(d.get("participantId")),
                    "nick": as_str(d.get("nick")),
                    "sip_address": as_str(d.get("sipAddress")),
                }
            ]
        }, []
    return {}, []  # every other type, known or not, is kept raw only


def parse(
    raw: bytes, account: Account, headers: Mapping[str, str], received_ms: int = 0
) -> list[Parsed]:
    """Validate the envelope, check the appId and normalize the rows the reconciler needs."""
    doc = _envelope(load_json(raw))
    app_id = _app_id(doc)
    if account.app_id and app_id != account.app_id:
        raise BadPayload(
            422,
            "app_id_mismatch",
            f"event is for appId {app_id!r}, this account expects {account.app_id!r}",
        )
    ts = as_int(doc["timestamp"])
    assert ts is not None  # checked by _envelope
    rows, entities = _normalize(doc, ts)
    return [
        Parsed(
            idempotency_key=doc["idempotencyKey"],
            event_type=doc["eventType"],
            ts_ms=ts,
            session_id=doc["sessionId"],
            fqn=doc["fqn"],
            app_id=app_id,
            body=raw,
            rows=rows,
            entities=tuple(entities),
        )
    ]
