"""Post a synthetic month of signed JaaS webhooks to a running receiver."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import requests

from meterwise.receiver.testing import Meeting, signed
from meterwise.reconciler.traffic import MODELS


def model_events(
    model: str, start: datetime, days: int, seed: int = 1, meeting_size: int = 5
) -> Iterator[dict[str, Any]]:
    """JaaS events for a traffic model: each day's devices meet in groups of ``meeting_size``."""
    daily = MODELS[model](start, days, random.Random(seed))
    for day, devices in enumerate(daily):
        base = int((start + timedelta(days=day, hours=9)).timestamp() * 1000)
        for n, first in enumerate(range(0, len(devices), meeting_size)):
            group = devices[first : first + meeting_size]
            if len(group) < 2:
                continue  # alone in a meeting: JaaS sends no USAGE
            meeting = Meeting(f"d{day}-m{n}", base + n * 600_000)
            for i, device in enumerate(group):
                internal = not device.startswith(("guest", "cust", "webinar", "new"))
                meeting.join(device, device if internal else None, moderator=i == 0)
            yield from meeting.end()


def post_events(url: str, secret: str, events: Iterator[dict[str, Any]]) -> dict[str, int]:
    """Sign and post every event; count the answers by status."""
    counts: dict[str, int] = {}
    with requests.Session() as session:
        for doc in events:
            body, headers = signed(doc, secret, int(time.time()))
            status = session.post(url, data=body, headers=headers, timeout=30).status_code
            counts[str(status)] = counts.get(str(status), 0) + 1
    return counts
