"""One cycle's stored inputs, read in one place into frozen values (the only reads of a
report; the providers' part is in `provider_inputs.py`). `compute_report` is "load a
snapshot, then compute": nothing reads in the middle."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from meterwise.config.settings import Account
from meterwise.reconciler.addons import JaasInputs
from meterwise.reconciler.attribution import Join, rank_rooms
from meterwise.reconciler.calendar_view import CalendarInputs
from meterwise.reconciler.checks import DAY_MS
from meterwise.reconciler.cometchat import CometChatInputs
from meterwise.reconciler.consistency import CheckInputs, figures_from
from meterwise.reconciler.cycles import from_ms, to_ms
from meterwise.reconciler.distinct import DistinctInputs
from meterwise.reconciler.frame import Frame
from meterwise.reconciler.models import BillingCycle, ProviderFigures
from meterwise.reconciler.provider_inputs import (
    calendar_inputs,
    checks_inputs,
    cometchat_inputs,
    jaas_inputs,
)
from meterwise.storage import Storage

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who brought the cycle's devices: internal users, guests per session, joins, names."""

    internal: Mapping[str, int]
    guests: Mapping[str | None, int]
    joins: Mapping[str, tuple[Join, ...]]
    names: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything stored that one report of one cycle needs, as known at one instant."""

    frame: Frame
    distinct: tuple[DistinctInputs, ...]
    jaas: JaasInputs | None
    cometchat: CometChatInputs | None
    calendar: CalendarInputs | None
    attribution: Attribution | None
    checks: CheckInputs
    figures: ProviderFigures | None
    rooms: tuple[tuple[str, int], ...]
    observed_since_ms: int | None


def _history(
    store: Storage, account: Account, metric: str, previous: BillingCycle
) -> tuple[tuple[float, int], ...]:
    start_ms, end_ms = to_ms(previous.start), to_ms(previous.end)
    if not store.has_activity(account.id, metric, start_ms, end_ms):
        return ()
    days = math.ceil((previous.end - previous.start) / DAY)
    counts = store.activity_per_day(account.id, metric, start_ms, end_ms, days)
    return tuple(
        (float(n), (previous.start + i * DAY).astimezone(account.tz).weekday())
        for i, n in enumerate(counts)
    )


def _history_new(
    store: Storage, account: Account, metric: str, frame: Frame, since: int | None
) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """(weekday of its first day, new entities per day) of each earlier cycle that was
    observed from its start (``since``: when observation began), the most recent first."""
    out = []
    for earlier in frame.earlier:
        start_ms, end_ms = to_ms(earlier.start), to_ms(earlier.end)
        if since is not None and since > start_ms:
            break  # Meterwise was not listening yet: a partial cycle would mislead
        days = math.ceil((earlier.end - earlier.start) / DAY)
        per_day = [0] * days
        for d, _, n in store.first_seen_groups(account.id, metric, start_ms, end_ms, []):
            if 0 <= d < days:
                per_day[d] += n
        if not any(per_day):
            break
        out.append((earlier.start.astimezone(account.tz).weekday(), tuple(per_day)))
    return tuple(out)


Groups = list[tuple[int, int, int]]  # (cycle day, plan period, first sightings)
Sessions = list[tuple[str | None, bool, int]]  # (first session, internal, first sightings)


def _crossed(
    store: Storage, account: Account, frame: Frame, metric: str, groups: Groups, n: int
) -> int | None:
    """When the n-th entity was first seen: its day from the groups, then that day's rows."""
    per_day: Counter[int] = Counter()
    for d, _, count in groups:
        per_day[d] += count
    seen = 0
    for d in sorted(per_day):
        if seen + per_day[d] >= n:
            day_ms = frame.start_ms + d * DAY_MS
            end_ms = min(day_ms + DAY_MS, frame.eval_ms)
            return store.nth_first_seen_ms(
                account.id, metric, frame.start_ms, n - seen, day_ms, end_ms
            )
        seen += per_day[d]
    return None


