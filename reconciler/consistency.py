"""Read what the checks need from SQLite and run them; the provider's own figures."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from meterwise.config.sections import CheckSettings
from meterwise.config.settings import Account
from meterwise.reconciler import checks, store
from meterwise.reconciler.models import Check, Comparison, Difference, Invoice, ProviderFigures
from meterwise.reconciler.store import rows
from meterwise.reconciler.usage import pair_intervals

HISTORY_DAYS = 28


def _sessions_with_usage(db: Any, account: str, sessions: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(sessions), 500):
        chunk = sessions[i : i + 500]
        marks = ", ".join("?" for _ in chunk)
        found |= {
            s
            for (s,) in rows(
                db,
                "SELECT session_id FROM usage_sessions WHERE account = ? AND "
                f"session_id IN ({marks})",
                [account, *chunk],
            )
        }
    return found


def jaas_checks(
    db: Any, account: Account, config: CheckSettings, start_ms: int, now_ms: int
) -> list[Check]:
    """The JaaS-specific checks of a cycle as of ``now_ms``."""
    acct = account.id
    joined = {
        s: int(n)
        for s, n in rows(
            db,
            "SELECT session_id, count(DISTINCT coalesce(participant_id, user_id, name)) FROM "
            "participants WHERE account = ? AND joined = 1 AND lobby = 0 AND ts_ms >= ? AND "
            "ts_ms < ? AND session_id IS NOT NULL GROUP BY session_id",
            (acct, start_ms, now_ms),
        )
    }
    found = _sessions_with_usage(db, acct, [s for s, n in joined.items() if n >= 2])
    recs = rows(
        db,
        "SELECT event_type, coalesce(recording_session_id, session_id), session_id, ts_ms "
        "FROM recordings WHERE account = ? AND ts_ms >= ? AND ts_ms < ?",
        (acct, start_ms - checks.DAY_MS, now_ms),
    )
    # Paired by the meeting (the envelope's sessionId), as the documented payloads allow:
    # RECORDING_ENDED carries only data.conference; RECORDING_UPLOADED its own
    # recordingSessionId besides the meeting's sessionId.
    ended = [(s, int(ts)) for kind, _, s, ts in recs if kind == "RECORDING_ENDED" and s]
    uploaded = Counter(s for kind, _, s, _ in recs if kind == "RECORDING_UPLOADED" and s)
    files = [(kind, s or r, int(ts)) for kind, r, s, ts in recs if kind == "RECORDING_UPLOADED"]
    files += [
        (kind, s, int(ts))
        for kind, s, ts in rows(
            db,
            "SELECT event_type, session_id, ts_ms FROM uploads WHERE account = ? AND ts_ms >= ? "
            "AND ts_ms < ?",
            (acct, now_ms - checks.DAY_MS, now_ms),
        )
    ]
    calls = store.call_events(db, acct, start_ms - checks.DAY_MS, now_ms)
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
    db: Any, account: Account, config: CheckSettings, start_ms: int, now_ms: int
) -> tuple[Check, ...]:
    """Every check that applies to the account's provider, for [cycle start, now)."""
    found = jaas_checks(db, account, config, start_ms, now_ms) if account.provider == "jaas" else []
    hourly = {
        int(h): int(n)
        for h, n in rows(
            db,
            "SELECT hour_ms, count FROM activity_hourly WHERE account = ? AND metric = 'events' "
            "AND hour_ms >= ? AND hour_ms < ?",
            (account.id, start_ms - HISTORY_DAYS * checks.DAY_MS, now_ms),
        )
    }
    silence_ms = config.silence_alert_s * 1000
    found.append(checks.silences(hourly, start_ms, now_ms, silence_ms, account.tz))
    found += checks.deliveries(store.delivery_counts(db, account.id, start_ms, now_ms))
    return tuple(found)


def record_figures(db: Any, account: str, cycle_start_ms: int, figures: ProviderFigures) -> None:
    """Store (or replace) what the provider said about a cycle."""
    with db.conn:
        db.conn.execute(
            "INSERT OR REPLACE INTO provider_figures (account, cycle_start_ms, mau, total, "
            "lines, recorded_at_ms, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                account,
                cycle_start_ms,
                figures.mau,
                None if figures.total is None else str(figures.total),
                json.dumps({k: str(v) for k, v in figures.lines.items()}),
                int(figures.recorded_at.timestamp() * 1000),
                figures.note,
            ),
        )


def load_figures(db: Any, account: str, cycle_start_ms: int) -> ProviderFigures | None:
    """The provider's figures recorded for a cycle, if any."""
    found = rows(
        db,
        "SELECT mau, total, lines, recorded_at_ms, note FROM provider_figures WHERE "
        "account = ? AND cycle_start_ms = ?",
        (account, cycle_start_ms),
    )
    if not found:
        return None
    mau, total, lines, at, note = found[0]
    return ProviderFigures(
        None if mau is None else int(mau),
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
