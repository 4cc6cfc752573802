"""Deliver the outbox: every due message once, temporary failures retried with backoff."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from meterwise.reconciler.mailer import Mailer, OutgoingEmail, PermanentFailure, TemporaryFailure
from meterwise.storage import Storage

BACKOFF_S = (60, 300, 900, 3600, 3600 * 4)
CLAIM_S = 120


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one outbox message in a delivery pass."""

    key: str
    subject: str
    status: str
    error: str | None = None


def queued(message: OutgoingEmail) -> tuple[str, tuple[str, ...], str, str, str]:
    """The message as the outbox stores it."""
    return message.key, tuple(message.to), message.subject, message.text, message.html


def deliver(
    store: Storage,
    mailer: Mailer,
    clock: Callable[[], float] = time.time,
    keep_going: Callable[[], bool] = lambda: True,
) -> list[Delivery]:
    """Send every due message once; retry temporary failures with backoff.

    Every time here is the real clock's (``clock``), never a pass's ``--at``: due times,
    claims and retry times. A retry time further ahead than the longest backoff was written
    under a wrong clock and counts as due. ``keep_going`` is asked before each message (the
    scheduler renews its lease there) and stops the pass when it answers False. Each message
    is claimed when it is about to be sent (not when the pass began): a second process
    delivering meanwhile claims nothing.
    """
    done = []
    now_ms = int(clock() * 1000)
    for row_id, key, to, subject, text, html, attempts in store.due_messages(
        now_ms, now_ms + max(BACKOFF_S) * 1000
    ):
        if not keep_going():
            break
        now_ms = int(clock() * 1000)
        if not store.claim_message(row_id, now_ms, now_ms + CLAIM_S * 1000):
            continue
        message = OutgoingEmail(key, to, subject, text, html)
        try:
            if not message.to:
                raise PermanentFailure("no recipients (alert_emails is empty)")
            mailer.send(message)
        except TemporaryFailure as exc:
            delay = BACKOFF_S[min(attempts, len(BACKOFF_S) - 1)]
            store.mark_retry(row_id, int(clock() * 1000) + delay * 1000, str(exc))
            done.append(Delivery(key, subject, "retrying", str(exc)))
            continue
        except PermanentFailure as exc:
            store.mark_failed(row_id, str(exc))
            done.append(Delivery(key, subject, "failed", str(exc)))
            continue
        store.mark_sent(row_id, int(clock() * 1000))
        done.append(Delivery(key, subject, "sent"))
    return done
