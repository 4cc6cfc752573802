"""Dashboard sign-in: passwords, sessions, CSRF tokens and the failed-sign-in limit.

A session is a random id in a signed, HttpOnly cookie; the database keeps its SHA-256 with
the user and expiry, so signing out ends it on every host and a copy of the database signs
nobody in. CSRF tokens are HMACs under ``[server] secret_key``: of a random nonce held in a
cookie of its own before sign-in, of the session id after.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from itsdangerous import BadSignature, Signer
from werkzeug.security import check_password_hash, generate_password_hash

from meterwise.config.settings import Settings, User
from meterwise.storage import Storage

SESSION_COOKIE = "meterwise_session"
CSRF_COOKIE = "meterwise_csrf"
SESSION_TTL_S = 12 * 3600
FAILURE_WINDOW_S = 15 * 60
MAX_FAILURES = 5
# Checked against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("meterwise-no-such-user", method="scrypt")


def hash_password(password: str) -> str:
    """A werkzeug scrypt hash for ``[[users]] password_hash``."""
    return generate_password_hash(password, method="scrypt")


def _signer(settings: Settings) -> Signer:
    return Signer(settings.secret_key or "", salt="meterwise-session")


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def csrf_token(settings: Settings, seed: str) -> str:
    """The form token for ``seed`` (the CSRF nonce before sign-in, the session id after)."""
    key = (settings.secret_key or "").encode()
    return hmac.new(key, f"csrf:{seed}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(settings: Settings, seed: str | None, token: str | None) -> bool:
    """True when ``token`` is the form token for ``seed``."""
    if not seed or not token:
        return False
    return hmac.compare_digest(csrf_token(settings, seed), token)


def new_nonce() -> str:
    """A fresh random value (session ids, CSRF nonces)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session: who, and the id its CSRF token is derived from."""

    user: User
    sid: str


def open_session(settings: Settings, store: Storage, user: User, now_s: float) -> str:
    """Record a new session for ``user``; the signed cookie value."""
    sid = new_nonce()
    now_ms = int(now_s * 1000)
    store.open_session(_digest(sid), user.name, now_ms, now_ms + SESSION_TTL_S * 1000)
    return _signer(settings).sign(sid).decode()


def session_of(
    settings: Settings, store: Storage, cookie: str | None, now_s: float
) -> SignedIn | None:
    """The live session a cookie names (None: none, forged, signed out, expired, or its
    user was removed from the config)."""
    if not cookie:
        return None
    try:
        sid = _signer(settings).unsign(cookie).decode()
    except (BadSignature, UnicodeDecodeError):
        return None
    name = store.session_user(_digest(sid), int(now_s * 1000))
    user = next((u for u in settings.users if u.name == name), None)
    return SignedIn(user, sid) if user is not None else None


def close_session(store: Storage, sid: str) -> None:
    """Sign out: the session ends everywhere."""
    store.close_session(_digest(sid))


def retry_after(store: Storage, keys: list[str], now_s: float) -> int | None:
    """Seconds until a sign-in may be tried again, when one of ``keys`` (the name, the
    address) failed ``MAX_FAILURES`` times within the window; None when it may now."""
    now_ms = int(now_s * 1000)
    since = now_ms - FAILURE_WINDOW_S * 1000
    waits = []
    for key in keys:
        count, oldest = store.login_failures(key, since)
        if count >= MAX_FAILURES and oldest is not None:
            waits.append(max(1, (int(oldest) + FAILURE_WINDOW_S * 1000 - now_ms + 999) // 1000))
    return max(waits) if waits else None


def authenticate(settings: Settings, name: str, password: str) -> User | None:
    """The user whose name and password these are (None: either is wrong)."""
    user = next((u for u in settings.users if u.name == name), None)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def record_failure(store: Storage, keys: list[str], now_s: float) -> None:
    """Count a failed sign-in against the name and the address."""
    store.record_login_failure(keys, int(now_s * 1000), FAILURE_WINDOW_S * 1000)


def local_path(target: str | None, default: str = "/") -> str:
    """``next`` if it is a path on this site (no scheme, host or backslash), else default."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return default
    return target
