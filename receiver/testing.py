"""Builders of signed JaaS webhooks, for tests, benchmarks and `meterwise simulate`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from meterwise.receiver.verify import jaas_signature

CUSTOMER_ID = "96f0941768964ab380ed0fbada7a502f"
APP_ID = f"vpaas-magic-cookie-{CUSTOMER_ID}"


def envelope(
    event_type: str,
    ts_ms: int,
    data: Any,
    *,
    session_id: str = "session-1",
    room: str = "room",
    key: str | None = None,
    app_id: str | None = APP_ID,
) -> dict[str, Any]:
    """A JaaS envelope with a fresh idempotencyKey unless one is given."""
    doc: dict[str, Any] = {
        "idempotencyKey": key or str(uuid.uuid4()),
        "customerId": CUSTOMER_ID,
        "eventType": event_type,
        "sessionId": session_id,
        "timestamp": ts_ms,
        "fqn": f"{APP_ID}/{room}",
        "data": data,
    }
    if app_id is not None:
        doc["appId"] = app_id
    return doc


def signed(doc: dict[str, Any] | bytes, secret: str, t: int) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers of a delivery signed at unix second ``t``."""
    body = doc if isinstance(doc, bytes) else json.dumps(doc, separators=(",", ":")).encode()
    header = f"t={t},v1={jaas_signature(secret, str(t), body)}"
    return body, {"Content-Type": "application/json", "X-Jaas-Signature": header}


@dataclass
class Meeting:
    """Events of one meeting: joins (with USAGE as JaaS emits it), leaves, room lifecycle."""

    session_id: str
    start_ms: int
    room: str = "room"
    events: list[dict[str, Any]] = field(default_factory=list)
    _present: list[dict[str, Any]] = field(default_factory=list)
    _clock: int = 0

    def _ts(self) -> int:
        self._clock += 1000
        return self.start_ms + self._clock

    def join(
        self,
        device: str,
        user_id: str | None = None,
        *,
        moderator: bool = False,
        name: str | None = None,
        email: str | None = None,
    ) -> Meeting:
        """A participant joins; USAGE lists the first two at the second join, then one."""
        ts = self._ts()
        if not self._present:
            self.events.append(
                envelope(
                    "ROOM_CREATED",
                    ts - 1,
                    {"conference": self.room, "isBreakout": False},
                    session_id=self.session_id,
                    room=self.room,
                )
            )
        self.events.append(
            envelope(
                "PARTICIPANT_JOINED",
                ts,
                {
                    "moderator": "true" if moderator else "false",
                    "name": name or device,
                    "email": email,
                    "id": user_id,
                    "participantId": device[:8],
                    "participantJid": f"{device}@8x8.vc",
                    "isBreakout": False,
                },
                session_id=self.session_id,
                room=self.room,
            )
        )
        record = {
            "customerId": CUSTOMER_ID,
            "deviceId": device,
            "userId": user_id,
            "email": email,
            "kid": f"{APP_ID}/abc123",
            "participantId": device[:8],
        }
        self._present.append(record)
        if len(self._present) == 2:
            self.events.append(
                envelope(
                    "USAGE", ts, list(self._present), session_id=self.session_id, room=self.room
                )
            )
        elif len(self._present) > 2:
            self.events.append(
                envelope("USAGE", ts, [record], session_id=self.session_id, room=self.room)
            )
        return self

    def end(self) -> Meeting:
        """Everyone leaves and the room is destroyed."""
        for record in self._present:
            self.events.append(
                envelope(
                    "PARTICIPANT_LEFT",
                    self._ts(),
                    {
                        "id": record["userId"],
                        "participantId": record["participantId"],
                        "disconnectReason": "left",
                        "moderator": False,
                    },
                    session_id=self.session_id,
                    room=self.room,
                )
            )
        self.events.append(
            envelope(
                "ROOM_DESTROYED",
                self._ts(),
                {"conference": self.room, "isBreakout": False},
                session_id=self.session_id,
                room=self.room,
            )
        )
        self._present = []
        return self

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.events)
