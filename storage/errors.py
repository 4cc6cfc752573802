"""What the storage layer raises: the engine's own exceptions never leave it."""

from __future__ import annotations


class StorageUnavailable(Exception):
    """The database cannot take a write that would be kept: answer 503, never 2xx."""


class StorageTimeout(StorageUnavailable):
    """A statement the database's statement timeout cancelled: the work was rolled back,
    and smaller work may go through."""


class UnstorableValue(Exception):
    """A parsed value the database cannot hold (out of range, not encodable): a 422."""


class SchemaMismatch(Exception):
    """The database needs upgrading, or is newer than this release."""
