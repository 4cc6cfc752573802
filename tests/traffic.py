"""Builders of CometChat, WLL and Standard Webhooks deliveries for the end-to-end tests."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from meterwise.receiver.verify import standard_signature

COMETCHAT_USER, COMETCHAT_PASSWORD = "meterwise", "cc-pass-000001"
WLL_SECRET = "wll-shared-secret-1"
EVENTS_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def basic(user: str = COMETCHAT_USER, password: str = COMETCHAT_PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "Application/json"}


def cc_connection(uid: str, action: str, connected_at: int, at: int, platform: str = "web") -> dict:
    """``user_connection_status_changed`` for one connection (times in ms)."""
    return {
        "trigger": "user_connection_status_changed",
        "data": {
            "timestamp": at,
            "user": {"uid": uid, "status": "online" if action == "connected" else "offline"},
            "status": "online" if action == "connected" else "offline",
            "currentConnection": {
                "action": action,
                "platform": platform,
                "userAgent": "Mozilla/5.0",
                "connectedAt": connected_at,
            },
        },
        "appId": "app1",
        "region": "eu",
        "webhook": "wh1",
    }


def cc_message(message_id: str, sender: str, sent_at_s: int) -> dict:
    return {
        "trigger": "message_sent",
        "data": {
            "message": {
                "id": message_id,
                "sender": sender,
                "receiver": "someone",
                "receiverType": "user",
                "category": "message",
                "type": "text",
                "sentAt": sent_at_s,
            }
        },
        "appId": "app1",
        "region": "eu",
        "webhook": "wh1",
    }


def cc_call_ended(session: str, created_s: int, occupants: list[tuple[int, int, bool]]) -> dict:
    """``call_ended``: occupants are (joined offset s, left offset s, audio only)."""
    return {
        "trigger": "call_ended",
        "data": {
            "all_occupants": [
                {
                    "joined_at": created_s + j,
                    "left_at": created_s + left,
                    "audio_call": "true" if audio else "false",
                    "name": f"guest {i}",
                }
                for i, (j, left, audio) in enumerate(occupants)
            ],
            "created_at": created_s,
            "destroyed_at": created_s + max(left for _, left, _ in occupants),
            "sessionId": session,
        },
        "type": "call",
        "appId": "app1",
        "region": "eu",
        "webhook": "wh1",
    }


def wll_event(kind: str, subject: str, when: datetime, **payload: Any) -> bytes:
    instant = when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    doc = {"type": kind, "reportedAt": instant, "subject": subject, "payload": payload}
    return json.dumps(doc).encode()


def standard_headers(body: bytes, msg_id: str, t: int, secret: str = EVENTS_SECRET) -> dict:
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(t),
        "webhook-signature": standard_signature(secret, msg_id, str(t), body),
    }


def app_event(user: str, event: str, when: datetime, **properties: Any) -> dict:
    return {"user": user, "event": event, "timestamp": ms(when), "properties": properties}
