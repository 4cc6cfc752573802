"""The values a delivery stores: one authenticated, parsed event and the entities it counts.

Defined here, below the receiver that makes them, so that storage never imports upward.
"""

from __future__ import annotations

from collections.abc import Mapping
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
