"""The PostgreSQL engine, for several receiver hosts on one shared database (issue 14).

Every `Storage` operation is implemented here with this engine's own SQL (mypy checks it:
`_ENGINES` in `storage/__init__.py`), and `tests/test_postgres.py` runs them against a real
server: migrations applied once by hosts starting together, the request path's exactly-once
across hosts, recovery from a server restart, alert queueing and leases across hosts, and
the fold and every read giving the same results as SQLite on the same deliveries.

Not yet: `[storage] url` to select it, the whole test suite on both engines, the two-host
`meterwise serve` tests, `meterwise db copy` and the deployment guide; until then SQLite is
the only engine the product runs on.
"""

from __future__ import annotations

from meterwise.storage.errors import StorageUnavailable
from meterwise.storage.postgres.admin import PgAdminOps
from meterwise.storage.postgres.checks import PgCheckReads
from meterwise.storage.postgres.connection import pool_for
from meterwise.storage.postgres.dashboard import PgDashboardOps
from meterwise.storage.postgres.extras import PgExtraReads
from meterwise.storage.postgres.fold import PgFoldOps
from meterwise.storage.postgres.ingest import PgIngestOps
from meterwise.storage.postgres.knowledge import PgKnowledgeOps
from meterwise.storage.postgres.outbox import PgOutboxOps
from meterwise.storage.postgres.reads import PgCycleReads


class PgStorage(
    PgIngestOps,
    PgFoldOps,
    PgCycleReads,
    PgExtraReads,
    PgKnowledgeOps,
    PgCheckReads,
    PgOutboxOps,
    PgAdminOps,
    PgDashboardOps,
):
    """Every storage operation on this process's pool for ``url``."""

    engine = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self.pool = pool_for(url)

    def close(self) -> None:
        """Nothing to close: the pool belongs to the process."""

    def check_file(self) -> None:
        """No file to check: the server owns durability (kept for the interface)."""

    def health(self, min_free_mb: int) -> str | None:
        """Why a delivery could not be kept now (a write does not commit), or None. Free
        space is the server's to watch."""
        try:
            self.probe_write()
        except StorageUnavailable as exc:
            return str(exc)
        return None
