"""The `meterwise` command line: a click group; commands are thin shells over library calls."""

from __future__ import annotations

import click

from meterwise.receiver.options import config_option, settings_from
from meterwise.reconciler.traffic import MODELS as _MODELS

MODEL_NAMES = tuple(_MODELS)


@click.group()
@click.version_option(package_name="meterwise")
def cli() -> None:
    """Meterwise: verify and store usage webhooks, reconcile them with your plan."""


@cli.command("serve")
@config_option
@click.option("--host", default=None, help="Address to bind (default from config: 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default from config: 8000).")
@click.option("--workers", type=int, default=None, help="gunicorn workers (default 2).")
@click.option("--no-scheduler", is_flag=True, help="Do not start the reconciliation scheduler.")
def serve_command(
    config_path: str | None,
    host: str | None,
    port: int | None,
    workers: int | None,
    no_scheduler: bool,
) -> None:
    """Run the webhook receiver under gunicorn until SIGTERM.

    \b
    Example:
        meterwise serve --config meterwise.toml --port 8000 --workers 2
    """
    from meterwise.receiver.server import run
    from meterwise.storage import SchemaMismatch, upgrade

    settings = settings_from(config_path)
    click.echo(f"meterwise: config {settings.source}; database {settings.database}", err=True)
    try:
        upgrade(settings)  # before any worker starts: refuses a newer database
    except SchemaMismatch as exc:
        raise click.ClickException(str(exc)) from None
    run(
        settings,
        host or settings.host,
        port or settings.port,
        workers or settings.workers,
        scheduler_config=config_path,
        with_scheduler=settings.scheduler and not no_scheduler,
    )


@cli.command("token")
@click.option("--account", "accounts", multiple=True, help="Limit to this account (repeatable).")
@click.option("--ttl", type=click.IntRange(min=1), default=3600, help="Seconds until it expires.")
@config_option
def token_command(accounts: tuple[str, ...], ttl: int, config_path: str | None) -> None:
    """Mint a bearer JWT for the read API (HS256 with [api] jwt_secret).

    \b
    Example:
        meterwise token --account acme --ttl 86400
    """
    import time

    from meterwise.receiver.auth import mint

    settings = settings_from(config_path, needed=())  # no account's secrets are needed
    if settings.api.jwt_secret is None:
        raise click.ClickException(f"no [api] jwt_secret in {settings.source}")
    for account in accounts:
        if account not in settings.accounts:
            raise click.ClickException(f"no account {account!r} in {settings.source}")
    click.echo(mint(settings.api.jwt_secret, accounts, ttl, time.time()))


@cli.command("scheduler")
@config_option
@click.option("--tick-seconds", type=float, default=10.0, help="How often to check (default 10).")
@click.option("--lease-seconds", type=int, default=30, help="Lease length (default 30).")
@click.option("--parent-pid", type=int, default=None, hidden=True)
def scheduler_command(
    config_path: str | None, tick_seconds: float, lease_seconds: int, parent_pid: int | None
) -> None:
    """Run the reconciliation scheduler (`meterwise serve` starts one for you).

    Any number may run against one database: a lease in SQLite lets one reconcile.

    \b
    Example:
        meterwise scheduler --config meterwise.toml
    """
    import logging

    from meterwise.reconciler.scheduler import run_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    run_scheduler(settings_from(config_path), tick_seconds, lease_seconds, parent_pid)


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
    click.echo(
        f"database: {settings.database}"
        + ("" if settings.storage_url else f" (synchronous={settings.synchronous})")
    )
    for account in settings.accounts.values():
        click.echo(
            f"account {account.id}: {account.provider}, plan {account.plan}, "
            f"anchor {account.cycle_anchor}, {account.timezone}, "
            f"{len(account.webhook_secrets)} secret(s), "
            f"url /webhooks/{account.provider}/{account.id}"
        )


@cli.command("simulate")
@click.argument("account")
@click.option("--url", default="http://127.0.0.1:8000", help="Base URL of the receiver.")
@click.option("--model", type=click.Choice(sorted(MODEL_NAMES)), default="team + guests")
@click.option("--start", "start", required=True, help="First day (YYYY-MM-DD, UTC).")
@click.option("--days", type=int, default=30, help="How many days of traffic.")
@click.option("--seed", type=int, default=1)
@config_option
def simulate_command(
    account: str, url: str, model: str, start: str, days: int, seed: int, config_path: str | None
) -> None:
    """Post a synthetic month of signed JaaS webhooks to a running receiver (for demos).

    \b
    Example:
        meterwise simulate demo --start 2026-03-08 --days 10 --model "steady growth"
    """
    from meterwise.receiver.options import parse_instant
    from meterwise.receiver.simulate import model_events, post_events

    settings = settings_from(config_path, [account])
    acct = settings.accounts.get(account)
    if acct is None or acct.provider != "jaas" or not acct.webhook_secrets:
        raise click.ClickException(f"{account!r} is not a JaaS account with a secret")
    events = model_events(model, parse_instant(start), days, seed)
    counts = post_events(
        f"{url.rstrip('/')}/webhooks/jaas/{account}", acct.webhook_secrets[0], events
    )
    click.echo(" ".join(f"{status}: {n}" for status, n in sorted(counts.items())))


@cli.group("user")
def user_group() -> None:
    """Dashboard users (`[[users]]` in the config)."""


@user_group.command("hash")
def user_hash_command() -> None:
    """Read a password from standard input (without echo on a terminal) and print its
    scrypt hash for `[[users]] password_hash`.

    \b
    Example:
        meterwise user hash            # asks twice on a terminal
        printf '%s\\n' "$PW" | meterwise user hash
    """
    import sys

    from meterwise.receiver.signin import hash_password

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    click.echo(hash_password(password))


def _register() -> None:
    from meterwise.receiver.cli_channels import channels_group
    from meterwise.receiver.cli_db import db_group
    from meterwise.receiver.cli_reconcile import register

    register(cli)
    cli.add_command(db_group)
    cli.add_command(channels_group)


_register()
