"""Alert state, the email outbox and leases: the SQL behind exactly-once alerting."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meterwise.reconciler.mailer import Mailer, OutgoingEmail, PermanentFailure, TemporaryFailure

BACKOFF_S = (60, 300, 900, 3600, 3600 * 4)
CLAIM_S = 120


def fired_keys(db: Any, account: str, cycle_start_ms: int) -> dict[tuple[str, str, str], int]:
    """What has fired in this cycle: (metric, rule, level) -> fired_at_ms."""
    return {
        (m, r, lvl): int(at)
        for m, r, lvl, at in db.conn.execute(
            "SELECT metric, rule, level, fired_at_ms FROM alert_state WHERE account = ? AND "
            "cycle_start_ms = ?",
            (account, cycle_start_ms),
        )
    }


def rearm(db: Any, account: str, cycle_start_ms: int, keys: list[tuple[str, str, str]]) -> None:
    """Forget that these alerts fired (their finding cleared): the next finding warns again."""
    if keys:
        db.conn.executemany(
            "DELETE FROM alert_state WHERE account = ? AND cycle_start_ms = ? AND metric = ? "
            "AND rule = ? AND level = ?",
            [(account, cycle_start_ms, *k) for k in keys],
        )


def record_and_queue(
    db: Any,
    account: str,
    cycle_start_ms: int,
    keys: list[tuple[str, str, str]],
    message: OutgoingEmail,
    now_ms: int,
) -> bool:
    """In one transaction: mark the alerts fired and queue their email. False when another
    pass already did (the alert state's primary key makes this exactly once)."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        inserted = 0
        for metric, rule, level in keys:
            inserted += conn.execute(
                "INSERT INTO alert_state VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (account, cycle_start_ms, metric, rule, level, now_ms, message.key),
            ).rowcount
        if inserted == 0:
            conn.execute("ROLLBACK")
            return False
        conn.execute(
            "INSERT INTO outbox (key, account, created_at_ms, recipients, subject, text_body, "
            "html_body, status, next_attempt_ms) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?) "
            "ON CONFLICT (key) DO NOTHING",
            (
                message.key,
                account,
                now_ms,
                json.dumps(list(message.to)),
                message.subject,
                message.text,
                message.html,
                now_ms,
            ),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one outbox message in a delivery pass."""

    key: str
    subject: str
    status: str
    error: str | None = None


def _claim(db: Any, row_id: int, now_ms: int) -> bool:
    # Atomic claim, made when the message is about to be sent (not when the pass began): a
    # second process delivering meanwhile claims nothing. A claim further ahead than CLAIM_S
    # was written under a wrong clock and counts as expired.
    cur = db.conn.execute(
        "UPDATE outbox SET claimed_until_ms = ? WHERE id = ? AND status = 'pending' AND "
        "(claimed_until_ms <= ? OR claimed_until_ms > ?)",
        (now_ms + CLAIM_S * 1000, row_id, now_ms, now_ms + CLAIM_S * 1000),
    )
    return bool(cur.rowcount)


def deliver(
    db: Any,
    mailer: Mailer,
    clock: Callable[[], float] = time.time,
    keep_going: Callable[[], bool] = lambda: True,
) -> list[Delivery]:
    """Send every due message once; retry temporary failures with backoff.

    Every time here is the real clock's (``clock``), never a pass's ``--at``: due times,
    claims and retry times. A retry time further ahead than the longest backoff was written
    under a wrong clock and counts as due. ``keep_going`` is asked before each message (the
    scheduler renews its lease there) and stops the pass when it answers False.
    """
    done = []
    now_ms = int(clock() * 1000)
    rows = db.conn.execute(
        "SELECT id, key, recipients, subject, text_body, html_body, attempts FROM outbox "
        "WHERE status = 'pending' AND (next_attempt_ms <= ? OR next_attempt_ms > ?) ORDER BY id",
        (now_ms, now_ms + max(BACKOFF_S) * 1000),
    ).fetchall()
    for row_id, key, recipients, subject, text, html, attempts in rows:
        if not keep_going():
            break
        now_ms = int(clock() * 1000)
        if not _claim(db, row_id, now_ms):
            continue
        message = OutgoingEmail(key, tuple(json.loads(recipients)), subject, text, html)
        try:
            if not message.to:
                raise PermanentFailure("no recipients (alert_emails is empty)")
            mailer.send(message)
        except TemporaryFailure as exc:
            delay = BACKOFF_S[min(attempts, len(BACKOFF_S) - 1)]
            db.conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?, "
                "claimed_until_ms = 0, last_error = ? WHERE id = ?",
                (int(clock() * 1000) + delay * 1000, str(exc), row_id),
            )
            done.append(Delivery(key, subject, "retrying", str(exc)))
            continue
        except PermanentFailure as exc:
            db.conn.execute(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, "
                "last_error = ? WHERE id = ?",
                (str(exc), row_id),
            )
            done.append(Delivery(key, subject, "failed", str(exc)))
            continue
        db.conn.execute(
            "UPDATE outbox SET status = 'sent', attempts = attempts + 1, "
            "sent_at_ms = ?, last_error = NULL WHERE id = ?",
            (int(clock() * 1000), row_id),
        )
        done.append(Delivery(key, subject, "sent"))
    return done


def outbox_counts(db: Any) -> dict[str, int]:
    """Messages per status (pending, sent, failed)."""
    return {
        s: int(n) for s, n in db.conn.execute("SELECT status, count(*) FROM outbox GROUP BY status")
    }


def failed_messages(db: Any) -> list[tuple[str, str, str]]:
    """(account, subject, last error) of permanently failed messages."""
    return [
        tuple(r)
        for r in db.conn.execute(
            "SELECT account, subject, last_error FROM outbox WHERE status = 'failed' ORDER BY id"
        )
    ]


def acquire_lease(db: Any, name: str, holder: str, now_ms: int, ttl_s: int) -> bool:
    """Take or renew the named lease; False while another holder's lease is live."""
    # A lease further ahead than one ttl was taken under a wrong clock: take it over.
    cur = db.conn.execute(
        "INSERT INTO leases (name, holder, expires_ms) VALUES (?, ?, ?) ON CONFLICT (name) DO "
        "UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms "
        "WHERE leases.holder = excluded.holder OR leases.expires_ms <= ? "
        "OR leases.expires_ms > excluded.expires_ms",
        (name, holder, now_ms + ttl_s * 1000, now_ms),
    )
    return bool(cur.rowcount)


def release_lease(db: Any, name: str, holder: str) -> None:
    """Give the lease up at once (on a clean stop)."""
    db.conn.execute(
        "UPDATE leases SET expires_ms = 0 WHERE name = ? AND holder = ?", (name, holder)
    )


def last_run_ms(db: Any, name: str) -> int:
    """When the lease's job last completed (0 if never)."""
    row = db.conn.execute("SELECT last_run_ms FROM leases WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else 0


def mark_run(db: Any, name: str, now_ms: int) -> None:
    """Record a completed run."""
    db.conn.execute("UPDATE leases SET last_run_ms = ? WHERE name = ?", (now_ms, name))
