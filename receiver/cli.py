"""The `meterwise` command line: a click group; commands are thin shells over library calls."""

from __future__ import annotations

import click

from receiver.options import config_option, settings_from


@click.group()
@click.version_option(package_name="meterwise")
def cli() -> None:
    """Meterwise: verify and store usage webhooks, reconcile them with your plan."""


@cli.command("serve")
@config_option
@click.option("--host", default=None, help="Address to bind (default from config: 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default from config: 8000).")
@click.option("--workers", type=int, default=None, help="gunicorn workers (default 2).")
def serve_command(
    config_path: str | None, host: str | None, port: int | None, workers: int | None
) -> None:
    """Run the webhook receiver under gunicorn until SIGTERM.

    \b
    Example:
        meterwise serve --config meterwise.toml --port 8000 --workers 2
    """
    from receiver.server import run

    settings = settings_from(config_path)
    click.echo(f"meterwise: config {settings.source}; database {settings.storage_path}", err=True)
    run(settings, host or settings.host, port or settings.port, workers or settings.workers)


@cli.command("check-config")
@config_option
def check_config_command(config_path: str | None) -> None:
    """Validate the configuration and print the accounts it defines.

    \b
    Example:
        meterwise check-config --config meterwise.toml
    """
    settings = settings_from(config_path)
    click.echo(f"config: {settings.source}")
    click.echo(f"database: {settings.storage_path} (synchronous={settings.synchronous})")
    for account in settings.accounts.values():
        click.echo(
            f"account {account.id}: {account.provider}, plan {account.plan}, "
            f"anchor {account.cycle_anchor}, {account.timezone}, "
            f"{len(account.webhook_secrets)} secret(s), "
            f"url /webhooks/{account.provider}/{account.id}"
        )


def _register() -> None:
    from reconciler.cli import register

    register(cli)


_register()
