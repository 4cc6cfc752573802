"""Fold what deliveries queued into the aggregates the reports read (the shell's side: which
accounts, with which cycle rule; the storage layer does it exactly once)."""

from __future__ import annotations

from collections.abc import Iterable

from meterwise.config.settings import Settings
from meterwise.reconciler.cycles import cycle_start_of
from meterwise.storage import Storage

BATCH = 5000


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
    total = 0
    while cycles:
        done = store.fold(cycles, BATCH)
        total += done
        if done < BATCH:
            break
    return total