def _distinct(
    store: Storage, account: Account, frame: Frame, metric: str, since: int | None
) -> DistinctInputs:
    """A distinct metric's inputs from one pass over its first sightings (and, past the
    allowance, one day's rows for the crossing)."""
    start_ms, eval_ms, days = frame.start_ms, frame.eval_ms, frame.days
    cuts = sorted({min(to_ms(p.end), eval_ms) for p in frame.periods})
    groups = store.first_seen_groups(account.id, metric, start_ms, eval_ms, cuts)
    used = sum(n for *_, n in groups)
    counts = {c: sum(n for _, b, n in groups if b <= k) for k, c in enumerate(cuts)}
    new = [0] * days
    for d, _, n in groups:
        if 0 <= d < days:
            new[d] += n
    allowance = frame.plan.allowance(metric) if frame.plan else None
    crossed = None
    if allowance is not None and used > allowance:
        crossed = _crossed(store, account, frame, metric, groups, allowance + 1)
    running = frame.eval_at < frame.cycle.end
    return DistinctInputs(
        metric,
        used,
        counts,
        crossed,
        tuple(new),
        tuple(store.activity_per_day(account.id, metric, start_ms, eval_ms, days))
        if running
        else (),
        _history(store, account, metric, frame.previous) if running else (),
        _history_new(store, account, metric, frame, since) if running else (),
    )


def _attribution(store: Storage, account: Account, frame: Frame, mau: Sessions) -> Attribution:
    guests: Counter[str | None] = Counter()
    for session, internal, n in mau:
        if not internal:
            guests[session] += n
    internal_users = store.internal_by_user(
        account.id, "mau", frame.start_ms, frame.eval_ms, account.internal_email_domains
    )
    joins = store.meeting_joins(account.id, [s for s in guests if s])
    meetings = {s: tuple(Join(*j) for j in js) for s, js in joins.items()}
    return Attribution(internal_users, dict(guests), meetings, store.display_names(account.id))


def _rooms(store: Storage, account: Account, mau: Sessions) -> tuple[tuple[str, int], ...]:
    by_session: Counter[str | None] = Counter()
    for session, _, n in mau:
        by_session[session] += n
    names = store.room_names(account.id, [s for s in by_session if s])
    return tuple(rank_rooms(by_session, names))


def load_snapshot(
    store: Storage, account: Account, frame: Frame, segment: str | None, known_ms: int | None
) -> Snapshot:
    """Read one cycle's inputs as known at ``known_ms`` (None: everything stored)."""
    hooks = frame.hooks
    with store.known_at(known_ms):
        mau = store.first_seen_by_session(  # one pass for attribution and rooms
            account.id, "mau", frame.start_ms, frame.eval_ms, account.internal_email_domains
        )
        since = store.observed_since(account.id)
        return Snapshot(
            frame=frame,
            distinct=tuple(_distinct(store, account, frame, m, since) for m in hooks.distinct),
            jaas=jaas_inputs(store, account, frame) if hooks.inputs == "jaas" else None,
            cometchat=cometchat_inputs(store, account, frame)
            if hooks.inputs == "cometchat"
            else None,
            calendar=calendar_inputs(store, account, frame, segment)
            if hooks.inputs == "calendar"
            else None,
            attribution=_attribution(store, account, frame, mau)
            if hooks.attribution and frame.plan is not None
            else None,
            checks=checks_inputs(store, account, frame),
            figures=figures_from(store.load_figures(account.id, frame.start_ms)),
            rooms=_rooms(store, account, mau),
            observed_since_ms=since,
        )


@dataclass(frozen=True, slots=True)
class Frozen:
    """A closed cycle whose closing report was mailed: the snapshot as known then, and the
    late arrivals since (count, first and last receipt)."""

    mailed_ms: int
    snapshot: Snapshot
    late: tuple[int, int | None, int | None]


def load_frozen(
    store: Storage, account: Account, frame: Frame, segment: str | None, horizon: int | None
) -> Frozen | None:
    """What a closed cycle's closing report saw, when it was mailed before ``horizon``."""
    if not frame.closed:
        return None
    mailed = store.closing_mailed_ms(account.id, frame.start_ms)
    if mailed is None or (horizon is not None and horizon <= mailed):
        return None
    late = store.late_arrivals(account.id, frame.start_ms, to_ms(frame.cycle.end), mailed, horizon)
    return Frozen(mailed, load_snapshot(store, account, frame, segment, mailed), late)


def observed_since(snapshot: Snapshot) -> datetime | None:
    """When observation began, if after the cycle started (a partly observed cycle)."""
    ms = snapshot.observed_since_ms
    return None if ms is None or ms <= snapshot.frame.start_ms else from_ms(ms)
