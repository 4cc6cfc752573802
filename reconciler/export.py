"""The audit trail behind the MAU figure: every counted device with its first sighting."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from meterwise.config.settings import Account
from meterwise.reconciler.attribution import Join, is_internal, meeting_owner
from meterwise.reconciler.csvout import write_csv
from meterwise.reconciler.cycles import to_ms
from meterwise.reconciler.models import BillingCycle
from meterwise.storage import Storage

COLUMNS = ["device", "first_seen", "session", "user", "email", "attributed_to", "basis"]


def device_rows(
    store: Storage, account: Account, cycle: BillingCycle, before_ms: int
) -> Iterator[list[str]]:
    """One row per device counted in the cycle, oldest first, with whom it is billed to."""
    start_ms = to_ms(cycle.start)
    domains = account.internal_email_domains
    devices = list(store.first_sightings(account.id, "mau", start_ms, before_ms))
    guests = sorted({s for _, _, s, u, e in devices if s and not is_internal(u, e, domains)})
    joins = store.meeting_joins(account.id, guests)
    owners = {s: meeting_owner([Join(*j) for j in js]) for s, js in joins.items()}
    names = store.display_names(account.id)
    for device, ts, session, user, email in devices:
        if is_internal(user, email, domains):
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


def devices_csv(store: Storage, account: Account, cycle: BillingCycle, before_ms: int) -> str:
    """The device audit trail as CSV with a header row (cells made safe for spreadsheets)."""
    return write_csv(COLUMNS, device_rows(store, account, cycle, before_ms))
