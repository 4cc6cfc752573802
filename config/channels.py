"""`[[accounts.alert_channels]]`: Slack, Microsoft Teams and signed webhooks beside email.

A channel is known by its kind and a digest of its URL (``slack:3f2a...``), so reordering the
list keeps each channel's queued messages, and a message queued for a URL that has since been
removed fails visibly instead of going somewhere else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from meterwise.config.errors import ConfigError
from meterwise.config.providers import standard_secret_problem

CHANNEL_KEYS = {"kind", "url", "secret", "events", "min_level"}
KINDS = ("slack", "teams", "webhook")
EVENTS = ("alert", "cycle_closed")
LEVELS = ("info", "warning", "critical")


@dataclass(frozen=True, slots=True)
class Channel:
    """Where an account's alerts go besides email."""

    kind: str
    url: str
    secret: str | None = None  # webhook: whsec_<base64>, signs with Standard Webhooks
    events: frozenset[str] = frozenset(EVENTS)
    min_level: str = "info"

    @property
    def ident(self) -> str:
        """Stable name in the outbox: the kind and the first 12 hex of the URL's SHA-256."""
        return f"{self.kind}:{hashlib.sha256(self.url.encode()).hexdigest()[:12]}"

    def wants(self, event: str, level: str) -> bool:
        """True when this channel takes ``event`` ("alert", "cycle_closed") at ``level``."""
        return event in self.events and LEVELS.index(level) >= LEVELS.index(self.min_level)


def _url(key: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(key, "must be an http:// or https:// URL")
    return value


def parse_channels(key: str, raw: Any, resolve: Callable[[str, Any], str]) -> tuple[Channel, ...]:
    """Validate an account's ``alert_channels``; every error names the key."""
    if not isinstance(raw, list):
        raise ConfigError(key, "must be an array of tables ([[accounts.alert_channels]])")
    out: list[Channel] = []
    for i, entry in enumerate(raw):
        at = f"{key}[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(at, "must be a table")
        unknown = sorted(set(entry) - CHANNEL_KEYS)
        if unknown:
            raise ConfigError(
                f"{at}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(CHANNEL_KEYS))})"
            )
        kind = entry.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"{at}.kind", f"must be one of {', '.join(KINDS)}")
        if "url" not in entry:
            raise ConfigError(f"{at}.url", "missing")
        url = _url(f"{at}.url", resolve(f"{at}.url", entry["url"]))
        secret = None
        if kind == "webhook":
            if "secret" not in entry:
                raise ConfigError(f"{at}.secret", "missing (whsec_<base64>, to sign the webhook)")
            secret = resolve(f"{at}.secret", entry["secret"])
            problem = (
                standard_secret_problem(secret)
                if secret.startswith("whsec_")
                else ("must start with whsec_ (whsec_<base64>)")
            )
            if problem:
                raise ConfigError(f"{at}.secret", problem)
        elif "secret" in entry:
            raise ConfigError(f"{at}.secret", f"only a webhook channel is signed, not {kind}")
        events = entry.get("events", list(EVENTS))
        if (
            not isinstance(events, list)
            or not events
            or not all(isinstance(e, str) and e in EVENTS for e in events)
        ):
            raise ConfigError(f"{at}.events", f"must be a list of {', '.join(EVENTS)}")
        level = entry.get("min_level", "info")
        if level not in LEVELS:
            raise ConfigError(f"{at}.min_level", f"must be one of {', '.join(LEVELS)}")
        channel = Channel(kind, url, secret, frozenset(events), level)
        if any(c.ident == channel.ident for c in out):
            raise ConfigError(f"{at}.url", "the same URL is already a channel of this account")
        out.append(channel)
    return tuple(out)
