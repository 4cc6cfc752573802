"""Peak concurrent connections from connect/disconnect events. Pure.

Abruptly killed clients never send "disconnected": a connection still open
``idle_timeout_ms`` after it connected is closed then, and counted as closed by timeout.
Legacy snapshots list every open connection of a user and replace what we had for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """A connection change, or a snapshot (``ids``) of one user's open connections."""

    ts_ms: int
    uid: str
    action: str  # "connected", "disconnected" or "snapshot"
    connection_id: str | None = None
    ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Peak:
    """The highest number of simultaneously open connections in a window."""

    peak: int
    at_ms: int | None
    closed_by_timeout: int


def peak_concurrency(
    events: Iterable[ConnectionEvent], start_ms: int, end_ms: int, idle_timeout_ms: int
) -> Peak:
    """Replay events in timestamp order; the peak counts only instants in [start, end)."""
    open_at: dict[str, tuple[str, int]] = {}  # connection id -> (uid, connected at)
    peak, peak_at, timeouts = 0, None, 0

    def expire(now: int) -> int:
        stale = [c for c, (_, t) in open_at.items() if now - t > idle_timeout_ms]
        for c in stale:
            del open_at[c]
        return len(stale)

    entered = False
    for ev in sorted(events, key=lambda e: (e.ts_ms, e.action != "disconnected")):
        if ev.ts_ms >= end_ms:
            break
        if ev.ts_ms >= start_ms and not entered:
            expire(start_ms)  # what was open when the window began counts at its start
            entered, peak, peak_at = True, len(open_at), start_ms
        closed = expire(ev.ts_ms)
        timeouts += closed if entered else 0
        if ev.action == "connected" and ev.connection_id:
            open_at[ev.connection_id] = (ev.uid, ev.ts_ms)
        elif ev.action == "disconnected" and ev.connection_id:
            open_at.pop(ev.connection_id, None)
        elif ev.action == "snapshot":
            for c in [c for c, (uid, _) in open_at.items() if uid == ev.uid]:
                del open_at[c]
            for c in ev.ids:
                open_at[c] = (ev.uid, ev.ts_ms)
        if entered and len(open_at) > peak:
            peak, peak_at = len(open_at), ev.ts_ms
    if not entered:
        expire(start_ms)
        peak, peak_at = len(open_at), start_ms if open_at else None
    return Peak(peak, peak_at, timeouts)
