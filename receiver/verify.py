"""Webhook signature checks: pure functions of the header, raw body, secrets and `now`."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from meterwise.config.providers import standard_key, standard_secret_problem, standard_signature

__all__ = ["standard_key", "standard_secret_problem"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of a signature check; ``reason`` is an error code when not ``ok``."""

    ok: bool
    reason: str = ""
    detail: str = ""


OK = Verdict(True)


def jaas_signature(secret: str, timestamp: str, raw_body: bytes) -> str:
    """The `v1` value JaaS sends: base64(HMAC-SHA256(secret, t + "." + body))."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def parse_jaas_header(header: str) -> tuple[str | None, list[str]]:
    """Split ``t=...,v1=...`` into the timestamp and every `v1` value (other schemes ignored)."""
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")  # first '=' only: base64 ends in '='
        if key == "t":
            timestamp = value
        elif key == "v1" and value:
            signatures.append(value)
    return timestamp, signatures


def verify_jaas(
    header: str | None, raw_body: bytes, secrets: tuple[str, ...], now: float, tolerance_s: int
) -> Verdict:
    """Check an ``X-Jaas-Signature`` header against every configured secret (rotation)."""
    if not header:
        return Verdict(False, "signature_missing", "X-Jaas-Signature header is missing")
    timestamp, signatures = parse_jaas_header(header)
    if timestamp is None or not timestamp.isdigit() or not signatures:
        return Verdict(
            False,
            "signature_malformed",
            "X-Jaas-Signature must look like t=<unix seconds>,v1=<base64>",
        )
    matched = False
    for secret in secrets:
        expected = jaas_signature(secret, timestamp, raw_body).encode()
        # Compare against every candidate so timing does not reveal which one matched.
        for candidate in signatures:
            matched |= hmac.compare_digest(expected, candidate.encode())
    if not matched:
        return Verdict(
            False,
            "signature_mismatch",
            "no v1 signature matches the body with any configured secret",
        )
    skew = now - int(timestamp)
    if abs(skew) > tolerance_s:
        when = "old" if skew > 0 else "in the future"
        return Verdict(
            False,
            "signature_stale",
            f"signature timestamp is {abs(int(skew))} s {when}; tolerance is {tolerance_s} s",
        )
    return OK


def verify_standard(
    msg_id: str | None,
    timestamp: str | None,
    header: str | None,
    raw_body: bytes,
    secrets: tuple[str, ...],
    now: float,
    tolerance_s: int = 300,
) -> Verdict:
    """Check Standard Webhooks headers (`webhook-id`, `-timestamp`, `-signature`)."""
    if not msg_id or not timestamp or not header:
        return Verdict(
            False,
            "signature_missing",
            "webhook-id, webhook-timestamp and webhook-signature are required",
        )
    if not timestamp.isdigit():
        return Verdict(False, "signature_malformed", "webhook-timestamp must be unix seconds")
    candidates = [p for p in header.split(" ") if p.startswith("v1,")]
    if not candidates:
        return Verdict(False, "signature_malformed", "webhook-signature has no v1,<base64> entry")
    matched = False
    for secret in secrets:
        try:
            expected = standard_signature(secret, msg_id, timestamp, raw_body).encode()
        except ValueError:
            continue  # a secret that is not base64 can match nothing
        for candidate in candidates:
            matched |= hmac.compare_digest(expected, candidate.encode())
    if not matched:
        return Verdict(False, "signature_mismatch", "no v1 signature matches")
    if abs(now - int(timestamp)) > tolerance_s:
        return Verdict(
            False, "signature_stale", f"webhook-timestamp outside the {tolerance_s} s tolerance"
        )
    return OK


def verify_basic(header: str | None, username: str, password: str) -> Verdict:
    """HTTP Basic credentials (CometChat's only scheme), compared in constant time."""
    if not header:
        return Verdict(False, "auth_missing", "Authorization: Basic credentials are required")
    scheme, _, encoded = header.partition(" ")
    try:
        user, sep, given = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return Verdict(False, "auth_malformed", "Authorization header is not valid Basic auth")
    if scheme.lower() != "basic" or not sep:
        return Verdict(False, "auth_malformed", "Authorization header is not valid Basic auth")
    ok = hmac.compare_digest(user.encode(), username.encode())
    ok &= hmac.compare_digest(given.encode(), password.encode())
    return OK if ok else Verdict(False, "auth_mismatch", "wrong username or password")


def verify_shared_header(value: str | None, name: str, secret: str) -> Verdict:
    """A static shared-secret header (WLL reactors can only send fixed headers)."""
    if not value:
        return Verdict(False, "auth_missing", f"header {name} is required")
    if not hmac.compare_digest(value.encode(), secret.encode()):
        return Verdict(False, "auth_mismatch", f"header {name} does not match")
    return OK
