"""`meterwise db`: schema status and upgrades, backups, integrity checks."""

from __future__ import annotations

from pathlib import Path

import click

from meterwise.receiver.options import config_option, settings_from


@click.group("db")
def db_group() -> None:
    """The database: migrations, backups, integrity."""


@db_group.command("status")
@config_option
def status_command(config_path: str | None) -> None:
    """List applied and pending migrations.

    \b
    Example:
        meterwise db status
    """
    from meterwise.storage import migration_status

    settings = settings_from(config_path, needed=())
    found = migration_status(settings)
    click.echo(f"database: {settings.storage_path}")
    for mid in found.applied:
        click.echo(
            f"applied  {mid}" + ("  (unknown to this release)" if mid in found.unknown else "")
        )
    for mid in found.pending:
        click.echo(f"pending  {mid}")
    if not found.pending and not found.unknown:
        click.echo("up to date")


@db_group.command("upgrade")
@config_option
def upgrade_command(config_path: str | None) -> None:
    """Apply pending migrations (`meterwise serve` also does at start).

    \b
    Example:
        meterwise db upgrade
    """
    from meterwise.storage import SchemaMismatch, upgrade

    settings = settings_from(config_path, needed=())
    try:
        applied = upgrade(settings)
    except SchemaMismatch as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("\n".join(f"applied  {m}" for m in applied) or "up to date")


@db_group.command("check")
@config_option
def check_command(config_path: str | None) -> None:
    """Run SQLite's integrity check; exit 1 on any problem.

    \b
    Example:
        meterwise db check
    """
    from meterwise.storage import integrity_problems

    settings = settings_from(config_path, needed=())
    problems = integrity_problems(settings)
    if problems:
        raise click.ClickException("integrity check failed: " + "; ".join(problems[:20]))
    click.echo(f"{settings.storage_path}: ok")


@db_group.command("backup")
@click.argument("target", type=click.Path(dir_okay=False))
@config_option
def backup_command(target: str, config_path: str | None) -> None:
    """Write a consistent copy of the live database (SQLite's online backup API), safe while
    webhooks keep arriving; the copy is owner-only (0600).

    \b
    Example:
        meterwise db backup /backups/meterwise-$(date +%F).db
    """
    from meterwise.storage import backup

    settings = settings_from(config_path, needed=())
    out = Path(target)
    if out.exists():
        raise click.ClickException(f"{out} exists: give a new file name")
    ok = backup(settings, out)
    if ok != "ok":
        raise click.ClickException(f"the copy failed its integrity check: {ok}")
    click.echo(f"wrote {out} ({out.stat().st_size} bytes, integrity ok)")


@db_group.command("purge")
@click.option("--account", "account", required=True, help="The account to purge.")
@click.option("--before", "before", required=True, help="A date (YYYY-MM-DD).")
@config_option
def purge_command(account: str, before: str, config_path: str | None) -> None:
    """Drop raw bodies and personal fields of events dated before the cycle holding BEFORE
    (closed cycles only); every figure of those cycles stays.

    \b
    Example:
        meterwise db purge --account acme --before 2026-01-01
    """
    from datetime import UTC, datetime

    from meterwise.receiver.options import open_db, parse_date
    from meterwise.reconciler.cycles import closed_boundary, to_ms
    from meterwise.reconciler.display import stamp
    from meterwise.reconciler.reconcile import cycle_for

    settings = settings_from(config_path, [account])
    if account not in settings.accounts:
        raise click.ClickException(f"no account {account!r} in {settings.source}")
    acct = settings.accounts[account]
    day = parse_date(before)
    assert day is not None
    now = datetime.now(UTC)
    cut = closed_boundary(
        to_ms(cycle_for(settings, acct, day).start), to_ms(cycle_for(settings, acct, now).start)
    )
    n = open_db(settings).purge(account, cut, to_ms(now))
    when = stamp(datetime.fromtimestamp(cut / 1000, UTC), acct.timezone)
    click.echo(f"purged personal data of {n} event(s) of {account} dated before {when}")
