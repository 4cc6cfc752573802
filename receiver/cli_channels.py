"""`meterwise channels test ACCOUNT`: a clearly marked test message to every channel."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import click

from meterwise.receiver.options import config_option, settings_from


@click.group("channels")
def channels_group() -> None:
    """An account's alert channels (Slack, Teams, signed webhooks)."""


@channels_group.command("test")
@click.argument("account")
@config_option
def channels_test_command(account: str, config_path: str | None) -> None:
    """Send a test message to every channel of ACCOUNT now and print each result (exit 1
    when one fails). Nothing is queued or recorded.

    \b
    Example:
        meterwise channels test acme --config meterwise.toml
    """
    from meterwise.reconciler.channels import for_test
    from meterwise.reconciler.job import account_link
    from meterwise.reconciler.mailer import PermanentFailure, TemporaryFailure
    from meterwise.reconciler.poster import HttpPoster

    settings = settings_from(config_path, needed=[account])
    if account not in settings.accounts:
        raise click.ClickException(f"no account {account!r} is configured")
    channels = settings.accounts[account].alert_channels
    if not channels:
        raise click.ClickException(f"{account} has no alert_channels")
    poster = HttpPoster()
    now = datetime.fromtimestamp(time.time(), UTC)
    by_ident = {c.ident: c for c in channels}
    failed = 0
    for message in for_test(account, channels, now, account_link(settings, account)):
        channel = by_ident[message.channel]
        try:
            poster.post(channel, message.key, message.body)
        except (TemporaryFailure, PermanentFailure) as exc:
            failed += 1
            click.echo(f"{channel.kind} {message.channel}: FAILED: {exc}")
            continue
        click.echo(f"{channel.kind} {message.channel}: delivered")
    if failed:
        raise SystemExit(1)
