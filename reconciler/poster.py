"""POSTing a channel's message: Slack and Teams webhooks, and Standard Webhooks-signed
endpoints. The HTTP edge of alerting (requests); what each answer means is decided here.

2xx is delivered. 408, 429, 5xx, timeouts and connection errors are temporary (a 429's or
503's ``Retry-After`` says when to try again); any other answer is permanent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol

import requests

from meterwise.config.channels import Channel
from meterwise.config.providers import standard_signature
from meterwise.reconciler.mailer import PermanentFailure, TemporaryFailure

MAX_RETRY_AFTER_S = 24 * 3600
USER_AGENT = "Meterwise-alerts/1"


class RetryLater(TemporaryFailure):
    """A temporary failure with the receiver's own ``Retry-After`` (seconds)."""

    def __init__(self, message: str, after_s: int | None) -> None:
        super().__init__(message)
        self.after_s = after_s


def retry_after_s(value: str | None, now: float) -> int | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), capped at a
    day; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(int(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0, min(int(when - now), MAX_RETRY_AFTER_S))


def signed_headers(channel: Channel, msg_id: str, body: bytes, now: float) -> dict[str, str]:
    """The Standard Webhooks headers: ``webhook-id`` (the outbox key, the same on every
    attempt), ``webhook-timestamp`` (this attempt) and ``webhook-signature``."""
    timestamp = str(int(now))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": standard_signature(channel.secret or "", msg_id, timestamp, body),
    }


class Poster(Protocol):
    """Anything that can deliver one channel message or raise why not."""

    def post(self, channel: Channel, msg_id: str, body: str) -> None:
        """Deliver, or raise `TemporaryFailure` (`RetryLater`) / `PermanentFailure`."""


@dataclass
class HttpPoster:
    """POST with requests; a session per poster (keep-alive across a pass)."""

    timeout_s: float = 10.0
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.session = requests.Session()

    def post(self, channel: Channel, msg_id: str, body: str) -> None:
        """POST ``body`` to the channel; classify the answer."""
        data = body.encode()
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if channel.kind == "webhook":
            headers.update(signed_headers(channel, msg_id, data, self.clock()))
        try:
            answer = self.session.post(
                channel.url,
                data=data,
                headers=headers,
                timeout=self.timeout_s,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise RetryLater(
                f"{channel.kind}: no answer within {self.timeout_s:g} s", None
            ) from None
        except requests.RequestException as exc:
            raise RetryLater(
                f"{channel.kind}: cannot connect: {type(exc).__name__}", None
            ) from None
        status = answer.status_code
        if 200 <= status < 300:
            return
        detail = f"{channel.kind}: HTTP {status} {answer.reason or ''}".rstrip()
        if status in (408, 429) or status >= 500:
            wait = retry_after_s(answer.headers.get("Retry-After"), self.clock())
            raise RetryLater(detail, wait)
        raise PermanentFailure(detail + " (not retried)")
