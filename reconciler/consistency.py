"""Read what the checks need and run them; the provider's own figures of a cycle."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from meterwise.config.sections import CheckSettings
from meterwise.config.settings import Account
from meterwise.reconciler import checks
from meterwise.reconciler.models import Check, Comparison, Difference, Invoice, ProviderFigures
from meterwise.reconciler.usage import CallEvent, pair_intervals
from meterwise.storage import Storage

HISTORY_DAYS = 28


def jaas_checks(
    store: Storage, account: Account, config: CheckSettings, start_ms: int, now_ms: int
) -> list[Check]:
    """The JaaS-specific checks of a cycle as of ``now_ms``."""
    acct = account.id
    joined = store.joined_per_session(acct, start_ms, now_ms)
    found = store.sessions_with_usage(acct, [s for s, n in joined.items() if n >= 2])
    recs = store.recording_events(acct, start_ms - checks.DAY_MS, now_ms)
    # Paired by the meeting (the envelope's sessionId), as the documented payloads allow:
    # RECORDING_ENDED carries only data.conference; RECORDING_UPLOADED its own
    # recordingSessionId besides the meeting's sessionId.
    ended = [(s, ts) for kind, _, s, ts in recs if kind == "RECORDING_ENDED" and s]
    uploaded = Counter(s for kind, _, s, _ in recs if kind == "RECORDING_UPLOADED" and s)
    files: list[tuple[str, Any, int]] = [
        (kind, s or r, ts) for kind, r, s, ts in recs if kind == "RECORDING_UPLOADED"
    ]
    files += store.upload_events(acct, now_ms - checks.DAY_MS, now_ms)
    calls = [CallEvent(*c) for c in store.call_events(acct, start_ms - checks.DAY_MS, now_ms)]
    return [
        checks.usage_missing(joined, found),
        checks.recordings_not_uploaded(
            ended, uploaded, now_ms, config.recording_upload_grace_s * 1000
        ),
        checks.links_expiring(files, now_ms, config.link_expiry_warning_s * 1000),
        checks.open_intervals(
            pair_intervals(calls, now_ms), now_ms, config.open_interval_max_age_s * 1000
        ),
    ]


def run_checks(
    store: Storage, account: Account, config: CheckSettings, start_ms: int, now_ms: int
) -> tuple[Check, ...]:
    """Every check that applies to the account's provider, for [cycle start, now)."""
    found = (
        jaas_checks(store, account, config, start_ms, now_ms) if account.provider == "jaas" else []
    )
    hourly = store.hourly(account.id, "events", start_ms - HISTORY_DAYS * checks.DAY_MS, now_ms)
    silence_ms = config.silence_alert_s * 1000
    found.append(checks.silences(hourly, start_ms, now_ms, silence_ms, account.tz))
    found += checks.deliveries(store.delivery_counts(account.id, start_ms, now_ms))
    return tuple(found)


def record_figures(
    store: Storage, account: str, cycle_start_ms: int, figures: ProviderFigures
) -> None:
    """Store (or replace) what the provider said about a cycle."""
    store.record_figures(
        account,
        cycle_start_ms,
        figures.mau,
        None if figures.total is None else str(figures.total),
        json.dumps({k: str(v) for k, v in figures.lines.items()}),
        int(figures.recorded_at.timestamp() * 1000),
        figures.note,
    )


def load_figures(store: Storage, account: str, cycle_start_ms: int) -> ProviderFigures | None:
    """The provider's figures recorded for a cycle, if any."""
    found = store.load_figures(account, cycle_start_ms)
    if found is None:
        return None
    mau, total, lines, at, note = found
    return ProviderFigures(
        mau,
        None if total is None else Decimal(total),
        {k: Decimal(v) for k, v in json.loads(lines).items()},
        datetime.fromtimestamp(at / 1000, UTC),
        note or "",
    )


def compare(
    mau: Decimal | None, invoice: Invoice, figures: ProviderFigures, found: Sequence[Check]
) -> Comparison:
    """Ours beside theirs, and the likely causes of any difference. Pure."""
    rows = []
    if figures.mau is not None and mau is not None:
        rows.append(Difference("mau", mau, Decimal(figures.mau)))
    if figures.total is not None:
        rows.append(Difference("total", invoice.total, figures.total))
    for code, amount in figures.lines.items():
        ours = sum((ln.amount for ln in invoice.lines if ln.code == code), Decimal(0))
        rows.append(Difference(code, ours, amount))
    causes: list[str] = []
    if any(r.delta for r in rows):
        causes = [f"{c.title}: {c.count} ({c.meaning})" for c in found if c.count and c.affects]
        low = any(r.delta < 0 for r in rows if r.item == "mau")
        high = any(r.delta > 0 for r in rows if r.item == "mau")
        if low and not causes:
            causes.append(
                "events we never received: is the webhook registered for USAGE, for every "
                "app id of the account, since the start of the cycle?"
            )
        if high:
            causes.append(
                "the provider may count in another timezone or from another billing day "
                "(check timezone and cycle_anchor), or leave out test traffic we counted"
            )
    return Comparison(figures, tuple(rows), tuple(causes))
