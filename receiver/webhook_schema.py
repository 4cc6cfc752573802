"""The JSON Schema of the signed webhooks Meterwise sends (`alert_channels` of kind
`webhook`), published in `/openapi.json` under ``webhooks`` and checked against real bodies
by the tests."""

from __future__ import annotations

from typing import Any

_MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2}$"}
_INSTANT = {"type": ["string", "null"], "format": "date-time"}
_NUMBER = {"type": ["string", "null"], "description": "a whole or decimal figure, as text"}

CHANNEL_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["type", "timestamp", "data"],
    "properties": {
        "type": {
            "type": "string",
            "enum": [
                "alert.threshold",
                "alert.forecast",
                "alert.cost",
                "alert.ingest",
                "cycle.closed",
                "cycle.corrected",
                "test",
            ],
        },
        "timestamp": {"type": "string", "format": "date-time"},
        "data": {
            "type": "object",
            "required": ["account", "links"],
            "properties": {
                "account": {"type": "string"},
                "provider": {"type": "string"},
                "plan": {"type": ["string", "null"]},
                "plan_name": {"type": ["string", "null"]},
                "cycle": {
                    "type": "object",
                    "properties": {"start": _INSTANT, "end": _INSTANT},
                },
                "days_left": {"type": "string"},
                "metric": {"type": "string"},
                "level": {"type": "string", "enum": ["info", "warning", "critical"]},
                "rule_level": {"type": "string"},
                "headline": {"type": "string"},
                "used": _NUMBER,
                "allowance": {"type": ["integer", "null"]},
                "forecast": {
                    "type": ["object", "null"],
                    "required": ["value", "low", "high", "confidence", "method"],
                    "properties": {
                        "value": _NUMBER,
                        "low": _NUMBER,
                        "high": _NUMBER,
                        "confidence": {"type": "string", "enum": ["low", "medium", "high"]},
                        "method": {"type": "string"},
                    },
                },
                "projected_crossing": _INSTANT,
                "overage": {
                    "type": "object",
                    "required": ["so_far", "projected"],
                    "properties": {"so_far": _MONEY, "projected": _MONEY},
                },
                "recommendation": {
                    "type": ["object", "null"],
                    "properties": {
                        "if_nothing_changes": {"anyOf": [_MONEY, {"type": "null"}]},
                        "upgrades": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["plan", "action", "total"],
                                "properties": {
                                    "plan": {"type": "string"},
                                    "action": {"type": "string"},
                                    "total": _MONEY,
                                },
                            },
                        },
                        "cheapest": {
                            "type": "object",
                            "required": ["action", "total"],
                            "properties": {"action": {"type": "string"}, "total": _MONEY},
                        },
                    },
                },
                "invoice": {
                    "type": "object",
                    "properties": {
                        "issued_on": _INSTANT,
                        "total": _MONEY,
                        "lines": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "correction": {"type": "object"},
                "links": {
                    "type": "object",
                    "properties": {"report": {"type": ["string", "null"], "format": "uri"}},
                },
                "timezone": {"type": "string"},
                "test": {"type": "boolean"},
            },
        },
    },
}
