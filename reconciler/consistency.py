"""Run the checks of a cycle on its snapshot; the provider's own figures beside ours. Pure."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from meterwise.config.sections import CheckSettings
from meterwise.config.settings import Account
from meterwise.reconciler import checks
from meterwise.reconciler.models import Check, Comparison, Difference, Invoice, ProviderFigures
from meterwise.reconciler.usage import CallEvent, pair_intervals

HISTORY_DAYS = 28


@dataclass(frozen=True, slots=True)
class CheckInputs:
    """What the checks of a cycle read, as of the report (JaaS fields empty elsewhere)."""

    hourly_events: Mapping[int, int]  # events per hour, HISTORY_DAYS before the cycle on
    delivery_counts: Mapping[str, int]  # rejected and duplicate deliveries per reason
    joined: Mapping[str, int] = field(default_factory=dict)  # participants per session
    with_usage: frozenset[str] = frozenset()  # sessions (2+ joined) that had USAGE
    recordings: tuple[tuple[str, str | None, str | None, int], ...] = ()
    uploads: tuple[tuple[str, str | None, int], ...] = ()  # the last day's uploads
    calls: tuple[CallEvent, ...] = ()


def jaas_checks(inputs: CheckInputs, config: CheckSettings, now_ms: int) -> list[Check]:
    """The JaaS-specific checks of a cycle as of ``now_ms``."""
    recs = inputs.recordings
    # Paired by the meeting (the envelope's sessionId), as the documented payloads allow:
    # RECORDING_ENDED carries only data.conference; RECORDING_UPLOADED its own
    # recordingSessionId besides the meeting's sessionId.
    ended = [(s, ts) for kind, _, s, ts in recs if kind == "RECORDING_ENDED" and s]
    uploaded = Counter(s for kind, _, s, _ in recs if kind == "RECORDING_UPLOADED" and s)
    files: list[tuple[str, Any, int]] = [
        (kind, s or r, ts) for kind, r, s, ts in recs if kind == "RECORDING_UPLOADED"
    ]
    files += inputs.uploads
    return [
        checks.usage_missing(inputs.joined, set(inputs.with_usage)),
        checks.recordings_not_uploaded(
            ended, uploaded, now_ms, config.recording_upload_grace_s * 1000
        ),
        checks.links_expiring(files, now_ms, config.link_expiry_warning_s * 1000),
        checks.open_intervals(
            pair_intervals(inputs.calls, now_ms), now_ms, config.open_interval_max_age_s * 1000
        ),
    ]


def run_checks(
    inputs: CheckInputs, account: Account, config: CheckSettings, start_ms: int, now_ms: int
) -> tuple[Check, ...]:
    """Every check that applies to the account's provider, for [cycle start, now)."""
    found = jaas_checks(inputs, config, now_ms) if account.provider == "jaas" else []
    silence_ms = config.silence_alert_s * 1000
    found.append(checks.silences(inputs.hourly_events, start_ms, now_ms, silence_ms, account.tz))
    found += checks.deliveries(inputs.delivery_counts)
    return tuple(found)


def figures_from(
    row: tuple[int | None, str | None, str, int, str | None] | None,
) -> ProviderFigures | None:
    """The provider's figures as stored (mau, total, lines JSON, recorded at ms, note)."""
    if row is None:
        return None
    mau, total, lines, at, note = row
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
