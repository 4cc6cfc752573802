"""One declarative description of the config's plain sections, and its strict validator.

Each section is a table of `Key` values: a type, a default and bounds. Unknown keys are refused
in every section, types are strict (``"false"`` is not a boolean, ``25`` is not a host name),
numbers are bounded, and every error names the key (``server.port``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from meterwise.config.errors import ConfigError

_HOSTNAME = re.compile(r"^[A-Za-z0-9._:\-\[\]]{1,253}$")
_HEADER_SAFE = re.compile(r"^[^\r\n\x00]*$")


@dataclass(frozen=True, slots=True)
class Key:
    """One config key: ``kind`` is int, bool, str, host, choice or secret."""

    kind: str
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    min_length: int = 0


def _whole(key: str, value: Any, spec: Key) -> int:
    low = spec.minimum if spec.minimum is not None else 0
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(key, f"must be a whole number >= {low}")
    if spec.maximum is not None and value > spec.maximum:
        raise ConfigError(key, f"must be a whole number between {low} and {spec.maximum}")
    return value


def check(key: str, value: Any, spec: Key, resolve: Callable[[str, Any], str]) -> Any:
    """``value`` validated against ``spec`` (secrets resolved), or `ConfigError` naming key."""
    if spec.kind == "int":
        return _whole(key, value, spec)
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(key, "must be true or false (without quotes)")
        return value
    if spec.kind == "choice":
        if value not in spec.choices:
            shown = ", ".join(f"'{c}'" for c in spec.choices)
            raise ConfigError(key, f"must be one of {shown}")
        return value
    if spec.kind == "secret":
        secret = resolve(key, value)
        if len(secret) < spec.min_length:
            raise ConfigError(key, f"must be at least {spec.min_length} characters")
        return secret
    if not isinstance(value, str) or len(value) < max(spec.min_length, 1):
        raise ConfigError(key, "must be a non-empty string")
    if not _HEADER_SAFE.match(value):
        raise ConfigError(key, "must not contain line breaks or NUL")
    if spec.kind == "host" and not _HOSTNAME.match(value):
        raise ConfigError(key, f"not a host name or address: {value!r}")
    return value


def read_section(
    name: str,
    raw: Any,
    keys: Mapping[str, Key],
    resolve: Callable[[str, Any], str] | None = None,
) -> dict[str, Any]:
    """Every key of section ``name`` validated, defaults filled in (None when unset)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(name, "must be a table")
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise ConfigError(f"{name}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(keys))})")

    def no_secrets(key: str, value: Any) -> str:
        raise ConfigError(key, "secrets are not read here")

    out = {}
    for key, spec in keys.items():
        value = raw.get(key, spec.default)
        out[key] = (
            None if value is None else check(f"{name}.{key}", value, spec, resolve or no_secrets)
        )
    return out


SECTIONS: dict[str, dict[str, Key]] = {
    "storage": {
        "path": Key("str", "var/meterwise.db"),
        "synchronous": Key("choice", "normal", choices=("normal", "full")),
        "min_free_mb": Key("int", 100, 0, 1_000_000),
        "retain_raw_days": Key("int", None, 1, 36_500),
        "url": Key("secret"),
        "password": Key("secret"),
    },
    "server": {
        "host": Key("host", "127.0.0.1"),
        "port": Key("int", 8000, 1, 65535),
        "workers": Key("int", 2, 1, 64),
        "threads": Key("int", 8, 1, 256),
        "secret_key": Key("secret", min_length=32),
        "public_url": Key("str"),
        "forwarded_allow_ips": Key("str"),
    },
    "receiver": {
        "max_body_bytes": Key("int", 1 << 20, 1, 64 << 20),
        "read_timeout_s": Key("int", 10, 1, 600),
        "max_future_s": Key("int", 86400, 0, 30 * 86400),
        "max_auth_failures": Key("int", 20, 1, 1_000_000),
    },
    "reconcile": {
        "reconcile_every_s": Key("int", 900, 1, 7 * 86400),
        "close_grace_s": Key("int", 3600, 0, 30 * 86400),
        "scheduler": Key("bool", True),
    },
    "email": {
        "host": Key("host"),
        "port": Key("int", None, 1, 65535),
        "security": Key("choice", "none", choices=("none", "starttls", "tls")),
        "username": Key("str"),
        "password": Key("secret"),
        "from": Key("str", "meterwise@localhost"),
        "timeout_s": Key("int", 30, 1, 3600),
    },
}
