"""What the config knows of each provider: its account options, whether its webhooks are
HMAC-signed with ``webhook_secrets``, and how such a secret is written.

The adapters under ``receiver/providers/`` read these declarations (``OPTIONS``,
``NEEDS_SECRETS``); they live here, at the bottom of the layers, so that a config can be
validated without importing the receiver.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


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


WLL_DEFAULT_HEADER = "X-Meterwise-Secret"
# Events the engine reports without the user doing anything (the seed's AUDIENCE_JOINED).
WLL_DEFAULT_SYSTEM_EVENTS = ("AUDIENCE_JOINED", "AUDIENCE_LEFT")
_PATH = r"[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*"

OPTIONS: dict[str, dict[str, Option]] = {
    "jaas": {},
    "cometchat": {
        "basic_auth_user": Option(str, required=True, secret=True),
        "basic_auth_password": Option(str, required=True, secret=True, min_length=12),
        "count_devices": Option(bool, False),
        "connection_idle_timeout_s": Option(int, 6 * 3600, maximum=30 * 86400),
    },
    "wll": {
        "header_name": Option(str, WLL_DEFAULT_HEADER, pattern=r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"),
        "secret": Option(str, required=True, secret=True, min_length=16),
        "system_event_types": Option(list, list(WLL_DEFAULT_SYSTEM_EVENTS)),
    },
    "events": {
        "pseudonymize": Option(bool, False),
        "pseudonymize_key": Option(str, secret=True, min_length=16),
        # Where the user id and the event name are, as dotted paths into each event object.
        # Unset: "user" and "event", or for the envelope the spec recommends
        # ({"type", "timestamp", "data": {...}}) "data.user_id" and "type".
        "user_path": Option(str, pattern=_PATH),
        "event_path": Option(str, pattern=_PATH),
    },
}
SIGNED = frozenset({"jaas", "events"})  # deliveries HMAC-signed with webhook_secrets

MIN_STANDARD_KEY_BYTES = 16
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*$")


def standard_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: the base64 after ``whsec_``, padded or not
    (as the reference library decodes it); ValueError when it is not base64 or is empty."""
    text = secret.removeprefix("whsec_").rstrip("=")
    if not _BASE64.match(text) or len(text) % 4 == 1:
        raise ValueError("the part after whsec_ is not base64")
    key = base64.b64decode(text + "=" * (-len(text) % 4))
    if not key:
        raise ValueError("the key is empty")
    return key


def standard_signature(secret: str, msg_id: str, timestamp: str, raw_body: bytes) -> str:
    """The Standard Webhooks `v1,<base64>` value; the key is the base64 after ``whsec_``."""
    key = standard_key(secret)
    signed = f"{msg_id}.{timestamp}.".encode() + raw_body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def standard_secret_problem(secret: str) -> str | None:
    """Why ``secret`` is unfit to sign Standard Webhooks, or None."""
    try:
        key = standard_key(secret)
    except ValueError as exc:
        return f"not a Standard Webhooks secret (whsec_<base64>): {exc}"
    if len(key) < MIN_STANDARD_KEY_BYTES:
        return f"too short: {len(key)} bytes, at least {MIN_STANDARD_KEY_BYTES} (whsec_<base64>)"
    return None


SECRET_CHECKS: dict[str, Callable[[str], str | None]] = {"events": standard_secret_problem}
