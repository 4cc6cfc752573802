"""Alert state, the email outbox and leases: the SQL behind exactly-once alerting."""

from __future__ import annotations

import json
from collections.abc import Sequence

from meterwise.storage.records import AlertKey, ChannelRow, DueMessage
from meterwise.storage.sqlite.base import SqliteBase


class OutboxOps(SqliteBase):
    """What fired, what is queued, what was sent; who runs the scheduler."""

    def fired_keys(self, account: str, cycle_start_ms: int) -> dict[AlertKey, int]:
        """What has fired in this cycle: (metric, rule, level) -> fired_at_ms."""
        return {
            (m, r, lvl): int(at)
            for m, r, lvl, at in self._rows(
                "SELECT metric, rule, level, fired_at_ms FROM alert_state WHERE account = ? AND "
                "cycle_start_ms = ?",
                (account, cycle_start_ms),
            )
        }

    def rearm(self, account: str, cycle_start_ms: int, keys: Sequence[AlertKey]) -> None:
        """Forget that these alerts fired (their finding cleared): the next one warns again."""
        if keys:
            self.conn.executemany(
                "DELETE FROM alert_state WHERE account = ? AND cycle_start_ms = ? AND "
                "metric = ? AND rule = ? AND level = ?",
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
        """In one transaction: mark the alerts fired and queue their email (key, recipients,
        subject, text, html) and one row per channel. False when another pass already did
        (the alert state's primary key makes this exactly once)."""
        key, to, subject, text, html = message
        with self._transaction() as conn:
            inserted = 0
            for metric, rule, level in keys:
                inserted += conn.execute(
                    "INSERT INTO alert_state VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (account, cycle_start_ms, metric, rule, level, now_ms, key),
                ).rowcount
            if inserted == 0:
                return False  # nothing written: the COMMIT of an empty transaction
            conn.execute(
                "INSERT INTO outbox (key, account, created_at_ms, recipients, subject, "
                "text_body, html_body, status, next_attempt_ms) VALUES (?, ?, ?, ?, ?, ?, ?, "
                "'pending', ?) ON CONFLICT (key) DO NOTHING",
                (key, account, now_ms, json.dumps(list(to)), subject, text, html, now_ms),
            )
            conn.executemany(
                "INSERT INTO outbox (key, account, created_at_ms, recipients, subject, "
                "text_body, html_body, status, next_attempt_ms, channel) VALUES (?, ?, ?, '[]', "
                "?, ?, '', 'pending', ?, ?) ON CONFLICT (key) DO NOTHING",
                [(k, account, now_ms, sub, body, now_ms, ch) for k, ch, sub, body in channels],
            )
        return True

    def due_messages(self, now_ms: int, horizon_ms: int) -> list[DueMessage]:
        """Pending messages due by ``now_ms``, or dated past ``horizon_ms`` (a wrong clock)."""
        return [
            (int(i), k, tuple(json.loads(r)), s, t, h, int(a), ch, int(c), acc)
            for i, k, r, s, t, h, a, ch, c, acc in self._rows(
                "SELECT id, key, recipients, subject, text_body, html_body, attempts, channel, "
                "created_at_ms, account FROM outbox WHERE status = 'pending' AND "
                "(next_attempt_ms <= ? OR next_attempt_ms > ?) ORDER BY id",
                (now_ms, horizon_ms),
            )
        ]

    def claim_message(self, row_id: int, now_ms: int, until_ms: int) -> bool:
        """Claim a pending message until ``until_ms``; False when another process holds it.
        A claim beyond ``until_ms`` was written under a wrong clock and counts as expired."""
        cur = self.conn.execute(
            "UPDATE outbox SET claimed_until_ms = ? WHERE id = ? AND status = 'pending' AND "
            "(claimed_until_ms <= ? OR claimed_until_ms > ?)",
            (until_ms, row_id, now_ms, until_ms),
        )
        return bool(cur.rowcount)

    def mark_retry(self, row_id: int, next_ms: int, error: str) -> None:
        """A temporary failure: try again at ``next_ms``."""
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?, "
            "claimed_until_ms = 0, last_error = ? WHERE id = ?",
            (next_ms, error, row_id),
        )

    def mark_failed(self, row_id: int, error: str) -> None:
        """A permanent failure: never sent, shown to the operator."""
        self.conn.execute(
            "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? "
            "WHERE id = ?",
            (error, row_id),
        )

    def mark_sent(self, row_id: int, now_ms: int) -> None:
        """Delivered."""
        self.conn.execute(
            "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at_ms = ?, "
            "last_error = NULL WHERE id = ?",
            (now_ms, row_id),
        )

    def outbox_counts(self) -> dict[tuple[str, str], int]:
        """Messages per (channel kind: email, slack, teams, webhook; status: pending, sent,
        failed)."""
        rows = self._rows(
            "SELECT CASE WHEN instr(channel, ':') > 0 THEN substr(channel, 1, "
            "instr(channel, ':') - 1) ELSE channel END, status, count(*) FROM outbox "
            "GROUP BY 1, 2"
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
        """Take or renew the named lease; False while another holder's lease is live."""
        # A lease further ahead than one ttl was taken under a wrong clock: take it over.
        cur = self.conn.execute(
            "INSERT INTO leases (name, holder, expires_ms) VALUES (?, ?, ?) ON CONFLICT (name) "
            "DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms "
            "WHERE leases.holder = excluded.holder OR leases.expires_ms <= ? "
            "OR leases.expires_ms > excluded.expires_ms",
            (name, holder, now_ms + ttl_s * 1000, now_ms),
        )
        return bool(cur.rowcount)

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up at once (on a clean stop)."""
        self.conn.execute(
            "UPDATE leases SET expires_ms = 0 WHERE name = ? AND holder = ?", (name, holder)
        )

    def last_run_ms(self, name: str) -> int:
        """When the lease's job last completed (0 if never)."""
        row = self._one("SELECT last_run_ms FROM leases WHERE name = ?", (name,))
        return int(row[0]) if row else 0

    def mark_run(self, name: str, now_ms: int) -> None:
        """Record a completed run."""
        self.conn.execute("UPDATE leases SET last_run_ms = ? WHERE name = ?", (now_ms, name))
