"""Deliver the outbox: every due message once, temporary failures retried with backoff."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from meterwise.config.accounts import Account
from meterwise.config.channels import Channel
from meterwise.reconciler.mailer import Mailer, OutgoingEmail, PermanentFailure, TemporaryFailure
from meterwise.reconciler.poster import Poster, RetryLater
from meterwise.storage import Storage

BACKOFF_S = (60, 300, 900, 3600, 3600 * 4)
CLAIM_S = 120
GIVE_UP_S = 72 * 3600  # a channel message still failing this long after it was queued fails


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one outbox message in a delivery pass."""

    key: str
    subject: str
    status: str
    error: str | None = None
    channel: str = "email"


def queued(message: OutgoingEmail) -> tuple[str, tuple[str, ...], str, str, str]:
    """The message as the outbox stores it."""
    return message.key, tuple(message.to), message.subject, message.text, message.html


def _send(
    message: OutgoingEmail,
    channel_id: str,
    account: str,
    mailer: Mailer,
    poster: Poster | None,
    channels: Mapping[tuple[str, str], Channel],
) -> None:
    """Hand one message to its channel; raise why it did not go."""
    if channel_id == "email":
        if not message.to:
            raise PermanentFailure("no recipients (alert_emails is empty)")
        mailer.send(message)
        return
    channel = channels.get((account, channel_id))
    if channel is None:
        raise PermanentFailure(f"{channel_id} is no longer a channel of {account}")
    if poster is None:
        raise TemporaryFailure("no HTTP sender in this process")
    poster.post(channel, message.key, message.text)


def deliver(
    store: Storage,
    mailer: Mailer,
    clock: Callable[[], float] = time.time,
    keep_going: Callable[[], bool] = lambda: True,
    poster: Poster | None = None,
    channels: Mapping[tuple[str, str], Channel] | None = None,
) -> list[Delivery]:
    """Send every due message once; retry temporary failures with backoff.

    Emails go to ``mailer``; a channel's rows (Slack, Teams, webhook) to ``poster``, looked
    up in ``channels`` by (account, channel ident). A receiver's ``Retry-After`` replaces the
    backoff; a channel message failing for ``GIVE_UP_S`` after it was queued fails for good.
    One channel's failure never holds up another's messages.

    Every time here is the real clock's (``clock``), never a pass's ``--at``: due times,
    claims and retry times. A retry time further ahead than the longest backoff was written
    under a wrong clock and counts as due. ``keep_going`` is asked before each message (the
    scheduler renews its lease there) and stops the pass when it answers False. Each message
    is claimed when it is about to be sent (not when the pass began): a second process
    delivering meanwhile claims nothing.
    """
    done = []
    now_ms = int(clock() * 1000)
    found = channels or {}
    for (
        row_id,
        key,
        to,
        subject,
        text,
        html,
        attempts,
        channel,
        created_ms,
        account,
    ) in store.due_messages(now_ms, now_ms + max(BACKOFF_S) * 1000):
        if not keep_going():
            break
        now_ms = int(clock() * 1000)
        if not store.claim_message(row_id, now_ms, now_ms + CLAIM_S * 1000):
            continue
        message = OutgoingEmail(key, to, subject, text, html)
        try:
            _send(message, channel, account, mailer, poster, found)
        except TemporaryFailure as exc:
            delay = BACKOFF_S[min(attempts, len(BACKOFF_S) - 1)]
            if isinstance(exc, RetryLater) and exc.after_s is not None:
                delay = exc.after_s
            at_ms = int(clock() * 1000)
            if channel != "email" and at_ms - created_ms >= GIVE_UP_S * 1000:
                error = f"{exc} (gave up after {GIVE_UP_S // 3600} h of retries)"
                store.mark_failed(row_id, error)
                done.append(Delivery(key, subject, "failed", error, channel))
                continue
            store.mark_retry(row_id, at_ms + delay * 1000, str(exc))
            done.append(Delivery(key, subject, "retrying", str(exc), channel))
            continue
        except PermanentFailure as exc:
            store.mark_failed(row_id, str(exc))
            done.append(Delivery(key, subject, "failed", str(exc), channel))
            continue
        store.mark_sent(row_id, int(clock() * 1000))
        done.append(Delivery(key, subject, "sent", None, channel))
    return done


def channel_map(accounts: Mapping[str, Account]) -> dict[tuple[str, str], Channel]:
    """(account, channel ident) -> channel, for every configured account."""
    return {(a.id, c.ident): c for a in accounts.values() for c in a.alert_channels}
