"""Bearer JWTs for the API: HS256, ``aud`` = meterwise, ``exp`` required, ``accounts`` claim."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt

AUDIENCE = "meterwise"
ALGORITHM = "HS256"


class AuthError(Exception):
    """Why a request may not read the API: 401 (who are you?) or 403 (not this account)."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.reason, self.detail = status, reason, detail


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid token may read: every account (None) or the listed ones."""

    accounts: frozenset[str] | None

    def allows(self, account: str) -> bool:
        """True when the token may read ``account``."""
        return self.accounts is None or account in self.accounts

    def check(self, account: str) -> None:
        """Raise 403 unless the token may read ``account``."""
        if not self.allows(account):
            raise AuthError(403, "account_forbidden", f"this token may not read {account!r}")


def mint(secret: str, accounts: Sequence[str], ttl_s: int, now: float) -> str:
    """A token valid for ``ttl_s`` seconds, limited to ``accounts`` when given."""
    claims: dict[str, Any] = {"aud": AUDIENCE, "iat": int(now), "exp": int(now) + ttl_s}
    if accounts:
        claims["accounts"] = sorted(set(accounts))
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


_ERRORS: list[tuple[type[Exception], str, str]] = [
    (jwt.ExpiredSignatureError, "token_expired", "the token has expired"),
    (jwt.InvalidAudienceError, "token_wrong_audience", f"the token's aud must be {AUDIENCE!r}"),
    (jwt.MissingRequiredClaimError, "token_missing_claim", "the token lacks a required claim"),
    (jwt.InvalidSignatureError, "token_bad_signature", "the token's signature does not match"),
    (jwt.InvalidAlgorithmError, "token_bad_algorithm", f"the token must be signed {ALGORITHM}"),
    (jwt.ImmatureSignatureError, "token_not_yet_valid", "the token is not valid yet"),
    (jwt.DecodeError, "token_malformed", "the token is not a well-formed JWT"),
    (jwt.InvalidTokenError, "token_invalid", "the token is invalid"),
]


def grant_for(token: str | None, secret: str) -> Grant:
    """Verify a bearer token; raise `AuthError` 401 with the reason when it is not valid."""
    if not token:
        raise AuthError(401, "token_missing", "send Authorization: Bearer <token>")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "aud"]},
        )
    except jwt.InvalidTokenError as exc:
        for kind, reason, detail in _ERRORS:
            if isinstance(exc, kind):
                if isinstance(exc, jwt.MissingRequiredClaimError):
                    detail = f"the token lacks the {exc.claim!r} claim"
                raise AuthError(401, reason, detail) from None
        raise AuthError(401, "token_invalid", "the token is invalid") from None
    accounts = claims.get("accounts")
    if accounts is None:
        return Grant(None)
    if not isinstance(accounts, list) or not all(isinstance(a, str) for a in accounts):
        raise AuthError(401, "token_invalid", "the accounts claim must be a list of strings")
    return Grant(frozenset(accounts))


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if that is what it is."""
    scheme, _, token = (header or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
