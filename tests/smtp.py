"""A real SMTP server on loopback (aiosmtpd), started and stopped by the tests."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from email.message import Message

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Collector:
    """Keeps every message the server accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.delay_s = 0.0  # a slow server: wait this long before answering DATA
        self.reply = "250 OK"  # e.g. "451 try again later" for a temporary failure

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if not self.reply.startswith("250"):
            return self.reply
        self.messages.append(
            (
                list(envelope.rcpt_tos),
                email.message_from_bytes(envelope.original_content, policy=email.policy.default),
            )
        )
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1:<port>; can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.collector = Collector()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def texts(self) -> list[str]:
        """The plain-text part of every message."""
        return [m.get_body(("plain",)).get_content() for _, m in self.messages]

    @property
    def messages(self) -> list[tuple[list[str], Message]]:
        return self.collector.messages
