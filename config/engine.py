"""`[storage]`: `path` selects the embedded SQLite file, `url` a shared PostgreSQL database.

``url = "postgresql://user@host:5432/meterwise"`` (or ``env:NAME`` for the whole URL) and
optionally ``password = "env:NAME"`` (kept out of the file); giving both `path` and `url` is
an error naming the keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from meterwise.config.errors import ConfigError


def storage_url(raw: Mapping[str, Any], url: str | None, password: str | None) -> str | None:
    """The PostgreSQL URL to connect to (password included), or None for SQLite."""
    if url is None:
        if password is not None:
            raise ConfigError("storage.password", "only used with storage.url (PostgreSQL)")
        return None
    if "path" in raw:
        raise ConfigError(
            "storage.path", "give storage.path (SQLite) or storage.url (PostgreSQL), not both"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise ConfigError("storage.url", "must be a postgresql://user@host:port/database URL")
    if not parts.path.strip("/"):
        raise ConfigError("storage.url", "must name the database (postgresql://.../meterwise)")
    if password is not None:
        if parts.password is not None:
            raise ConfigError("storage.password", "the URL already holds a password")
        user = quote(parts.username or "", safe="")
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        netloc = f"{user}:{quote(password, safe='')}@{host}"
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


def shown(url: str) -> str:
    """The URL without its password, for logs and command output."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
