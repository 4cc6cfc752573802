"""What an alert or a cycle's close says on each channel: the facts, the webhook body, and
which channel takes which message. Pure: the outbox rows are built here, sent elsewhere.

Per pass, Slack and Teams get one message (the email's first screen, in their format) and a
`webhook` channel gets one signed JSON body per alert, with a stable ``type``:
``alert.threshold``, ``alert.forecast``, ``alert.cost``, ``alert.ingest``, ``cycle.closed``,
``cycle.corrected``. Each row's key is the email's key plus the channel, and it is the
``webhook-id`` of every attempt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from meterwise.config.channels import Channel
from meterwise.config.plans import Catalog
from meterwise.reconciler.advice import Option
from meterwise.reconciler.alerts import Alert
from meterwise.reconciler.chat_cards import slack_message, teams_message
from meterwise.reconciler.display import day
from meterwise.reconciler.models import Report
from meterwise.reconciler.projection import overage_amount, projected_invoice
from meterwise.reconciler.report import number

LEVEL_SHARES = ((Decimal(1), "critical"), (Decimal("0.8"), "warning"), (Decimal(0), "info"))


@dataclass(frozen=True, slots=True)
class ChannelMessage:
    """One outbox row for one channel: the JSON body to POST (a webhook's is signed when
    sent, with ``key`` as its ``webhook-id``)."""

    key: str
    channel: str  # the channel's ident
    subject: str
    body: str


def level_of(alert: Alert) -> str:
    """info (below 80%), warning (80-99%, forecast, cost, lost webhooks), critical (100%+)."""
    if alert.rule != "threshold":
        return "warning"
    share = Decimal(alert.level.partition("@")[0])
    return next(name for floor, name in LEVEL_SHARES if share >= floor)


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def facts(
    report: Report,
    metric: str,
    catalog: Catalog,
    options: Sequence[Option],
    now: datetime,
    link: str | None,
) -> dict[str, Any]:
    """What every channel says about one metric of an account's cycle."""
    m = report.metric(metric) or (report.metrics[0] if report.metrics else None)
    projected = projected_invoice(report, catalog, report.as_of)
    plan = catalog.get(report.plan_id) if report.plan_id else None
    f = m.forecast if m else None
    stay = next((o for o in options if o.plan_id == report.plan_id), None)
    return {
        "account": report.account,
        "provider": report.provider,
        "plan": report.plan_id,
        "plan_name": plan.name if plan else None,
        "cycle": {"start": _instant(report.cycle.start), "end": _instant(report.cycle.end)},
        "days_left": f"{max(0.0, (report.cycle.end - now).total_seconds() / 86400):.1f}",
        "metric": m.usage.name if m else metric,
        "used": str(number(m.usage.used)) if m else None,
        "allowance": m.allowance if m else None,
        "forecast": None
        if f is None
        else {
            "value": str(number(f.value)),
            "low": str(number(f.low)),
            "high": str(number(f.high)),
            "confidence": f.confidence,
            "method": f.method,
        },
        "projected_crossing": _instant(f.crossing) if f else None,
        "overage": {
            "so_far": _money(m.overage_amount) if m else "0.00",
            "projected": _money(overage_amount(projected, m.usage.name)) if m else "0.00",
        },
        "recommendation": None
        if not options
        else {
            "if_nothing_changes": _money(stay.total) if stay else None,
            "upgrades": [
                {"plan": o.plan_id, "action": o.action, "total": _money(o.total)}
                for o in options
                if o is not stay
            ],
            "cheapest": {"action": options[0].action, "total": _money(options[0].best_total)},
        },
        "links": {"report": link},
        "timezone": report.timezone,
    }


def _body(kind: str, at: datetime, data: dict[str, Any]) -> str:
    return json.dumps({"type": kind, "timestamp": _instant(at), "data": data}, sort_keys=True)


def for_alerts(
    key: str,
    subject: str,
    report: Report,
    alerts: Sequence[Alert],
    options: Sequence[Option],
    catalog: Catalog,
    channels: Sequence[Channel],
    now: datetime,
    link: str | None,
) -> list[ChannelMessage]:
    """The rows of one alert pass (whose email has ``key`` and ``subject``)."""
    out = []
    for channel in channels:
        wanted = [a for a in alerts if channel.wants("alert", level_of(a))]
        if not wanted:
            continue
        if channel.kind == "webhook":
            for a in wanted:
                data = facts(report, a.metric, catalog, options, now, link)
                data.update(level=level_of(a), rule_level=a.level, headline=a.headline)
                one = ",".join(":".join(k) for k in a.keys)
                out.append(
                    ChannelMessage(
                        f"{key}/{channel.ident}/{one}",
                        channel.ident,
                        a.headline,
                        _body(f"alert.{a.rule}", now, data),
                    )
                )
            continue
        main = next((a.metric for a in wanted if a.metric != "*"), "mau")
        data = facts(report, main, catalog, options, now, link)
        headlines = [f"{level_of(a)}: {a.headline}" for a in wanted]
        card = slack_message if channel.kind == "slack" else teams_message
        out.append(
            ChannelMessage(
                f"{key}/{channel.ident}", channel.ident, subject, card(subject, headlines, data)
            )
        )
    return out


def for_cycle(
    key: str,
    subject: str,
    kind: str,
    report: Report,
    catalog: Catalog,
    channels: Sequence[Channel],
    now: datetime,
    link: str | None,
    extra: dict[str, Any] | None = None,
) -> list[ChannelMessage]:
    """The rows of a cycle's closing report (``cycle.closed``) or of a correction to it
    (``cycle.corrected``), for the channels that take ``cycle_closed``."""
    data = facts(report, "mau", catalog, [], now, link)
    data["invoice"] = {
        "issued_on": _instant(report.invoice.issued_on),
        "total": _money(report.invoice.total),
        "lines": [
            {"code": ln.code, "description": ln.description, "amount": _money(ln.amount)}
            for ln in report.invoice.lines
        ],
    }
    data.update(extra or {})
    lines = [
        f"Invoice estimate ${_money(report.invoice.total)} "
        f"(issued {day(report.invoice.issued_on, report.timezone)})"
    ]
    out = []
    for channel in channels:
        if "cycle_closed" not in channel.events:
            continue
        if channel.kind == "webhook":
            body = _body(kind, now, data)
        else:
            card = slack_message if channel.kind == "slack" else teams_message
            body = card(subject, lines, data)
        out.append(ChannelMessage(f"{key}/{channel.ident}", channel.ident, subject, body))
    return out


def for_test(
    account: str, channels: Sequence[Channel], now: datetime, link: str | None
) -> list[ChannelMessage]:
    """A clearly marked test message per channel (`meterwise channels test`; never queued)."""
    title = f"[Meterwise] TEST message for {account}: alerts will arrive here"
    data: dict[str, Any] = {"account": account, "test": True, "links": {"report": link}}
    lines = ["This is a test. Nothing has fired; no action is needed."]
    out = []
    for channel in channels:
        if channel.kind == "webhook":
            body = _body("test", now, data)
        else:
            card = slack_message if channel.kind == "slack" else teams_message
            body = card(title, lines, data)
        key = f"test-{account}-{int(now.timestamp())}/{channel.ident}"
        out.append(ChannelMessage(key, channel.ident, title, body))
    return out
