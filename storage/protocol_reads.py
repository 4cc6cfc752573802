"""What a report, a check or an export reads from storage: one cycle's inputs.

A structural type (`typing.Protocol`) that every engine implements with its own SQL; the
reconciler's snapshot is typed against it, never against an engine's class.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from meterwise.storage.records import FiguresRow


class CycleInputs(Protocol):
    """Reads of one cycle: first sightings, activity, minutes, attribution, checks, and what
    was known at an instant."""

    # reads.py

    def activity_per_day(
        self, account: str, metric: str, start_ms: int, before_ms: int, days: int
    ) -> list[int]:
        """Sightings per day from the hourly activity table."""
        ...

    def has_activity(self, account: str, metric: str, start_ms: int, end_ms: int) -> bool:
        """True when any activity of ``metric`` was recorded in [start, end)."""
        ...

    def recordings(self, account: str, start_ms: int, end_ms: int) -> list[tuple[int, int | None]]:
        """(ts_ms, durationSec) of RECORDING_UPLOADED events in [start, end)."""
        ...

    def call_events(
        self, account: str, start_ms: int, end_ms: int
    ) -> list[tuple[str, str, str | None, str | None, int]]:
        """(kind, phase, session, participant, ts) of STARTED/ENDED halves in [start, end)."""
        ...

    def transcribed_sessions(
        self, account: str, start_ms: int, end_ms: int
    ) -> list[tuple[str, int]]:
        """(session, ts_ms) of TRANSCRIPTION_UPLOADED events in [start, end)."""
        ...

    def room_spans(
        self, account: str, sessions: Sequence[str]
    ) -> dict[str, tuple[int | None, int | None]]:
        """ROOM_CREATED to ROOM_DESTROYED per session."""
        ...

    def presence_spans(
        self, account: str, sessions: Sequence[str]
    ) -> dict[str, tuple[int | None, int | None]]:
        """First join to last leave per session (lobby excluded)."""
        ...

    def first_seen_groups(
        self,
        account: str,
        metric: str,
        cycle_start_ms: int,
        before_ms: int,
        cuts: Sequence[int],
    ) -> list[tuple[int, int, int]]:
        """One pass over a cycle's first sightings before ``before_ms``: how many per (cycle
        day, plan period); the period is how many of ``cuts`` (plan switches, ms) lie at or
        before the sighting."""
        ...

    def first_seen_by_session(
        self,
        account: str,
        metric: str,
        cycle_start_ms: int,
        before_ms: int,
        domains: Sequence[str],
    ) -> list[tuple[str | None, bool, int]]:
        """How many first sightings per (first session, internal or guest)."""
        ...

    def nth_first_seen_ms(
        self, account: str, metric: str, cycle_start_ms: int, n: int, from_ms: int, to_ms: int
    ) -> int | None:
        """When the n-th (1-based) entity first seen in [from, to) of the cycle was seen."""
        ...

    def internal_by_user(
        self,
        account: str,
        metric: str,
        cycle_start_ms: int,
        before_ms: int,
        domains: Sequence[str],
    ) -> dict[str, int]:
        """Internal devices first seen in the cycle, per user."""
        ...

    def meeting_joins(
        self, account: str, sessions: Sequence[str]
    ) -> dict[str, list[tuple[int, str | None, str | None, bool]]]:
        """(ts, user, name, moderator) of every join (lobby excluded) of these sessions."""
        ...

    def display_names(self, account: str) -> dict[str, str]:
        """A display name per user id (any one the participant rows carry)."""
        ...

    def room_names(self, account: str, sessions: Sequence[str]) -> dict[str, str]:
        """The conference name of each session that had a ROOM_CREATED."""
        ...

    # extras.py

    def connection_events(
        self, account: str, start_ms: int, end_ms: int
    ) -> list[tuple[int, str, str, str | None, tuple[str, ...]]]:
        """(ts, uid, action, connection id, snapshot ids) of CometChat connection changes and
        snapshots in [start, end)."""
        ...

    def call_session_seconds(
        self, account: str, start_ms: int, end_ms: int
    ) -> list[tuple[int, float, float, float, bool]]:
        """(ts, voice participant s, video participant s, session s, audio only) per call."""
        ...

    def distinct_by_cycle(self, account: str, metric: str) -> list[tuple[int, int]]:
        """(cycle start ms, distinct count) for every stored cycle, oldest first."""
        ...

    def system_only_by_type(
        self, account: str, cycle_start_ms: int, start_ms: int, end_ms: int
    ) -> dict[str, int]:
        """Users active only through system-triggered events, per event type that made them."""
        ...

    def segments(self, account: str, start_ms: int, end_ms: int, prop: str) -> dict[str, int]:
        """Distinct users per value of an event property in [start, end)."""
        ...

    # checks.py

    def joined_per_session(self, account: str, start_ms: int, end_ms: int) -> dict[str, int]:
        """Distinct participants who joined (lobby excluded), per session, in [start, end)."""
        ...

    def sessions_with_usage(self, account: str, sessions: Sequence[str]) -> set[str]:
        """Which of ``sessions`` had a USAGE webhook."""
        ...

    def recording_events(
        self, account: str, start_ms: int, end_ms: int
    ) -> list[tuple[str, str | None, str | None, int]]:
        """(event type, recording or meeting session, meeting session, ts) in [start, end)."""
        ...

    def upload_events(
        self, account: str, start_ms: int, end_ms: int
    ) -> list[tuple[str, str | None, int]]:
        """(event type, session, ts) of transcription/chat uploads in [start, end)."""
        ...

    def hourly(self, account: str, metric: str, start_ms: int, end_ms: int) -> dict[int, int]:
        """Counts per hour (event time) of ``metric`` in [start, end)."""
        ...

    def delivery_counts(self, account: str, start_ms: int, end_ms: int) -> dict[str, int]:
        """Rejected and duplicate deliveries per reason in [start, end)."""
        ...

    def record_figures(
        self,
        account: str,
        cycle_start_ms: int,
        mau: int | None,
        total: str | None,
        lines_json: str,
        recorded_at_ms: int,
        note: str,
    ) -> None:
        """Store (or replace) what the provider said about a cycle."""
        ...

    def load_figures(self, account: str, cycle_start_ms: int) -> FiguresRow | None:
        """The provider's figures recorded for a cycle, if any."""
        ...

    # knowledge.py

    def record_observation(self, account: str, now_ms: int) -> None:
        """Note that observation of ``account`` began now, unless it began earlier (events
        stored by an earlier release count as observed from the first of them)."""
        ...

    def observed_since(self, account: str) -> int | None:
        """When observation of ``account`` began (None: unknown, treated as always)."""
        ...

    def known_at(self, known_ms: int | None) -> AbstractContextManager[None]:
        """Inside, reads see only what had been received at ``known_ms`` (None: everything)."""
        ...

    def closing_mailed_ms(self, account: str, cycle_start_ms: int) -> int | None:
        """When the closing report of a cycle was queued (None: not yet)."""
        ...

    def late_arrivals(
        self, account: str, start_ms: int, end_ms: int, after_ms: int, until_ms: int | None
    ) -> tuple[int, int | None, int | None]:
        """(count, first, last receipt) of events dated in [start, end) received after
        ``after_ms`` (and by ``until_ms`` when given)."""
        ...
