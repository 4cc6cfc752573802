"""`meterwise rebuild`: re-parse every stored body of an account and recompute its derived
tables (first sightings per cycle, hourly activity, sessions with USAGE)."""

from __future__ import annotations

from meterwise.config.settings import Settings
from meterwise.receiver.providers import PROVIDERS
from meterwise.receiver.providers.base import REPLAY, BadPayload, Parsed
from meterwise.reconciler.cycles import cycle_start_of
from meterwise.storage import Storage


def rebuild(store: Storage, settings: Settings, account_id: str) -> tuple[int, int]:
    """Re-parse every stored event of an account; return (events replayed, first-seen rows)."""
    account = settings.accounts[account_id]
    adapter = PROVIDERS[account.provider]

    def reparse(body: bytes, key: str, received_ms: int) -> list[Parsed]:
        try:
            return list(adapter.parse(body, account, {"webhook-id": key, REPLAY: "1"}, received_ms))
        except BadPayload:
            return []  # stored under older rules; kept raw, not counted

    cycle_of = cycle_start_of(account, settings.catalog.get(account.plan).cycle)
    return store.rebuild_derived(account_id, reparse, cycle_of)
