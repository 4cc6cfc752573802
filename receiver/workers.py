"""gunicorn's threaded worker with a deadline on reading each request.

A thread of a gthread worker reads a request's headers and body with a blocking socket that
has no timeout: a client that trickles bytes holds the thread for as long as it likes. Each
request here gets a deadline (``[receiver] read_timeout_s``); when it passes, one watchdog
thread per process shuts the socket's read side, so the parser or the body read sees the end
of the stream (the app answers 408 ``body_timeout``). The reply of a request already read is
unaffected: only reading stops.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

READ_TIMEOUT_S = 10.0  # set by `meterwise serve` before the workers are forked


class Watchdog:
    """Shut the read side of sockets whose deadline passed."""

    def __init__(self, period_s: float = 0.25) -> None:
        self._lock = threading.Lock()
        self._deadlines: dict[int, tuple[float, socket.socket]] = {}
        self._period = period_s
        self._thread: threading.Thread | None = None

    def arm(self, sock: socket.socket, seconds: float) -> int:
        key = id(sock)
        with self._lock:
            self._deadlines[key] = (time.monotonic() + seconds, sock)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name="deadline")
                self._thread.start()
        return key

    def disarm(self, key: int) -> None:
        with self._lock:
            self._deadlines.pop(key, None)

    def _run(self) -> None:
        while True:
            time.sleep(self._period)
            now = time.monotonic()
            with self._lock:
                due = [k for k, (deadline, _) in self._deadlines.items() if deadline <= now]
                expired = [self._deadlines.pop(k)[1] for k in due]
            for sock in expired:
                try:
                    sock.shutdown(socket.SHUT_RD)
                except OSError:
                    pass  # already closed


WATCHDOG = Watchdog()


class ReadDeadlineWorker(ThreadWorker):  # type: ignore[misc]
    """A gthread worker whose threads give up on clients slower than ``READ_TIMEOUT_S``."""

    def handle(self, conn: Any) -> Any:
        key = WATCHDOG.arm(conn.sock, READ_TIMEOUT_S)
        try:
            return super().handle(conn)
        finally:
            WATCHDOG.disarm(key)
