"""Settings: one TOML file, validated into frozen dataclasses at start."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from meterwise.config.accounts import (
    _ACCOUNT_KEYS,
    Account,
    AlertRules,
    PlanChange,
    _account,
    _int,
    resolve_secret,
)
from meterwise.config.errors import ConfigError
from meterwise.config.plans import Catalog, load_catalog
from meterwise.config.sections import ApiSettings, CheckSettings, parse_api, parse_checks

__all__ = [
    "_ACCOUNT_KEYS",
    "Account",
    "AlertRules",
    "EmailSettings",
    "PlanChange",
    "Settings",
    "find_config",
    "load_settings",
    "parse_settings",
    "resolve_secret",
]

SYNCHRONOUS = ("normal", "full")


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """SMTP server and sender; ``host`` None means email is off."""

    host: str | None = None
    port: int = 25
    security: str = "none"
    username: str | None = None
    password: str | None = None
    sender: str = "meterwise@localhost"
    timeout_s: int = 30


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service needs, validated."""

    storage_path: Path
    accounts: Mapping[str, Account]
    catalog: Catalog
    synchronous: str = "normal"
    max_body_bytes: int = 1024 * 1024
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    source: str = "built-in demo config"
    email: EmailSettings = field(default_factory=EmailSettings)
    reconcile_every_s: int = 900
    close_grace_s: int = 3600
    scheduler: bool = True
    checks: CheckSettings = field(default_factory=CheckSettings)
    api: ApiSettings = field(default_factory=ApiSettings)


def _email(raw: Any, environ: Mapping[str, str]) -> EmailSettings:
    if not isinstance(raw, Mapping):
        raise ConfigError("email", "must be a table")
    unknown = set(raw) - {"host", "port", "security", "username", "password", "from", "timeout_s"}
    if unknown:
        raise ConfigError(f"email.{sorted(unknown)[0]}", "unknown key")
    security = raw.get("security", "none")
    if security not in ("none", "starttls", "tls"):
        raise ConfigError("email.security", "must be 'none', 'starttls' or 'tls'")
    password = raw.get("password")
    return EmailSettings(
        host=raw.get("host"),
        port=_int("email.port", raw.get("port", 465 if security == "tls" else 25), 1),
        security=security,
        username=raw.get("username"),
        password=None if password is None else resolve_secret("email.password", password, environ),
        sender=str(raw.get("from", "meterwise@localhost")),
        timeout_s=_int("email.timeout_s", raw.get("timeout_s", 30), 1),
    )


def parse_settings(data: Mapping[str, Any], environ: Mapping[str, str], source: str) -> Settings:
    """Validate a parsed TOML document into `Settings`; raise `ConfigError` naming the key."""
    known = {
        "storage",
        "server",
        "receiver",
        "accounts",
        "plans",
        "email",
        "reconcile",
        "checks",
        "api",
    }
    unknown = set(data) - known
    if unknown:
        raise ConfigError(sorted(unknown)[0], "unknown section")
    catalog = load_catalog(data.get("plans", {}))
    storage = data.get("storage", {})
    server = data.get("server", {})
    receiver = data.get("receiver", {})
    path = storage.get("path", "var/meterwise.db")
    if not isinstance(path, str) or not path:
        raise ConfigError("storage.path", "must be a file path")
    synchronous = storage.get("synchronous", "normal")
    if synchronous not in SYNCHRONOUS:
        raise ConfigError("storage.synchronous", f"must be one of {SYNCHRONOUS}")
    raw_accounts = data.get("accounts", [])
    if not isinstance(raw_accounts, list):
        raise ConfigError("accounts", "must be an array of tables ([[accounts]])")
    accounts: dict[str, Account] = {}
    for i, raw in enumerate(raw_accounts):
        account = _account(i, raw, catalog, environ)
        if account.id in accounts:
            raise ConfigError(f"accounts.{account.id}.id", "duplicate account id")
        accounts[account.id] = account
    reconcile = data.get("reconcile", {})
    unknown = set(reconcile) - {"reconcile_every_s", "close_grace_s", "scheduler"}
    if unknown:
        raise ConfigError(f"reconcile.{sorted(unknown)[0]}", "unknown key")
    return Settings(
        checks=parse_checks(data.get("checks", {})),
        api=parse_api(data.get("api", {}), lambda k, v: resolve_secret(k, v, environ)),
        email=_email(data.get("email", {}), environ),
        reconcile_every_s=_int(
            "reconcile.reconcile_every_s", reconcile.get("reconcile_every_s", 900), 1
        ),
        close_grace_s=_int("reconcile.close_grace_s", reconcile.get("close_grace_s", 3600), 0),
        scheduler=bool(reconcile.get("scheduler", True)),
        storage_path=Path(path),
        accounts=accounts,
        catalog=catalog,
        synchronous=synchronous,
        max_body_bytes=_int("receiver.max_body_bytes", receiver.get("max_body_bytes", 1 << 20), 1),
        host=str(server.get("host", "127.0.0.1")),
        port=_int("server.port", server.get("port", 8000), 1),
        workers=_int("server.workers", server.get("workers", 2), 1),
        source=source,
    )


def find_config(explicit: str | None, environ: Mapping[str, str]) -> Path | None:
    """``--config``, else ``$METERWISE_CONFIG``, else ``./meterwise.toml``, else None (demo)."""
    if explicit:
        return Path(explicit)
    if environ.get("METERWISE_CONFIG"):
        return Path(environ["METERWISE_CONFIG"])
    local = Path("meterwise.toml")
    return local if local.exists() else None


def load_settings(path: str | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Find, read and validate the configuration (the built-in demo config as a last resort)."""
    environ = os.environ if environ is None else environ
    found = find_config(path, environ)
    if found is None:
        text = resources.files("meterwise.config").joinpath("demo.toml").read_text(encoding="utf-8")
        source = "built-in demo config"
    else:
        try:
            text = found.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(str(found), f"cannot read: {exc.strerror}") from None
        source = str(found)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, f"not valid TOML: {exc}") from None
    return parse_settings(data, environ, source)
