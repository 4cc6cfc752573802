"""The audit trail behind the MAU figure: every counted device with its first sighting."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from meterwise.config.settings import Account
from meterwise.reconciler import store
from meterwise.reconciler.attribution import is_internal, meeting_owner
from meterwise.reconciler.csvout import write_csv
from meterwise.reconciler.cycles import to_ms
from meterwise.reconciler.models import BillingCycle

COLUMNS = ["device", "first_seen", "session", "user", "email", "attributed_to", "basis"]


def device_rows(
    db: Any, account: Account, cycle: BillingCycle, before_ms: int
) -> Iterator[list[str]]:
    """One row per device counted in the cycle, oldest first, with whom it is billed to."""
    start_ms = to_ms(cycle.start)
    internal, guests, joins, names = store.attribution_inputs(
        db, account.id, "mau", start_ms, before_ms, account.internal_email_domains
    )
    owners = {s: meeting_owner(j) for s, j in joins.items()}
    for device, ts, session, user, email in store.rows(
        db,
        "SELECT entity, first_ts_ms, session_id, user_id, email FROM entity_first_seen WHERE "
        "account = ? AND metric = 'mau' AND cycle_start_ms = ? AND first_ts_ms < ? "
        "ORDER BY first_ts_ms, entity",
        (account.id, start_ms, before_ms),
    ):
        if is_internal(user, email, account.internal_email_domains):
            owner, basis = user, "own device"
        else:
            join = owners.get(session or "")
            owner = join.user_id if join else None
            basis = "guest of the meeting owner" if owner else "unattributed guest"
        first = datetime.fromtimestamp(ts / 1000, UTC).isoformat().replace("+00:00", "Z")
        yield [
            device,
            first,
            session or "",
            user or "",
            email or "",
            names.get(owner, owner) if owner else "",
            basis,
        ]


def devices_csv(db: Any, account: Account, cycle: BillingCycle, before_ms: int) -> str:
    """The device audit trail as CSV with a header row (cells made safe for spreadsheets)."""
    return write_csv(COLUMNS, device_rows(db, account, cycle, before_ms))
