"""Provider-specific account options: their names, types, defaults and what is required.

Each provider declares the options it reads as ``OPTIONS`` in its module under
``receiver/providers/``; a misspelt or missing option fails at start with the key named.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from meterwise.config.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Option:
    """One option: its type check, default and whether the account must set it."""

    kind: type
    default: Any = None
    required: bool = False
    secret: bool = False
    min_length: int = 0  # strings: at least this long (passwords, shared secrets)
    pattern: str | None = None  # strings: must match this regular expression
    maximum: int | None = None  # whole numbers: at most this


KIND_NAMES = {str: "a string", bool: "true or false", int: "a whole number", list: "a list"}


def schemas() -> dict[str, dict[str, Option]]:
    """Every provider's options, declared as ``OPTIONS`` in its receiver module."""
    from meterwise.receiver.providers import PROVIDERS

    return {name: dict(getattr(module, "OPTIONS", {})) for name, module in PROVIDERS.items()}


def secret_problem(provider: str, secret: str) -> str | None:
    """Why ``secret`` cannot sign this provider's webhooks, or None when it can."""
    from meterwise.receiver.providers import PROVIDERS

    check = getattr(PROVIDERS.get(provider), "secret_problem", None)
    return None if check is None else check(secret)


def needs_secrets(provider: str) -> bool:
    """True when the provider's webhooks are HMAC-signed with ``webhook_secrets``."""
    from meterwise.receiver.providers import PROVIDERS

    return bool(getattr(PROVIDERS.get(provider), "NEEDS_SECRETS", False))


def parse_options(
    key: str, provider: str, raw: Any, resolve: Callable[[str, str], str]
) -> dict[str, Any]:
    """Validated options with defaults filled in; ``resolve`` expands ``env:NAME`` secrets."""
    if not isinstance(raw, Mapping):
        raise ConfigError(key, "must be a table")
    schema = schemas().get(provider, {})
    unknown = sorted(set(raw) - set(schema))
    if unknown:
        known = ", ".join(sorted(schema)) or "none"
        raise ConfigError(f"{key}.{unknown[0]}", f"unknown option for {provider} (known: {known})")
    out: dict[str, Any] = {}
    for name, option in schema.items():
        value = raw.get(name, option.default)
        if value is None:
            if option.required:
                raise ConfigError(f"{key}.{name}", f"required for a {provider} account")
            continue
        if isinstance(value, str) and value.startswith("env:"):
            value = resolve(f"{key}.{name}", value)
        bad_bool = option.kind is int and isinstance(value, bool)
        if not isinstance(value, option.kind) or bad_bool:
            raise ConfigError(f"{key}.{name}", f"must be {KIND_NAMES[option.kind]}")
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key}.{name}", "must be a list of strings")
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            raise ConfigError(f"{key}.{name}", "must be a whole number >= 1")
        if option.maximum is not None and isinstance(value, int) and value > option.maximum:
            raise ConfigError(f"{key}.{name}", f"must be a whole number <= {option.maximum}")
        if (option.required or option.pattern) and value == "":
            raise ConfigError(f"{key}.{name}", "must not be empty")
        if isinstance(value, str) and len(value) < option.min_length:
            raise ConfigError(f"{key}.{name}", f"must be at least {option.min_length} characters")
        if isinstance(value, str) and option.pattern and not re.fullmatch(option.pattern, value):
            raise ConfigError(f"{key}.{name}", f"not valid here: {value!r}")
        out[name] = value
    if out.get("pseudonymize") and not out.get("pseudonymize_key"):
        raise ConfigError(f"{key}.pseudonymize_key", "required when pseudonymize = true")
    return out
