"""Sending email: a `Mailer` protocol, SMTP for real, memory for unit tests."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from typing import Protocol

from meterwise.config.settings import EmailSettings


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """A composed message: recipients, subject, text and HTML parts, idempotency key."""

    key: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str


class TemporaryFailure(Exception):
    """The server is down or refused for now (4xx): retry later."""


class PermanentFailure(Exception):
    """The server refused for good (5xx, no valid recipient): do not retry."""


class Mailer(Protocol):
    """Anything that can send an `OutgoingEmail`."""

    def send(self, message: OutgoingEmail) -> None:
        """Send or raise `TemporaryFailure` / `PermanentFailure`."""


def build_message(message: OutgoingEmail, sender: str) -> EmailMessage:
    """A multipart/alternative message with a Message-ID derived from the outbox key, so a
    resend after a crash between SMTP acceptance and our commit can be recognized."""
    msg = EmailMessage(policy=SMTP.clone(max_line_length=998))  # RFC 5322 line limit
    msg["From"] = sender
    msg["To"] = ", ".join(message.to)
    msg["Subject"] = message.subject
    msg["Date"] = formatdate(localtime=False)
    domain = sender.rpartition("@")[2] or "meterwise.local"
    msg["Message-ID"] = f"<{message.key}@{domain}>" if message.key else make_msgid()
    msg.set_content(message.text)
    msg.add_alternative(message.html, subtype="html")
    return msg


@dataclass
class SmtpMailer:
    """Deliver through an SMTP server (plain, STARTTLS or implicit TLS)."""

    settings: EmailSettings

    def send(self, message: OutgoingEmail) -> None:
        s = self.settings
        if not s.host:
            raise PermanentFailure("email is not configured ([email] host)")
        try:
            if s.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout_s, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            with client:
                if s.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    client.login(s.username, s.password or "")
                refused = client.send_message(build_message(message, s.sender))
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"all recipients refused: {exc.recipients}") from None
        except smtplib.SMTPResponseException as exc:
            text = f"{exc.smtp_code} {exc.smtp_error!r}"
            if 400 <= exc.smtp_code < 500:
                raise TemporaryFailure(text) from None
            raise PermanentFailure(text) from None
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from None
        if refused:
            # Accepted for some recipients: do not resend to the ones who got it.
            raise PermanentFailure(f"refused for {sorted(refused)}")


@dataclass
class MemoryMailer:
    """Keeps sent messages in a list; ``fail_with`` makes the next sends raise."""

    outbox: list[OutgoingEmail] = field(default_factory=list)
    fail_with: Exception | None = None

    def send(self, message: OutgoingEmail) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.outbox.append(message)
