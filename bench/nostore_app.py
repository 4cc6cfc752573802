"""Meterwise's endpoint with its storage step removed: the ceiling for the ingest ratio.

Everything a delivery goes through (the WSGI intake, limits, verification, parsing, time
checks, metrics, the access line, gunicorn with the same settings) except the write: the
store answers new ids at once, and nothing is kept. Only `bench/ingest.py --ceiling` runs
it, to show how much of the gap to bare Flask is the storage and how much the rest.

    python bench/nostore_app.py CONFIG PORT WORKERS
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meterwise.config.settings import Settings  # noqa: E402
from meterwise.receiver import intake, server  # noqa: E402
from meterwise.receiver.options import settings_from  # noqa: E402
from meterwise.storage import Parsed  # noqa: E402


def no_store(
    settings: Settings, account: str, provider: str, events: Sequence[Parsed], received: int
) -> list[int]:
    return list(range(1, len(events) + 1))


if __name__ == "__main__":
    intake.store_delivery = no_store  # set before gunicorn forks: every worker has it
    settings = settings_from(sys.argv[1])
    server.run(settings, "127.0.0.1", int(sys.argv[2]), int(sys.argv[3]))
