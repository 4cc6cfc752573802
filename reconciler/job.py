"""One reconciliation pass: reports -> alert rules -> outbox -> delivery (the shell)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from meterwise.config.settings import Settings
from meterwise.reconciler.advice import recommend
from meterwise.reconciler.alerts import Alert, cleared, evaluate
from meterwise.reconciler.channels import ChannelMessage, for_alerts, for_cycle
from meterwise.reconciler.cycles import closed_boundary, to_ms
from meterwise.reconciler.mailer import Mailer, OutgoingEmail
from meterwise.reconciler.message import compose_alert, compose_correction, compose_final
from meterwise.reconciler.models import Report
from meterwise.reconciler.outbox import Delivery, channel_map, deliver, queued
from meterwise.reconciler.poster import HttpPoster, Poster
from meterwise.reconciler.reconcile import compute_report, cycle_for
from meterwise.storage import Storage


@dataclass
class PassResult:
    """What a pass decided and did."""

    queued: list[tuple[str, OutgoingEmail, list[Alert]]] = field(default_factory=list)
    channels: list[tuple[str, ChannelMessage]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)


def _rows(rows: Sequence[ChannelMessage]) -> list[tuple[str, str, str, str]]:
    return [(r.key, r.channel, r.subject, r.body) for r in rows]


def _crossings(fired: dict[tuple[str, str, str], int]) -> dict[str, datetime]:
    """The earliest crossing warned of, per ``metric@plan:allowance`` (``metric`` for 0.1)."""
    out: dict[str, datetime] = {}
    for metric, rule, level in fired:
        if rule == "forecast" and level.startswith("forecast@"):
            when, _, arm = level.removeprefix("forecast@").partition("@")
            at = datetime.fromisoformat(when + ":00+00:00")
            key = f"{metric}@{arm}" if arm else metric
            out[key] = min(out.get(key, at), at)
    return out


def _final(
    store: Storage,
    settings: Settings,
    account_id: str,
    now: datetime,
    result: PassResult,
    dry_run: bool,
    queued_ms: int,
) -> None:
    """Send the report of the previous cycle once, when its grace period has passed."""
    account = settings.accounts[account_id]
    current = cycle_for(settings, account, now)
    previous = cycle_for(settings, account, current.start - timedelta(seconds=1))
    first = cycle_for(settings, account, account.cycle_anchor)
    if previous.start < first.start or now < previous.end + timedelta(
        seconds=settings.close_grace_s
    ):
        return
    fired = store.fired_keys(account_id, to_ms(previous.start))
    report = compute_report(
        store,
        settings,
        account_id,
        now,
        previous.start.astimezone(account.tz).date(),
        settings.close_grace_s,
    )
    if ("*", "final", "closed") in fired:
        _correction(store, settings, report, fired, result, dry_run, queued_ms)
        return
    if not report.observed:
        return  # Meterwise began observing after this cycle ended: nothing to report on
    link = account_link(settings, account_id)
    message = compose_final(report, settings.catalog, account.alert_emails, now, link)
    rows = for_cycle(
        message.key,
        message.subject,
        "cycle.closed",
        report,
        settings.catalog,
        account.alert_channels,
        now,
        link,
    )
    if dry_run or store.record_and_queue(
        account_id,
        to_ms(previous.start),
        [("*", "final", "closed")],
        queued(message),
        queued_ms,
        _rows(rows),
    ):
        result.queued.append((account_id, message, []))
        result.channels += [(account_id, r) for r in rows]


def _correction(
    store: Storage,
    settings: Settings,
    report: Report,
    fired: dict[tuple[str, str, str], int],
    result: PassResult,
    dry_run: bool,
    queued_ms: int,
) -> None:
    """One correction email per new invoice estimate that late events give a closed cycle."""
    found = report.adjustments
    if not found:
        return
    total = found["invoice_total"]
    if total["reported"] == total["with_late_events"]:
        return
    key = ("*", "correction", total["with_late_events"])
    if key in fired:
        return
    account = settings.accounts[report.account]
    message = compose_correction(report, account.alert_emails)
    cycle_ms = to_ms(report.cycle.start)
    rows = for_cycle(
        message.key,
        message.subject,
        "cycle.corrected",
        report,
        settings.catalog,
        account.alert_channels,
        datetime.fromtimestamp(queued_ms / 1000, UTC),
        account_link(settings, report.account),
        {"correction": dict(found)},
    )
    if dry_run or store.record_and_queue(
        report.account, cycle_ms, [key], queued(message), queued_ms, _rows(rows)
    ):
        result.queued.append((report.account, message, []))
        result.channels += [(report.account, r) for r in rows]


def account_link(settings: Settings, account_id: str) -> str | None:
    """The account's dashboard page, when ``[server] public_url`` says where people reach it."""
    return f"{settings.public_url}/accounts/{account_id}" if settings.public_url else None


