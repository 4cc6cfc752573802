"""Accounts in the config: one monitored provider account each, validated at start."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from meterwise.config.alert_rules import AlertRules, _alert_rules
from meterwise.config.channels import Channel, parse_channels
from meterwise.config.errors import ConfigError, UnknownPlan
from meterwise.config.options import needs_secrets, parse_options, schemas, secret_problem
from meterwise.config.plans import Catalog, _money

_ACCOUNT_KEYS = {
    "id",
    "provider",
    "app_id",
    "plan",
    "cycle_anchor",
    "timezone",
    "webhook_secrets",
    "signature_tolerance_s",
    "plan_changes",
    "cancel_at",
    "internal_email_domains",
    "cost_per_mau",
    "recording_rounding",
    "alert_emails",
    "alert_channels",
    "options",
    "alerts",
}


@dataclass(frozen=True, slots=True)
class PlanChange:
    """A plan switch requested at an instant (an upgrade applies at once, a downgrade later)."""

    at: datetime
    plan: str


@dataclass(frozen=True, slots=True)
class Account:
    """One monitored provider account; its id appears in the webhook URL."""

    id: str
    provider: str
    plan: str
    cycle_anchor: date
    timezone: str = "UTC"
    app_id: str | None = None
    webhook_secrets: tuple[str, ...] = ()
    signature_tolerance_s: int = 300
    plan_changes: tuple[PlanChange, ...] = ()
    cancel_at: datetime | None = None
    internal_email_domains: tuple[str, ...] = ()
    cost_per_mau: Decimal | None = None
    recording_rounding: str = "up"
    alert_emails: tuple[str, ...] = ()
    alert_channels: tuple[Channel, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    alerts: AlertRules = field(default_factory=AlertRules)

    @property
    def tz(self) -> ZoneInfo:
        """The account's timezone."""
        return ZoneInfo(self.timezone)


class Lenient(dict[str, str]):
    """An environment for accounts a command does not use: unset variables read as a
    placeholder, so one account's missing secret never stops a command about another."""

    PLACEHOLDER = "unset-secret-of-an-account-this-command-does-not-use"

    def __init__(self, environ: Mapping[str, str]) -> None:
        super().__init__(environ)

    def __getitem__(self, key: str) -> str:
        return self.get(key) or self.PLACEHOLDER

    def __contains__(self, key: object) -> bool:
        return True


def resolve_secret(key: str, value: Any, environ: Mapping[str, str]) -> str:
    """Return an inline secret, or the variable named by ``env:NAME``."""
    if not isinstance(value, str) or not value:
        raise ConfigError(key, "must be a non-empty string")
    if value.startswith("env:"):
        name = value[4:]
        if name not in environ or not environ[name]:
            raise ConfigError(key, f"environment variable {name} is not set")
        return environ[name]
    return value


def _instant(key: str, value: Any, tz: ZoneInfo) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(key, f"not an ISO instant: {value!r}") from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise ConfigError(key, "must be a date-time")
    instant: datetime = value if value.tzinfo else value.replace(tzinfo=tz)
    return instant.astimezone(UTC)


