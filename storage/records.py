"""The values a delivery stores: one authenticated, parsed event and the entities it counts.

Defined here, below the receiver that makes them, so that storage never imports upward;
and the engine-neutral shapes of the rows the storage operations take and return.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Entity:
    """A distinct thing counted once per cycle (a device, a user) seen at ``ts_ms``."""

    metric: str
    entity: str
    ts_ms: int
    session_id: str | None = None
    user_id: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Parsed:
    """One authenticated event, ready to store: envelope, normalized rows, entities."""

    idempotency_key: str
    event_type: str
    ts_ms: int
    session_id: str | None
    fqn: str | None
    app_id: str | None
    body: bytes
    rows: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)
    entities: tuple[Entity, ...] = ()


# The rows storage operations exchange (the same for every engine).
# (account, cycle start) -> (mau, total, lines JSON, recorded at ms, note)
FiguresRow = tuple[int | None, str | None, str, int, str | None]

# (subject, status, attempts, last error, created ms, sent ms, "metric rule level" keys,
# channel: email or kind:digest)
MessageRow = tuple[str, str, int, str | None, int, int | None, tuple[str, ...], str]

# A stored body re-parsed: (body, idempotency key, received at ms) -> its events ([] to skip)
Reparse = Callable[[bytes, str, int], list[Parsed]]

CycleOf = Callable[[int], int]  # event time (ms) -> start (ms) of the cycle that holds it

AlertKey = tuple[str, str, str]  # (metric, rule, level)

# (id, key, recipients, subject, text, html, attempts, channel, created ms, account) of a
# message due for sending
DueMessage = tuple[int, str, tuple[str, ...], str, str, str, int, str, int, str]

# (key, channel ident, subject, JSON body) of a channel's message queued beside the email
ChannelRow = tuple[str, str, str, str]
