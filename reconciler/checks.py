"""Consistency checks: signs that webhooks were lost or that our numbers should be doubted.

Pure functions over values read by ``reconciler.check_inputs``; each returns a `Check` with a
count and a few examples a person can look up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo

from meterwise.reconciler.models import Check
from meterwise.reconciler.usage import Interval

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
EXAMPLES = 5


def _when(ms: int) -> str:
    return f"{datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%d %H:%M} UTC"


def usage_missing(joined: Mapping[str, int], with_usage: set[str]) -> Check:
    """Sessions where two or more participants joined but no USAGE event arrived."""
    lost = sorted(s for s, n in joined.items() if n >= 2 and s not in with_usage)
    return Check(
        "usage_missing",
        "Meetings with 2+ participants but no USAGE event",
        len(lost),
        tuple(f"session {s}: {joined[s]} joined" for s in lost[:EXAMPLES]),
        "USAGE webhooks were probably lost: MAU may be low.",
        ("mau",),
    )


def recordings_not_uploaded(
    ended: Iterable[tuple[str, int]], uploaded: Mapping[str, int], now_ms: int, grace_ms: int
) -> Check:
    """RECORDING_ENDED (meeting session, ts) with no RECORDING_UPLOADED of that meeting
    ``grace_ms`` later; a meeting's uploads match its recordings oldest first."""
    by_session: dict[str, list[int]] = {}
    for session, ts in ended:
        by_session.setdefault(session, []).append(ts)
    late = sorted(
        (ts, rec)
        for rec, times in by_session.items()
        for ts in sorted(times)[uploaded.get(rec, 0) :]
        if now_ms - ts > grace_ms
    )
    return Check(
        "recording_not_uploaded",
        f"Recordings ended over {grace_ms // 60000} min ago and never uploaded",
        len(late),
        tuple(f"meeting {rec}: recording ended {_when(ts)}" for ts, rec in late[:EXAMPLES]),
        "RECORDING_UPLOADED webhooks may be lost; recording minutes may be low.",
        ("recording_minutes",),
    )


def links_expiring(
    uploads: Iterable[tuple[str, str, int]], now_ms: int, within_ms: int, ttl_ms: int = DAY_MS
) -> Check:
    """Uploads (event type, session, ts) whose file JaaS deletes within ``within_ms``."""
    soon = sorted(
        (ts + ttl_ms, kind, session)
        for kind, session, ts in uploads
        if now_ms < ts + ttl_ms <= now_ms + within_ms
    )
    return Check(
        "links_expiring",
        f"Recording or transcript links expiring within {within_ms // HOUR_MS} h",
        len(soon),
        tuple(f"{kind} {session}: deleted {_when(at)}" for at, kind, session in soon[:EXAMPLES]),
        "JaaS deletes files 24 h after upload: download them now.",
        (),
    )


def open_intervals(intervals: Iterable[Interval], now_ms: int, max_age_ms: int) -> Check:
    """STARTED with no ENDED (dial, SIP, streaming) open for longer than ``max_age_ms``."""
    stale = sorted(
        (i.start_ms, i.kind) for i in intervals if i.open and now_ms - i.start_ms > max_age_ms
    )
    return Check(
        "started_without_ended",
        f"Dial/SIP/streaming started over {max_age_ms // HOUR_MS} h ago with no ENDED",
        len(stale),
        tuple(f"{kind} started {_when(ts)}" for ts, kind in stale[:EXAMPLES]),
        "ENDED webhooks may be lost; those minutes are counted up to now and may be high.",
        ("dial_in_minutes", "dial_out_minutes", "sip_minutes", "streaming_minutes"),
    )


def silences(
    hourly: Mapping[int, int],
    start_ms: int,
    now_ms: int,
    silence_ms: int,
    tz: tzinfo = UTC,
    history_days: int = 28,
) -> Check:
    """Runs of empty hours in [start, now) at least ``silence_ms`` long that cover an hour of
    the day (in ``tz``) which had traffic on at least half of the previous ``history_days``."""

    def local(hour_ms: int) -> tuple[int, int]:
        at = datetime.fromtimestamp(hour_ms / 1000, tz)
        return at.toordinal(), at.hour

    busy_days: dict[int, set[int]] = {}
    for hour, n in hourly.items():
        if n and start_ms - history_days * DAY_MS <= hour < start_ms:
            day, hour_of_day = local(hour)
            busy_days.setdefault(hour_of_day, set()).add(day)
    seen_days = len({d for days in busy_days.values() for d in days}) or 1
    usual = {h for h, days in busy_days.items() if len(days) * 2 >= seen_days}
    gaps, run = [], []
    hour = start_ms - start_ms % HOUR_MS
    while hour + HOUR_MS <= now_ms:
        if hourly.get(hour, 0) == 0:
            run.append(hour)
        else:
            gaps.append(run)
            run = []
        hour += HOUR_MS
    gaps.append(run)
    flagged = [
        g
        for g in gaps
        if g and len(g) * HOUR_MS >= silence_ms and any(local(h)[1] in usual for h in g)
    ]
    return Check(
        "silence",
        f"No webhook for {silence_ms // 60000} min or more at hours that usually have traffic",
        len(flagged),
        tuple(f"{_when(g[0])} to {_when(g[-1] + HOUR_MS)}" for g in flagged[:EXAMPLES]),
        "The provider stopped sending or our endpoint was unreachable: usage may be low.",
        ("mau",),
    )


def deliveries(counts: Mapping[str, int]) -> list[Check]:
    """Signature or authentication rejections, and duplicates, in the cycle."""
    rejected = {r: n for r, n in counts.items() if r.startswith(("signature_", "auth_")) and n}
    # Verified re-deliveries only: an unsigned body naming a stored key ("duplicate_unverified",
    # acknowledged for the provider's re-sent-body bug; "duplicate_after_bad_signature" before
    # release 0.2) proves nothing, so anyone could inflate the figure with it.
    verified = {r: n for r, n in counts.items() if r == "duplicate"}
    duplicates = sum(verified.values())
    return [
        Check(
            "signature_rejections",
            "Deliveries rejected for their signature or credentials",
            sum(rejected.values()),
            tuple(f"{r}: {n}" for r, n in sorted(rejected.items(), key=lambda x: -x[1])),
            "A misconfigured or rotated secret: those events are not counted until re-sent.",
            ("mau",),
        ),
        Check(
            "duplicates",
            "Duplicate deliveries (stored once)",
            duplicates,
            tuple(f"{r}: {n}" for r, n in sorted(verified.items())),
            "Normal in small numbers (provider retries); many suggest slow answers.",
            (),
        ),
    ]
