"""Provider-specific account options: their names, types, defaults and what is required.

Each provider's options are declared in ``config/providers.py`` (its adapter under
``receiver/providers/`` reads them); a misspelt or missing option fails at start with the
key named.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from meterwise.config.errors import ConfigError
from meterwise.config.providers import OPTIONS, SECRET_CHECKS, SIGNED, Option

__all__ = ["Option", "needs_secrets", "parse_options", "schemas", "secret_problem"]


def schemas() -> dict[str, dict[str, Option]]:
    """Every provider's options."""
    return {name: dict(options) for name, options in OPTIONS.items()}


def secret_problem(provider: str, secret: str) -> str | None:
    """Why ``secret`` cannot sign this provider's webhooks, or None when it can."""
    check = SECRET_CHECKS.get(provider)
    return None if check is None else check(secret)


def needs_secrets(provider: str) -> bool:
    """True when the provider's webhooks are HMAC-signed with ``webhook_secrets``."""
    return provider in SIGNED


KIND_NAMES = {str: "a string", bool: "true or false", int: "a whole number", list: "a list"}


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
