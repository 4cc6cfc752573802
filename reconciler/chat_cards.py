"""Slack and Microsoft Teams bodies: the same facts as the email's first screen, laid out for
each tool (Slack Block Kit sections; a Teams Adaptive Card 1.4 in a Workflows message). Pure.

Text from webhooks (account ids, plan names) is escaped for Slack's mrkdwn (``&``, ``<``,
``>``); an Adaptive Card's TextBlock does not interpret HTML.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _lines(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of the first screen: usage, forecast, crossing, overage, days left."""
    rows = []
    if data.get("used") is not None:
        allowance = data.get("allowance")
        rows.append(
            (
                f"{str(data['metric']).upper()} used",
                f"{data['used']} of {allowance}" if allowance else str(data["used"]),
            )
        )
    f = data.get("forecast")
    if f:
        rows.append(
            (
                "Forecast at cycle end",
                f"{f['value']} (band {f['low']}-{f['high']}, {f['confidence']} confidence)",
            )
        )
    if data.get("projected_crossing"):
        rows.append(("Projected crossing", str(data["projected_crossing"])[:16].replace("T", " ")))
    over = data.get("overage") or {}
    rows.append(
        (
            "Overage",
            f"${over.get('so_far', '0.00')} so far, ${over.get('projected', '0.00')} projected",
        )
    )
    if data.get("days_left") is not None:
        rows.append(("Days left", str(data["days_left"])))
    rec = data.get("recommendation")
    if rec:
        rows.append(
            ("Recommendation", f"{rec['cheapest']['action']} (${rec['cheapest']['total']})")
        )
    invoice = data.get("invoice")
    if invoice:
        rows.append(("Invoice estimate", f"${invoice['total']}"))
    return rows


def slack_message(title: str, headlines: Sequence[str], data: dict[str, Any]) -> str:
    """An incoming-webhook body: ``text`` (notifications) and Block Kit sections."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "\n".join(f"• {_slack_escape(h)}" for h in headlines)[:3000],
            },
        },
    ]
    fields = [
        {"type": "mrkdwn", "text": f"*{_slack_escape(k)}*\n{_slack_escape(v)}"}
        for k, v in _lines(data)
    ][:10]  # Block Kit: 1 to 10 fields per section
    if fields:
        blocks.append({"type": "section", "fields": fields})
    link = (data.get("links") or {}).get("report")
    if link:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the report"},
                        "url": link,
                    }
                ],
            }
        )
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Sent by Meterwise"}]}
    )
    return json.dumps({"text": _slack_escape(title), "blocks": blocks}, sort_keys=True)


def teams_message(title: str, headlines: Sequence[str], data: dict[str, Any]) -> str:
    """A Teams Workflows webhook body: a message with one Adaptive Card attachment."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True},
        *({"type": "TextBlock", "text": h, "wrap": True} for h in headlines),
    ]
    facts = [{"title": k, "value": v} for k, v in _lines(data)]
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    link = (data.get("links") or {}).get("report")
    if link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the report", "url": link}]
    message = {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }
    return json.dumps(message, sort_keys=True)
