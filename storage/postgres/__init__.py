"""The PostgreSQL engine, for several receiver hosts on one shared database (issue 14).

In progress: the migrations (`migrate.py`, `storage/migrations/postgres/`), the per-process
pool (`connection.py`) and the request path (`ingest.py`) are implemented and tested against
a real server (`tests/test_postgres.py`); the reads, the fold, the outbox and the rest of
`Storage` are not yet, so `[storage]` cannot select this engine and `PgStorage` is not a
`Storage`.
"""

from __future__ import annotations

from meterwise.storage.postgres.connection import pool_for
from meterwise.storage.postgres.ingest import PgIngestOps


class PgStorage(PgIngestOps):
    """The operations implemented so far, on this process's pool for ``url``."""

    engine = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self.pool = pool_for(url)

    def close(self) -> None:
        """Nothing to close: the pool belongs to the process."""
