"""The plan catalog: plans are data (TOML), validated into frozen `Plan` values."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from types import MappingProxyType
from typing import Any

from meterwise.config.errors import ConfigError, UnknownPlan

CYCLE_KINDS = ("anchored", "calendar")
MAX_AMOUNT = Decimal("1000000000")
MINUTES_PER = ("participant", "session")
_PLAN_KEYS = {
    "extends",
    "provider",
    "name",
    "price",
    "cycle",
    "allowances",
    "overage_rates",
    "usage_rates",
    "pcc_allowance_ratio",
    "minutes_per",
}


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class Plan:
    """One subscription plan: its price per cycle, allowances and per-unit rates."""

    id: str
    provider: str
    name: str
    price: Decimal
    cycle: str = "anchored"
    allowances: Mapping[str, int] = field(default_factory=lambda: _frozen({}))
    overage_rates: Mapping[str, Decimal] = field(default_factory=lambda: _frozen({}))
    usage_rates: Mapping[str, Decimal] = field(default_factory=lambda: _frozen({}))
    minutes_per: str = "participant"

    def allowance(self, metric: str) -> int | None:
        """Included units of ``metric`` per cycle, or None when the plan has no allowance."""
        return self.allowances.get(metric)


@dataclass(frozen=True, slots=True)
class Catalog:
    """The plans in force: the built-in catalog with the user's overrides applied."""

    plans: Mapping[str, Plan]

    def get(self, plan_id: str) -> Plan:
        """Return the plan called ``plan_id`` or raise `UnknownPlan`."""
        try:
            return self.plans[plan_id]
        except KeyError:
            raise UnknownPlan(plan_id) from None

    def for_provider(self, provider: str) -> list[Plan]:
        """Plans of one provider, cheapest first."""
        found = [p for p in self.plans.values() if p.provider == provider]
        return sorted(found, key=lambda p: (p.price, p.id))


def builtin_plan_tables() -> dict[str, Any]:
    """The raw `[plans.*]` tables shipped in ``config/plans.toml``."""
    text = resources.files("meterwise.config").joinpath("plans.toml").read_text(encoding="utf-8")
    return dict(tomllib.loads(text)["plans"])


def _money(key: str, value: Any) -> Decimal:
    if isinstance(value, float):
        raise ConfigError(key, 'write money as a string, e.g. "0.99", never a float')
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(key, f"not an amount: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ConfigError(key, f"must be a non-negative amount, got {value!r}")
    if amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.000001")):
        raise ConfigError(key, f"must be at most {MAX_AMOUNT} with 6 decimals or fewer")
    return amount


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _resolve(plan_id: str, tables: Mapping[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
    table = tables[plan_id]
    if not isinstance(table, Mapping):
        raise ConfigError(f"plans.{plan_id}", "must be a table")
    parent = table.get("extends")
    if parent is None:
        return dict(table)
    if parent in seen:
        raise ConfigError(f"plans.{plan_id}.extends", f"circular: {' -> '.join(seen)}")
    if parent not in tables:
        raise ConfigError(f"plans.{plan_id}.extends", f"unknown plan {parent!r}")
    return _merge(_resolve(parent, tables, (*seen, parent)), table)


def _build(plan_id: str, raw: Mapping[str, Any]) -> Plan:
    key = f"plans.{plan_id}"
    unknown = set(raw) - _PLAN_KEYS
    if unknown:
        raise ConfigError(f"{key}.{sorted(unknown)[0]}", "unknown key")
    for required in ("provider", "price"):
        if required not in raw:
            raise ConfigError(f"{key}.{required}", "missing")
    cycle = raw.get("cycle", "anchored")
    if cycle not in CYCLE_KINDS:
        raise ConfigError(f"{key}.cycle", f"must be one of {CYCLE_KINDS}")
    minutes_per = raw.get("minutes_per", "participant")
    if minutes_per not in MINUTES_PER:
        raise ConfigError(f"{key}.minutes_per", f"must be one of {MINUTES_PER}")
    allowances: dict[str, int] = {}
    for metric, units in dict(raw.get("allowances", {})).items():
        if not isinstance(units, int) or isinstance(units, bool) or units < 0:
            raise ConfigError(f"{key}.allowances.{metric}", "must be a whole number >= 0")
        allowances[metric] = units
    if "pcc_allowance_ratio" in raw and "pcc" not in allowances and "mau" in allowances:
        ratio = _money(f"{key}.pcc_allowance_ratio", raw["pcc_allowance_ratio"])
        allowances["pcc"] = int(allowances["mau"] * ratio)
    rates = {
        name: {m: _money(f"{key}.{name}.{m}", v) for m, v in dict(raw.get(name, {})).items()}
        for name in ("overage_rates", "usage_rates")
    }
    return Plan(
        id=plan_id,
        provider=str(raw["provider"]),
        name=str(raw.get("name", plan_id)),
        price=_money(f"{key}.price", raw["price"]),
        cycle=cycle,
        allowances=_frozen(allowances),
        overage_rates=_frozen(rates["overage_rates"]),
        usage_rates=_frozen(rates["usage_rates"]),
        minutes_per=minutes_per,
    )


def load_catalog(overrides: Mapping[str, Any] | None = None) -> Catalog:
    """Build the catalog from the built-in plans and the user's `[plans.<id>]` tables.

    An override of an existing plan changes only the keys it names.
    """
    tables = builtin_plan_tables()
    for plan_id, table in (overrides or {}).items():
        if not isinstance(table, Mapping):
            raise ConfigError(f"plans.{plan_id}", "must be a table")
        tables[plan_id] = _merge(tables.get(plan_id, {}), table)
    plans = {pid: _build(pid, _resolve(pid, tables, (pid,))) for pid in tables}
    return Catalog(plans=_frozen(plans))
