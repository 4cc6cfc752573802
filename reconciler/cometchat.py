"""CometChat metrics beyond MAU: peak concurrent connections, voice and video minutes.
Pure: the snapshot loader reads the inputs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from meterwise.config.plans import Plan
from meterwise.config.settings import Account
from meterwise.reconciler.concurrency import ConnectionEvent, peak_concurrency
from meterwise.reconciler.cycles import from_ms, to_ms
from meterwise.reconciler.models import BillingCycle, MetricReport, MetricUsage

SIXTY = Decimal(60)
CENT = Decimal("0.01")
DEFAULT_IDLE_TIMEOUT_S = 6 * 3600
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class CometChatInputs:
    """The cycle's ended calls and connection changes, up to the report."""

    calls: tuple[tuple[int, float, float, float, bool], ...]  # ts, voice s, video s, session s
    connections: tuple[ConnectionEvent, ...]  # from one idle timeout before the cycle


def cometchat_sums(
    inputs: CometChatInputs,
    account: Account,
    plan: Plan | None,
    cycle: BillingCycle,
    eval_ms: int,
    days: int,
    max_open_s: int = 0,
) -> list[tuple[MetricUsage, list[Decimal]]]:
    """Voice and video minutes from ended calls and meetings, per participant or session."""
    per_session = plan is not None and plan.minutes_per == "session"
    start_ms = to_ms(cycle.start)
    voice, video = [Decimal(0)] * days, [Decimal(0)] * days
    for ts, voice_s, video_s, session_s, audio_only in inputs.calls:
        if ts >= eval_ms:
            continue
        day = min(days - 1, max(0, (ts - start_ms) // DAY_MS))
        if per_session:
            (voice if audio_only else video)[day] += Decimal(str(session_s)) / SIXTY
        else:
            voice[day] += Decimal(str(voice_s)) / SIXTY
            video[day] += Decimal(str(video_s)) / SIXTY
    basis = "per session" if per_session else "per participant"
    note = (f"counted {basis} (plan setting minutes_per)",)
    return [
        (MetricUsage(name, sum(series, Decimal(0)).quantize(CENT), "minutes", notes=note), series)
        for name, series in (("voice_minutes", voice), ("video_minutes", video))
    ]


def cometchat_peaks(
    inputs: CometChatInputs,
    account: Account,
    plan: Plan | None,
    cycle: BillingCycle,
    eval_ms: int,
) -> list[MetricReport]:
    """Peak concurrent connections of the cycle beside its allowance (a share of the MAU)."""
    timeout_s = int(account.options.get("connection_idle_timeout_s", DEFAULT_IDLE_TIMEOUT_S))
    start_ms, timeout_ms = to_ms(cycle.start), timeout_s * 1000
    events = [e for e in inputs.connections if e.ts_ms < eval_ms]
    result = peak_concurrency(events, start_ms, eval_ms, timeout_ms)
    notes = []
    if result.at_ms is not None and result.peak:
        notes.append(f"peak at {from_ms(result.at_ms):%Y-%m-%d %H:%M} UTC")
    if result.closed_by_timeout:
        notes.append(
            f"{result.closed_by_timeout} connection(s) never sent 'disconnected' and were "
            f"closed after connection_idle_timeout_s = {timeout_s}"
        )
    usage = MetricUsage("pcc", Decimal(result.peak), "connections", notes=tuple(notes))
    allowance = plan.allowance("pcc") if plan else None
    units = Decimal(max(0, result.peak - allowance)) if allowance is not None else Decimal(0)
    rate = plan.overage_rates.get("pcc", Decimal(0)) if plan else Decimal(0)
    return [MetricReport(usage, allowance, units, units * rate, None)]
