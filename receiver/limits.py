"""Failed-authentication limits, per account and per client address, in each worker process.

A sliding window of ``window_s`` seconds: past ``limit`` failures a key answers 429 with
``Retry-After`` until its oldest failure leaves the window. Memory is bounded: at most
``max_keys`` keys are tracked, the least recently failing forgotten first. Each worker counts
on its own, so with W workers an address may fail up to W x limit times per window.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque


class FailureLimiter:
    """Count failures per key; say how long a key must wait once it is over the limit."""

    def __init__(self, limit: int, window_s: float = 60.0, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def retry_after(self, key: str, now: float) -> int:
        """Seconds ``key`` must wait (0: it may try now)."""
        with self._lock:
            times = self._recent(key, now)
            if times is None or len(times) < self.limit:
                return 0
            return max(1, math.ceil(times[0] + self.window_s - now))

    def fail(self, key: str, now: float) -> None:
        """Record one failure of ``key`` at ``now``."""
        with self._lock:
            times = self._recent(key, now)
            if times is None:
                times = self._failures[key] = deque(maxlen=self.limit + 1)
                if len(self._failures) > self.max_keys:
                    self._failures.popitem(last=False)
            self._failures.move_to_end(key)
            times.append(now)
