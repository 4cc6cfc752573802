"""Options and conversions shared by every `meterwise` command."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, date, datetime
from typing import Any

import click

from meterwise.config.errors import ConfigError
from meterwise.config.settings import Settings, load_settings
from meterwise.storage import SchemaMismatch, Storage, open_storage


def config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """The shared ``--config PATH`` option."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="TOML config (default: $METERWISE_CONFIG, ./meterwise.toml, built-in demo).",
    )(func)


def settings_from(config_path: str | None, needed: Collection[str] | None = None) -> Settings:
    """Load settings, turning a bad config into a clean CLI error naming the key.

    ``needed``: the accounts the command works on (secrets of the others are not resolved).
    """
    try:
        return load_settings(config_path, needed=needed)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def parse_instant(value: str | None, default: datetime | None = None) -> datetime:
    """An ISO instant from the command line; naive means UTC, a bare date means 00:00 UTC."""
    if value is None:
        return default or datetime.now(UTC)
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 instant: {value!r}") from None
    return (instant if instant.tzinfo else instant.replace(tzinfo=UTC)).astimezone(UTC)


def parse_date(value: str | None) -> date | None:
    """A calendar date (YYYY-MM-DD) from the command line."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise click.BadParameter(f"not a date: {value!r}") from None


def open_db(settings: Settings) -> Storage:
    """The database for a command that does not upgrade it: a database that needs upgrading
    (or is newer than this release) is a clean error naming what to run."""
    try:
        return open_storage(settings, migrate=False)
    except SchemaMismatch as exc:
        raise click.ClickException(str(exc)) from None
