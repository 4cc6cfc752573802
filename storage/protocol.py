"""The storage layer's interface: every named operation, whatever the engine.

`Storage` is a structural type (`typing.Protocol`); `SqliteStorage` implements it today and
mypy checks that it does (`storage/__init__.py`). A second engine is a second class with the
same methods and its own SQL. Callers outside `storage/` are typed against `Storage` only, so
nothing reaches past it to a connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from meterwise.storage.protocol_reads import CycleInputs
from meterwise.storage.records import (
    AlertKey,
    ChannelRow,
    CycleOf,
    DueMessage,
    MessageRow,
    Parsed,
    Reparse,
)


class Storage(CycleInputs, Protocol):
    """Every storage operation: deliveries in, the fold, alert state and the outbox, leases,
    maintenance, the dashboard's sessions."""

    engine: str

    # ingest.py

    def store_delivery(
        self, account: str, provider: str, events: Sequence[Parsed], received_at_ms: int
    ) -> list[int]:
        """Store a delivery atomically; return the ids of new events ([] when all are
        duplicates). Returns only after COMMIT, and after checking that the file committed to is
        still the one being served; raises `StorageUnavailable` (retry later) or
        `UnstorableValue` (the input cannot be held)."""
        ...

    def check_file(self) -> None:
        """Raise `StorageUnavailable` when the file was removed, replaced or corrupted."""
        ...

    def is_stored(self, account: str, idempotency_key: str) -> bool:
        """True when this account already stored an event with this key."""
        ...

    def count_delivery(self, account: str, reason: str, now_ms: int) -> None:
        """Log a rejected or duplicate delivery for ``reason`` (an insert: the fold adds it to
        the hourly counts; a diagnostic, so a failure to log never changes the answer)."""
        ...

    # fold.py

    def pending_folds(self, accounts: Iterable[str] | None = None) -> int:
        """Events stored but not yet folded (of ``accounts``, or of all)."""
        ...

    def fold(self, cycles: Mapping[str, CycleOf], batch: int = 5000) -> int:
        """Fold up to ``batch`` queued events of each account in ``cycles`` (account -> its
        cycle function); return how many were folded. Events of accounts not given stay
        queued."""
        ...

    # outbox.py

    def fired_keys(self, account: str, cycle_start_ms: int) -> dict[AlertKey, int]:
        """What has fired in this cycle: (metric, rule, level) -> fired_at_ms."""
        ...

    def rearm(self, account: str, cycle_start_ms: int, keys: Sequence[AlertKey]) -> None:
        """Forget that these alerts fired (their finding cleared): the next one warns again."""
        ...

    def record_and_queue(
        self,
        account: str,
        cycle_start_ms: int,
        keys: Sequence[AlertKey],
        message: tuple[str, Sequence[str], str, str, str],
        now_ms: int,
        channels: Sequence[ChannelRow] = (),
    ) -> bool:
        """In one transaction: mark the alerts fired and queue their email (key, recipients,
        subject, text, html) and one row per channel. False when another pass already did (the
        alert state's primary key makes this exactly once)."""
        ...

    def due_messages(self, now_ms: int, horizon_ms: int) -> list[DueMessage]:
        """Pending messages due by ``now_ms``, or dated past ``horizon_ms`` (a wrong clock)."""
        ...

    def claim_message(self, row_id: int, now_ms: int, until_ms: int) -> bool:
        """Claim a pending message until ``until_ms``; False when another process holds it. A
        claim beyond ``until_ms`` was written under a wrong clock and counts as expired."""
        ...

    def mark_retry(self, row_id: int, next_ms: int, error: str) -> None:
        """A temporary failure: try again at ``next_ms``."""
        ...

    def mark_failed(self, row_id: int, error: str) -> None:
        """A permanent failure: never sent, shown to the operator."""
        ...

    def mark_sent(self, row_id: int, now_ms: int) -> None:
        """Delivered."""
        ...

    def outbox_counts(self) -> dict[tuple[str, str], int]:
        """Messages per (channel kind: email, slack, teams, webhook; status: pending, sent,
        failed)."""
        ...

    def failed_messages(self) -> list[tuple[str, str, str, str]]:
        """(account, channel, subject, last error) of permanently failed messages."""
        ...

    def acquire_lease(self, name: str, holder: str, now_ms: int, ttl_s: int) -> bool:
        """Take or renew the named lease; False while another holder's lease is live."""
        ...

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up at once (on a clean stop)."""
        ...

    def last_run_ms(self, name: str) -> int:
        """When the lease's job last completed (0 if never)."""
        ...

    def mark_run(self, name: str, now_ms: int) -> None:
        """Record a completed run."""
        ...

    # admin.py

    def purge(self, account: str, before_ms: int, now_ms: int) -> int:
        """Purge ``account``'s personal data dated before ``before_ms``; return events
        touched."""
        ...

    def purged_before(self, account: str) -> int:
        """Events dated before this (epoch ms) have been purged (0: none)."""
        ...

    def rebuild_derived(
        self, account: str, reparse: Reparse, cycle_of: CycleOf, batch: int = 5000
    ) -> tuple[int, int]:
        """Recompute the sightings and the aggregates (first sightings, hourly activity and
        USAGE sessions) of ``account`` from its stored bodies, in one transaction; replayed
        events leave the fold queue. Return (events replayed, first-seen rows)."""
        ...

    def probe_write(self) -> None:
        """Commit a real write (a heartbeat row), so a full disk or read-only file shows."""
        ...

    def first_sightings(
        self, account: str, metric: str, cycle_start_ms: int, before_ms: int
    ) -> Iterator[tuple[str, int, str | None, str | None, str | None]]:
        """(entity, first ts, session, user, email) of a cycle, oldest first."""
        ...

    # dashboard.py

    def open_session(self, sid_hash: str, user: str, now_ms: int, expires_ms: int) -> None:
        """Record a new session (and forget expired ones)."""
        ...

    def session_user(self, sid_hash: str, now_ms: int) -> str | None:
        """Who a live session belongs to (None: unknown, signed out or expired)."""
        ...

    def close_session(self, sid_hash: str) -> None:
        """End a session (sign-out)."""
        ...

    def record_login_failure(self, keys: Sequence[str], now_ms: int, keep_ms: int) -> None:
        """Count a failed sign-in against each key (a name, an address)."""
        ...

    def login_failures(self, key: str, since_ms: int) -> tuple[int, int | None]:
        """(count, oldest ms) of failed sign-ins against ``key`` since ``since_ms``."""
        ...

    def clear_login_failures(self, key: str) -> None:
        """Forget the failures of ``key`` (its owner signed in)."""
        ...

    def last_received(self) -> dict[str, int]:
        """When each account's newest stored event was received (ms; folded events)."""
        ...

    def cycle_messages(self, account: str, cycle_start_ms: int) -> list[MessageRow]:
        """The messages queued for a cycle's alerts, oldest first, with what fired them."""
        ...

    # sqlite.py

    def close(self) -> None:
        """"""
        ...

    def health(self, min_free_mb: int) -> str | None:
        """Why a delivery could not be kept now, or None: the file is the one opened, a write
        commits, and the filesystem has ``min_free_mb`` free."""
        ...