def retain(store: Storage, settings: Settings, accounts: Sequence[str], now_s: float) -> None:
    """`[storage] retain_raw_days`: purge personal data of whole closed cycles older than that
    (on the real clock, never `--at`)."""
    now = datetime.fromtimestamp(now_s, UTC)
    for account_id in accounts:
        account = settings.accounts[account_id]
        old = cycle_for(settings, account, now - timedelta(days=settings.retain_raw_days or 0))
        current = cycle_for(settings, account, now)
        before = closed_boundary(to_ms(old.start), to_ms(current.start))
        if before > store.purged_before(account_id):
            store.purge(account_id, before, int(now_s * 1000))


def run_reconciliation(
    store: Storage,
    settings: Settings,
    mailer: Mailer,
    now: datetime,
    accounts: Sequence[str] | None = None,
    dry_run: bool = False,
    clock: Callable[[], float] = time.time,
    keep_going: Callable[[], bool] = lambda: True,
    poster: Poster | None = None,
) -> PassResult:
    """Evaluate every account's alert rules as of ``now``, queue new alerts (an email and a
    row per channel), deliver (emails through ``mailer``, channels through ``poster``).

    ``now`` is what the reports are computed as of (``--at``); delivery runs on ``clock``,
    the real clock, whatever ``now`` says.
    """
    result = PassResult()
    for account_id in accounts or list(settings.accounts):
        account = settings.accounts[account_id]
        report = compute_report(
            store, settings, account_id, now, close_grace_s=settings.close_grace_s
        )
        cycle_ms = to_ms(report.cycle.start)
        fired = store.fired_keys(account_id, cycle_ms)
        gone = cleared(report, fired)
        if gone and not dry_run:
            store.rearm(account_id, cycle_ms, gone)
            fired = {k: v for k, v in fired.items() if k not in gone}
        alerts = evaluate(report, account.alerts, fired, _crossings(fired), settings.catalog)
        if alerts:
            options = recommend(report, settings.catalog, now)
            link = account_link(settings, account_id)
            message = compose_alert(
                report, alerts, options, settings.catalog, account.alert_emails, now, link
            )
            rows = for_alerts(
                message.key,
                message.subject,
                report,
                alerts,
                options,
                settings.catalog,
                account.alert_channels,
                now,
                link,
            )
            keys = [k for a in alerts for k in a.keys]
            queued_ms = int(clock() * 1000)  # the real clock: the message is due now
            if dry_run or store.record_and_queue(
                account_id, cycle_ms, keys, queued(message), queued_ms, _rows(rows)
            ):
                result.queued.append((account_id, message, alerts))
                result.channels += [(account_id, r) for r in rows]
        _final(store, settings, account_id, now, result, dry_run, int(clock() * 1000))
    if not dry_run:
        result.deliveries = deliver(
            store,
            mailer,
            clock,
            keep_going,
            poster if poster is not None else HttpPoster(clock=clock),
            channel_map(settings.accounts),
        )
        if settings.retain_raw_days:
            retain(store, settings, accounts or list(settings.accounts), clock())
    return result