def _int(key: str, value: Any, minimum: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(key, f"must be a whole number >= {minimum}")
    return value


def _bounded(key: str, value: Any, minimum: int, maximum: int) -> int:
    if _int(key, value, minimum) > maximum:
        raise ConfigError(key, f"must be a whole number between {minimum} and {maximum}")
    return int(value)


def _strings(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(key, "must be a list of strings")
    return tuple(value)


def _account(i: int, raw: Any, catalog: Catalog, environ: Mapping[str, str]) -> Account:
    key = f"accounts[{i}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(key, "must be a table")
    unknown = set(raw) - _ACCOUNT_KEYS
    if unknown:
        raise ConfigError(f"{key}.{sorted(unknown)[0]}", "unknown key")
    for required in ("id", "provider", "plan", "cycle_anchor"):
        if required not in raw:
            raise ConfigError(f"{key}.{required}", "missing")
    account_id = raw["id"]
    if (
        not isinstance(account_id, str)
        or not account_id.replace("-", "").replace("_", "").isalnum()
    ):
        raise ConfigError(f"{key}.id", "letters, digits, '-' and '_' only")
    key = f"accounts.{account_id}"
    providers = tuple(sorted(schemas()))
    if raw["provider"] not in providers:
        raise ConfigError(f"{key}.provider", f"must be one of {providers}")
    timezone = raw.get("timezone", "UTC")
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{key}.timezone", f"unknown timezone {timezone!r}") from None
    anchor = raw["cycle_anchor"]
    if isinstance(anchor, str):
        try:
            anchor = date.fromisoformat(anchor)
        except ValueError:
            raise ConfigError(f"{key}.cycle_anchor", f"not a date: {anchor!r}") from None
    if not isinstance(anchor, date) or isinstance(anchor, datetime):
        raise ConfigError(f"{key}.cycle_anchor", "must be a date like 2026-03-08")
    plans = [raw["plan"]]
    changes = []
    for j, change in enumerate(raw.get("plan_changes", [])):
        ckey = f"{key}.plan_changes[{j}]"
        if not isinstance(change, Mapping) or "at" not in change or "plan" not in change:
            raise ConfigError(ckey, "needs 'at' and 'plan'")
        changes.append(PlanChange(_instant(f"{ckey}.at", change["at"], tz), str(change["plan"])))
        plans.append(str(change["plan"]))
    for plan_id in plans:
        try:
            plan = catalog.get(plan_id)
        except UnknownPlan:
            raise ConfigError(f"{key}.plan", f"unknown plan {plan_id!r}") from None
        if plan.provider != raw["provider"]:
            raise ConfigError(f"{key}.plan", f"{plan_id!r} is a {plan.provider} plan")
    rounding = raw.get("recording_rounding", "up")
    if rounding not in ("up", "exact"):
        raise ConfigError(f"{key}.recording_rounding", "must be 'up' or 'exact'")
    secrets = _strings(f"{key}.webhook_secrets", raw.get("webhook_secrets", []))
    cost = raw.get("cost_per_mau")
    if needs_secrets(raw["provider"]) and not secrets:
        raise ConfigError(f"{key}.webhook_secrets", f"a {raw['provider']} account needs one")
    resolved = tuple(
        resolve_secret(f"{key}.webhook_secrets[{j}]", s, environ) for j, s in enumerate(secrets)
    )
    for j, secret in enumerate(resolved):
        problem = secret_problem(raw["provider"], secret)
        if problem and secret != Lenient.PLACEHOLDER:
            raise ConfigError(f"{key}.webhook_secrets[{j}]", problem)
    app_id = raw.get("app_id")
    if app_id is not None and (not isinstance(app_id, str) or not app_id):
        raise ConfigError(f"{key}.app_id", "must be a non-empty string")
    options = parse_options(
        f"{key}.options",
        raw["provider"],
        raw.get("options", {}),
        lambda k, v: resolve_secret(k, v, environ),
    )
    return Account(
        id=account_id,
        provider=raw["provider"],
        plan=raw["plan"],
        cycle_anchor=anchor,
        timezone=timezone,
        app_id=app_id,
        webhook_secrets=resolved,
        signature_tolerance_s=_bounded(
            f"{key}.signature_tolerance_s", raw.get("signature_tolerance_s", 300), 1, 86400
        ),
        plan_changes=tuple(sorted(changes, key=lambda c: c.at)),
        cancel_at=_instant(f"{key}.cancel_at", raw["cancel_at"], tz)
        if "cancel_at" in raw
        else None,
        internal_email_domains=_strings(
            f"{key}.internal_email_domains", raw.get("internal_email_domains", [])
        ),
        cost_per_mau=None if cost is None else _money(f"{key}.cost_per_mau", cost),
        recording_rounding=rounding,
        alert_emails=_strings(f"{key}.alert_emails", raw.get("alert_emails", [])),
        alert_channels=parse_channels(
            f"{key}.alert_channels", raw.get("alert_channels", []), _channel_secret(environ)
        ),
        options=options,
        alerts=_alert_rules(f"{key}.alerts", raw.get("alerts", {})),
    )


def _channel_secret(environ: Mapping[str, str]) -> Callable[[str, Any], str]:
    """Resolve a channel's ``env:`` values; for an account the command does not use, an unset
    one reads as a valid stand-in (its URL and secret are never used)."""

    def resolve(key: str, value: Any) -> str:
        found = resolve_secret(key, value, environ)
        if found != Lenient.PLACEHOLDER:
            return found
        return "whsec_" + "A" * 32 if key.endswith(".secret") else "http://unset.invalid/"

    return resolve
