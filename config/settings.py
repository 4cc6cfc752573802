"""Settings: one TOML file, validated into frozen dataclasses at start."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from meterwise.config.accounts import (
    _ACCOUNT_KEYS,
    Account,
    Lenient,
    PlanChange,
    _account,
    resolve_secret,
)
from meterwise.config.alert_rules import AlertRules
from meterwise.config.engine import shown, storage_url
from meterwise.config.errors import ConfigError
from meterwise.config.plans import Catalog, load_catalog
from meterwise.config.schema import SECTIONS, read_section
from meterwise.config.sections import ApiSettings, CheckSettings, parse_api, parse_checks
from meterwise.config.users import User, parse_proxies, parse_public_url, parse_users

__all__ = [
    "_ACCOUNT_KEYS",
    "Account",
    "AlertRules",
    "EmailSettings",
    "PlanChange",
    "Settings",
    "User",
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
    threads: int = 8
    read_timeout_s: int = 10
    max_future_s: int = 86400
    max_auth_failures: int = 20
    min_free_mb: int = 100
    retain_raw_days: int | None = None  # None: keep raw bodies and personal fields
    users: tuple[User, ...] = ()
    secret_key: str | None = None  # signs dashboard session cookies
    public_url: str | None = None  # where people reach this service (links in emails)
    storage_url: str | None = None  # postgresql://...: the shared database (None: SQLite)
    forwarded_allow_ips: tuple[Any, ...] = ()  # proxies whose X-Forwarded-* are trusted

    @property
    def database(self) -> str:
        """Where the data lives, for people: the SQLite file, or the URL without password."""
        return shown(self.storage_url) if self.storage_url else str(self.storage_path)

    @property
    def dashboard_on(self) -> bool:
        """The dashboard needs users to sign in and a key to sign their sessions."""
        return bool(self.users) and self.secret_key is not None


def _email(raw: Any, resolve: Any) -> EmailSettings:
    values = read_section("email", raw, SECTIONS["email"], resolve)
    security = values["security"]
    sender = values["from"]
    if "@" not in sender:
        raise ConfigError("email.from", f"not an email address: {sender!r}")
    port = values["port"] if values["port"] is not None else (465 if security == "tls" else 25)
    return EmailSettings(
        host=values["host"],
        port=port,
        security=security,
        username=values["username"],
        password=values["password"],
        sender=sender,
        timeout_s=values["timeout_s"],
    )


def parse_settings(
    data: Mapping[str, Any],
    environ: Mapping[str, str],
    source: str,
    needed: Collection[str] | None = None,
) -> Settings:
    """Validate a parsed TOML document into `Settings`; raise `ConfigError` naming the key.

    ``needed``: the accounts a command works on; other accounts are validated, but an unset
    ``env:`` secret of theirs is no error (None: every account is needed, as `serve` needs).
    """
    known = {*SECTIONS, "accounts", "plans", "checks", "api", "users"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(sorted(unknown)[0], "unknown section")

    def resolve(key: str, value: Any) -> str:
        return resolve_secret(key, value, environ)

    catalog = load_catalog(data.get("plans", {}))
    storage = read_section("storage", data.get("storage", {}), SECTIONS["storage"], resolve)
    server = read_section("server", data.get("server", {}), SECTIONS["server"], resolve)
    receiver = read_section("receiver", data.get("receiver", {}), SECTIONS["receiver"])
    reconcile = read_section("reconcile", data.get("reconcile", {}), SECTIONS["reconcile"])
    raw_accounts = data.get("accounts", [])
    if not isinstance(raw_accounts, list):
        raise ConfigError("accounts", "must be an array of tables ([[accounts]])")
    accounts: dict[str, Account] = {}
    for i, raw in enumerate(raw_accounts):
        wanted = needed is None or (isinstance(raw, Mapping) and raw.get("id") in needed)
        account = _account(i, raw, catalog, environ if wanted else Lenient(environ))
        if account.id in accounts:
            raise ConfigError(f"accounts.{account.id}.id", "duplicate account id")
        accounts[account.id] = account
    return Settings(
        checks=parse_checks(data.get("checks", {})),
        api=parse_api(data.get("api", {}), resolve),
        email=_email(data.get("email", {}), resolve),
        reconcile_every_s=reconcile["reconcile_every_s"],
        close_grace_s=reconcile["close_grace_s"],
        scheduler=reconcile["scheduler"],
        storage_path=Path(storage["path"]),
        storage_url=storage_url(data.get("storage", {}), storage["url"], storage["password"]),
        accounts=accounts,
        catalog=catalog,
        synchronous=storage["synchronous"],
        min_free_mb=storage["min_free_mb"],
        retain_raw_days=storage["retain_raw_days"],
        max_body_bytes=receiver["max_body_bytes"],
        read_timeout_s=receiver["read_timeout_s"],
        max_future_s=receiver["max_future_s"],
        max_auth_failures=receiver["max_auth_failures"],
        host=server["host"],
        port=server["port"],
        workers=server["workers"],
        threads=server["threads"],
        users=parse_users(data.get("users", []), accounts, resolve),
        secret_key=server["secret_key"],
        public_url=parse_public_url(server["public_url"]),
        forwarded_allow_ips=parse_proxies(server["forwarded_allow_ips"]),
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


def load_settings(
    path: str | None = None,
    environ: Mapping[str, str] | None = None,
    needed: Collection[str] | None = None,
) -> Settings:
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
    return parse_settings(data, environ, source, needed)
