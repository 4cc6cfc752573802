"""Alert state, the outbox and leases in PostgreSQL: exactly-once alerting across hosts.

The same semantics as SQLite's `outbox.py`: the alert state's primary key makes a pass's
queueing exactly once (two hosts racing both try; one inserts); a claim is a conditional
UPDATE, so one host sends a message; the lease is an upsert guarded by holder and expiry.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections.abc import Sequence
from typing import Any

import psycopg

from meterwise.storage.postgres.base import PgBase
from meterwise.storage.records import AlertKey, ChannelRow, DueMessage

_OUTBOX = (
    "INSERT INTO outbox (key, account, created_at_ms, recipients, subject, text_body, "
    "html_body, status, next_attempt_ms, channel) VALUES (%s, %s, %s, %s, %s, %s, %s, "
    "'pending', %s, %s) ON CONFLICT (key) DO NOTHING"
)


class PgOutboxOps(PgBase):
    """What fired, what is queued, what was sent; who runs the scheduler."""

    def fired_keys(self, account: str, cycle_start_ms: int) -> dict[AlertKey, int]:
        """What has fired in this cycle: (metric, rule, level) -> fired_at_ms."""
        return {
            (m, r, lvl): int(at)
            for m, r, lvl, at in self._rows(
                "SELECT metric, rule, level, fired_at_ms FROM alert_state WHERE account = %s "
                "AND cycle_start_ms = %s",
                (account, cycle_start_ms),
            )
        }

    def rearm(self, account: str, cycle_start_ms: int, keys: Sequence[AlertKey]) -> None:
        """Forget that these alerts fired (their finding cleared): the next one warns again."""
        if keys:
            with self._transaction() as conn, conn.cursor() as cur:
                cur.executemany(
                    "DELETE FROM alert_state WHERE account = %s AND cycle_start_ms = %s AND "
                    "metric = %s AND rule = %s AND level = %s",
                    [(account, cycle_start_ms, *k) for k in keys],
                )

    def record_and_queue(
        self,
        account: str,
        cycle_start_ms: int,
        keys: Sequence[AlertKey],
        message: tuple[str, Sequence[str], str, str, str],
        now_ms: int,
        channels: Sequence[ChannelRow] = (),
    ) -> bool:
        """In one transaction: mark the alerts fired and queue their email and one row per
        channel. False when another pass (on any host) already did."""
        key, to, subject, text, html = message
        with self._transaction() as conn:
            inserted = 0
            for metric, rule, level in keys:
                inserted += conn.execute(
                    "INSERT INTO alert_state VALUES (%s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    (account, cycle_start_ms, metric, rule, level, now_ms, key),
                ).rowcount
            if inserted == 0:
                return False
            rows = [
                (key, account, now_ms, json.dumps(list(to)), subject, text, html, now_ms, "email")
            ]
            rows += [
                (k, account, now_ms, "[]", sub, body, "", now_ms, ch)
                for k, ch, sub, body in channels
            ]
            with conn.cursor() as cur:
                cur.executemany(_OUTBOX, rows)
        return True

    def due_messages(self, now_ms: int, horizon_ms: int) -> list[DueMessage]:
        """Pending messages due by ``now_ms``, or dated past ``horizon_ms`` (a wrong clock)."""
        return [
            (int(i), k, tuple(json.loads(r)), s, t, h, int(a), ch, int(c), acc)
            for i, k, r, s, t, h, a, ch, c, acc in self._rows(
                "SELECT id, key, recipients, subject, text_body, html_body, attempts, channel, "
                "created_at_ms, account FROM outbox WHERE status = 'pending' AND "
                "(next_attempt_ms <= %s OR next_attempt_ms > %s) ORDER BY id",
                (now_ms, horizon_ms),
            )
        ]

    def claim_message(self, row_id: int, now_ms: int, until_ms: int) -> bool:
        """Claim a pending message until ``until_ms``; False when another process holds it."""
        return bool(
            self._exec(
                "UPDATE outbox SET claimed_until_ms = %s WHERE id = %s AND status = 'pending' "
                "AND (claimed_until_ms <= %s OR claimed_until_ms > %s)",
                (until_ms, row_id, now_ms, until_ms),
            )
        )

    def mark_retry(self, row_id: int, next_ms: int, error: str) -> None:
        """A temporary failure: try again at ``next_ms``."""
        self._exec(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = %s, "
            "claimed_until_ms = 0, last_error = %s WHERE id = %s",
            (next_ms, error, row_id),
        )

    def mark_failed(self, row_id: int, error: str) -> None:
        """A permanent failure: never sent, shown to the operator."""
        self._exec(
            "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = %s "
            "WHERE id = %s",
            (error, row_id),
        )

    def mark_sent(self, row_id: int, now_ms: int) -> None:
        """Delivered."""
        self._exec(
            "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at_ms = %s, "
            "last_error = NULL WHERE id = %s",
            (now_ms, row_id),
        )

    def outbox_counts(self) -> dict[tuple[str, str], int]:
        """Messages per (channel kind, status)."""
        rows = self._rows(
            "SELECT split_part(channel, ':', 1), status, count(*) FROM outbox GROUP BY 1, 2"
        )
        return {(k, s): int(n) for k, s, n in rows}

    def failed_messages(self) -> list[tuple[str, str, str, str]]:
        """(account, channel, subject, last error) of permanently failed messages."""
        return [
            (a, c, s, e)
            for a, c, s, e in self._rows(
                "SELECT account, channel, subject, last_error FROM outbox WHERE status = "
                "'failed' ORDER BY id"
            )
        ]

    def acquire_lease(self, name: str, holder: str, now_ms: int, ttl_s: int) -> bool:
        """Take or renew the named lease; False while another holder's lease is live.

        As on SQLite, the lease row decides (a holder that hangs loses it after ``ttl_s``).
        On PostgreSQL a holder also keeps a session holding an advisory lock named after
        it; when that session is gone (its process died), the lease is taken over at once,
        at the standby's next tick, instead of after the lease runs out."""
        row = self._one("SELECT holder, expires_ms FROM leases WHERE name = %s", (name,))
        takeover = ""
        if row is not None and row[0] != holder and int(row[1]) > now_ms and _gone(self, row[0]):
            takeover = " OR leases.holder = %s"
        params: tuple[object, ...] = (name, holder, now_ms + ttl_s * 1000, now_ms)
        if takeover:
            params += (row[0],)  # type: ignore[index]
        taken = self._exec(
            "INSERT INTO leases (name, holder, expires_ms) VALUES (%s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
            "expires_ms = excluded.expires_ms WHERE leases.holder = excluded.holder "
            f"OR leases.expires_ms <= %s OR leases.expires_ms > excluded.expires_ms{takeover}",
            params,
        )
        if taken:
            _hold(self, holder)
        return bool(taken)

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up at once (on a clean stop)."""
        self._exec(
            "UPDATE leases SET expires_ms = 0 WHERE name = %s AND holder = %s", (name, holder)
        )
        _drop(self, holder)

    def last_run_ms(self, name: str) -> int:
        """When the lease's job last completed (0 if never)."""
        row = self._one("SELECT last_run_ms FROM leases WHERE name = %s", (name,))
        return int(row[0]) if row else 0

    def mark_run(self, name: str, now_ms: int) -> None:
        """Record a completed run."""
        self._exec("UPDATE leases SET last_run_ms = %s WHERE name = %s", (now_ms, name))


