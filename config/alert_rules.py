"""`[accounts.alerts]`: when an account's alerts fire (thresholds, forecast, cost)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from meterwise.config.errors import ConfigError
from meterwise.config.plans import _money

_ALERT_KEYS = {
    "thresholds",
    "forecast_moved_days",
    "overage_amount_alert",
    "forecast_min_confidence",
}
CONFIDENCE = ("low", "medium", "high")


@dataclass(frozen=True, slots=True)
class AlertRules:
    """When to warn: usage thresholds, forecast crossing, projected overage cost."""

    thresholds: tuple[Decimal, ...] = (
        Decimal("0.5"),
        Decimal("0.8"),
        Decimal("0.9"),
        Decimal("1.0"),
    )
    forecast_moved_days: int = 3
    overage_amount_alert: Decimal | None = None
    forecast_min_confidence: str = "medium"


def _int(key: str, value: Any, minimum: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(key, f"must be a whole number >= {minimum}")
    return value


def _alert_rules(key: str, raw: Any) -> AlertRules:
    if not isinstance(raw, Mapping):
        raise ConfigError(key, "must be a table")
    unknown = set(raw) - _ALERT_KEYS
    if unknown:
        raise ConfigError(f"{key}.{sorted(unknown)[0]}", "unknown key")
    defaults = AlertRules()
    thresholds = defaults.thresholds
    if "thresholds" in raw:
        values = raw["thresholds"]
        if (
            not isinstance(values, list)
            or not values
            or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 10
                for v in values
            )
        ):
            raise ConfigError(f"{key}.thresholds", "must be a list of shares like [0.5, 0.8]")
        thresholds = tuple(sorted(Decimal(str(v)) for v in values))
    amount = raw.get("overage_amount_alert")
    confidence = raw.get("forecast_min_confidence", defaults.forecast_min_confidence)
    if confidence not in CONFIDENCE:
        raise ConfigError(f"{key}.forecast_min_confidence", f"must be one of {CONFIDENCE}")
    return AlertRules(
        thresholds=thresholds,
        forecast_moved_days=_int(
            f"{key}.forecast_moved_days", raw.get("forecast_moved_days", 3), 0
        ),
        overage_amount_alert=None
        if amount is None
        else _money(f"{key}.overage_amount_alert", amount),
        forecast_min_confidence=confidence,
    )
