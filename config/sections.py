"""The `[checks]` and `[api]` config sections."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from meterwise.config.errors import ConfigError

CHECK_KEYS = {
    "silence_alert_s",
    "open_interval_max_age_s",
    "recording_upload_grace_s",
    "link_expiry_warning_s",
}
API_KEYS = {"jwt_secret"}


@dataclass(frozen=True, slots=True)
class CheckSettings:
    """Thresholds of the consistency checks."""

    silence_alert_s: int = 3 * 3600  # a gap this long at busy hours is reported
    open_interval_max_age_s: int = 4 * 3600  # STARTED with no ENDED after this long
    recording_upload_grace_s: int = 3600  # RECORDING_ENDED with no upload after this long
    link_expiry_warning_s: int = 6 * 3600  # links JaaS deletes within this long


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """The HTTP API's JWT secret; None means the API answers 503 (not configured)."""

    jwt_secret: str | None = None


def _section(name: str, raw: Any, keys: set[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigError(name, "must be a table")
    unknown = set(raw) - keys
    if unknown:
        raise ConfigError(f"{name}.{sorted(unknown)[0]}", "unknown key")
    return raw


def parse_checks(raw: Any) -> CheckSettings:
    """`[checks]`: whole seconds >= 1, each optional."""
    section = _section("checks", raw, CHECK_KEYS)
    values = {}
    for key, value in section.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"checks.{key}", "must be a whole number of seconds >= 1")
        values[key] = value
    return CheckSettings(**values)


def parse_api(raw: Any, resolve: Callable[[str, Any], str]) -> ApiSettings:
    """`[api]`: ``jwt_secret`` inline or ``env:NAME``, at least 32 characters."""
    section = _section("api", raw, API_KEYS)
    if "jwt_secret" not in section:
        return ApiSettings()
    secret = resolve("api.jwt_secret", section["jwt_secret"])
    if len(secret) < 32:
        raise ConfigError("api.jwt_secret", "must be at least 32 characters (HS256 key)")
    return ApiSettings(jwt_secret=secret)