# holder -> the session holding its liveness lock (one per holder in this process)
_alive: dict[tuple[int, str, str], psycopg.Connection[Any]] = {}
_alive_guard = threading.Lock()


@atexit.register
def _let_go() -> None:
    """Close the liveness sessions at exit (their locks would go with the process anyway)."""
    with _alive_guard:
        for conn in _alive.values():
            conn.close()
        _alive.clear()


def _key(holder: str) -> str:
    return f"meterwise-lease-holder:{holder}"


def _hold(store: PgOutboxOps, holder: str) -> None:
    """Keep a session holding ``holder``'s advisory lock for as long as this process lives."""
    url = getattr(store, "url", "")
    key = (os.getpid(), url, holder)
    with _alive_guard:
        conn = _alive.get(key)
        if conn is not None and not conn.closed and not conn.broken:
            return
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (_key(holder),))
        except psycopg.Error:
            return  # no liveness lock: the lease row's expiry still applies
        _alive[key] = conn


def _drop(store: PgOutboxOps, holder: str) -> None:
    with _alive_guard:
        conn = _alive.pop((os.getpid(), getattr(store, "url", ""), holder), None)
    if conn is not None:
        conn.close()


def _gone(store: PgOutboxOps, holder: str) -> bool:
    """True when ``holder``'s liveness lock is free (its session, so its process, is gone):
    tried from another session and let go at once."""
    try:
        with store.pool.connection() as conn:
            row = conn.execute(
                "SELECT pg_try_advisory_lock(hashtext(%s))", (_key(holder),)
            ).fetchone()
            free = bool(row and row[0])
            if free:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (_key(holder),))
    except psycopg.Error:
        return False
    return free
