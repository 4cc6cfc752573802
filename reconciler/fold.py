"""Fold what deliveries queued into the aggregates the reports read (the shell's side: which
accounts, with which cycle rule; the storage layer does it exactly once)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from meterwise.config.settings import Settings
from meterwise.reconciler.cycles import cycle_start_of
from meterwise.storage import Storage, StorageTimeout

# Events per transaction: a fold holds the database's write lock, so a batch is also the
# longest a delivery waits behind it (~50 ms at 500; 5,000 stalled deliveries ~0.5 s).
BATCH = 500
MIN_BATCH = 50
log = logging.getLogger("meterwise.fold")


def fold_pending(store: Storage, settings: Settings, accounts: Iterable[str] | None = None) -> int:
    """Fold every queued event of ``accounts`` (default: every configured account); return
    how many. Run by the scheduler on each tick and before every report, so a report is as
    fresh as the last acknowledged delivery."""
    wanted = list(settings.accounts) if accounts is None else list(accounts)
    cycles = {
        a: cycle_start_of(
            settings.accounts[a], settings.catalog.get(settings.accounts[a].plan).cycle
        )
        for a in wanted
        if a in settings.accounts
    }
    total, batch = 0, BATCH
    while cycles:
        try:
            done = store.fold(cycles, batch)
        except StorageTimeout:
            # A batch the statement timeout cut short was rolled back whole: fold smaller
            # batches rather than fail the same way on every tick (a backlog after an
            # outage, tables not yet analyzed). An outage is not this: it raises at once.
            if batch <= MIN_BATCH:
                raise
            batch = max(MIN_BATCH, batch // 4)
            log.warning("fold: a batch hit the statement timeout; folding %d at a time", batch)
            continue
        total += done
        if done < batch:
            break
    return total
