"""The dashboard's sign-in: `[[users]]`, `[server] secret_key` and `[server] public_url`.

A user has a name, a password hash (werkzeug's ``scrypt:`` or ``pbkdf2:`` format, made by
`meterwise user hash`, inline or ``env:NAME``) and optionally the accounts they may see
(default: all). The dashboard is on only when there is at least one user and a secret key.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from meterwise.config.errors import ConfigError

USER_KEYS = {"name", "password_hash", "accounts"}
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_HASH = re.compile(r"^(scrypt|pbkdf2):[^$\s]+\$[^$\s]+\$[0-9a-f]+$")


@dataclass(frozen=True, slots=True)
class User:
    """One person who may sign in to the dashboard."""

    name: str
    password_hash: str
    accounts: frozenset[str] | None = None  # None: every account

    def sees(self, account: str) -> bool:
        """True when this user may see ``account``."""
        return self.accounts is None or account in self.accounts


def parse_users(
    raw: Any, account_ids: Collection[str], resolve: Callable[[str, Any], str]
) -> tuple[User, ...]:
    """`[[users]]`: unique names, a werkzeug password hash, accounts that exist."""
    if not isinstance(raw, list):
        raise ConfigError("users", "must be an array of tables ([[users]])")
    users: dict[str, User] = {}
    for i, entry in enumerate(raw):
        if not isinstance(entry, Mapping):
            raise ConfigError(f"users[{i}]", "must be a table")
        unknown = sorted(set(entry) - USER_KEYS)
        if unknown:
            known = ", ".join(sorted(USER_KEYS))
            raise ConfigError(f"users[{i}].{unknown[0]}", f"unknown key (known: {known})")
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"users[{i}].name", "must be 1-64 letters, digits or ._@-")
        key = f"users.{name}"
        if name in users:
            raise ConfigError(f"{key}.name", "duplicate user name")
        if "password_hash" not in entry:
            raise ConfigError(f"{key}.password_hash", "missing (make one: meterwise user hash)")
        hashed = resolve(f"{key}.password_hash", entry["password_hash"])
        if not _HASH.match(hashed):
            raise ConfigError(
                f"{key}.password_hash", "not a password hash (make one: meterwise user hash)"
            )
        accounts = entry.get("accounts")
        if accounts is not None:
            if not isinstance(accounts, list) or not all(isinstance(a, str) for a in accounts):
                raise ConfigError(f"{key}.accounts", "must be a list of account ids")
            missing = sorted(set(accounts) - set(account_ids))
            if missing:
                raise ConfigError(f"{key}.accounts", f"no account {missing[0]!r} is configured")
        users[name] = User(name, hashed, frozenset(accounts) if accounts is not None else None)
    return tuple(users.values())


def parse_public_url(value: Any) -> str | None:
    """`[server] public_url`: an absolute http(s) URL without query, kept without a final /."""
    if value is None:
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("server.public_url", "must be an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise ConfigError("server.public_url", "must not have a query or fragment")
    return str(value).rstrip("/")


def parse_proxies(value: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """`[server] forwarded_allow_ips`: comma-separated addresses or networks of the proxies
    whose X-Forwarded-* headers are trusted (e.g. "127.0.0.1, 10.0.0.0/8")."""
    if value is None:
        return ()
    out = []
    for part in str(value).split(","):
        try:
            out.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            raise ConfigError(
                "server.forwarded_allow_ips", f"not an address or network: {part.strip()!r}"
            ) from None
    return tuple(out)
