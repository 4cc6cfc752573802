"""MAU attribution: cost per internal user (the JaaS seed's Alice and Bob). Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from meterwise.reconciler.models import Attribution


@dataclass(frozen=True, slots=True)
class Join:
    """A PARTICIPANT_JOINED of a meeting: who, when, and whether a moderator."""

    ts_ms: int
    user_id: str | None
    name: str | None
    moderator: bool


def is_internal(user_id: str | None, email: str | None, domains: Sequence[str]) -> bool:
    """A device is internal when its USAGE row has a userId (and, if internal domains are
    configured, an email in one of them)."""
    if not user_id:
        return False
    if not domains:
        return True
    domain = (email or "").rpartition("@")[2].lower()
    return domain in {d.lower() for d in domains}


def meeting_owner(
    joins: Sequence[Join], internal_users: frozenset[str] | None = None
) -> Join | None:
    """The earliest-joined moderator with a user id; else the earliest-joined internal user."""
    ordered = sorted(joins, key=lambda j: j.ts_ms)
    for join in ordered:
        if join.moderator and join.user_id:
            return join
    for join in ordered:
        if join.user_id and (internal_users is None or join.user_id in internal_users):
            return join
    return None


def attribute(
    internal: Mapping[str, int],
    guests_by_session: Mapping[str | None, int],
    joins_by_session: Mapping[str, Sequence[Join]],
    names: Mapping[str, str],
    cost_per_mau: Decimal,
) -> list[Attribution]:
    """Attributed MAU and amount per user, sorted by MAU descending; user None = unattributed.

    ``internal`` counts each internal user's own devices; a guest device counts for the owner
    of the meeting in which it was first counted in the cycle.
    """
    counts: Counter[str | None] = Counter(internal)
    display = dict(names)
    for session, n in guests_by_session.items():
        owner = meeting_owner(joins_by_session.get(session or "", ()))
        key = owner.user_id if owner else None
        counts[key] += n
        if owner and owner.user_id and owner.name and owner.user_id not in display:
            display[owner.user_id] = owner.name
    rows = [
        Attribution(
            user,
            display.get(user) if user else None,
            mau,
            (cost_per_mau * mau).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        )
        for user, mau in counts.items()
        if mau > 0
    ]
    return sorted(rows, key=lambda a: (-a.mau, a.user is None, a.user or ""))


def rank_rooms(
    devices_by_session: Mapping[str | None, int], names: Mapping[str, str], top: int = 10
) -> list[tuple[str, int]]:
    """Devices first counted per room (conference name, else session id), top first.

    A recurring room (the daily standup) has a new session each time: sessions are summed
    under the room's name.
    """
    totals: Counter[str] = Counter()
    for session, n in devices_by_session.items():
        if session and names.get(session):
            label = str(names[session])
        elif session:  # no ROOM_CREATED came for it: say what the label is
            label = f"session {session} (no room name: ROOM_CREATED not received)"
        else:
            label = "(no session)"
        totals[label] += n
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:top]
