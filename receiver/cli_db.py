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
    click.echo(f"database: {settings.database}")
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
    """Run SQLite's integrity check (PostgreSQL: whether a write commits); exit 1 on any
    problem.

    \b
    Example:
        meterwise db check
    """
    from meterwise.storage import integrity_problems

    settings = settings_from(config_path, needed=())
    problems = integrity_problems(settings)
    if problems:
        raise click.ClickException("integrity check failed: " + "; ".join(problems[:20]))
    click.echo(f"{settings.database}: ok")


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
    from meterwise.storage import SchemaMismatch, backup

    settings = settings_from(config_path, needed=())
    if settings.storage_url:
        raise click.ClickException(
            "meterwise db backup copies a SQLite file; back up PostgreSQL with pg_dump"
        )
    out = Path(target)
    if out.exists():
        raise click.ClickException(f"{out} exists: give a new file name")
    try:
        ok = backup(settings, out)
    except SchemaMismatch as exc:
        raise click.ClickException(str(exc)) from None
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


@db_group.command("copy")
@click.option("--to", "target", required=True, help="postgresql://... (or env:NAME).")
@click.option("--batch", type=click.IntRange(min=1), default=2000, help="Events per commit.")
@config_option
def copy_command(target: str, batch: int, config_path: str | None) -> None:
    """Copy this installation's SQLite database into PostgreSQL: resumable (an interrupted
    copy goes on after its last whole batch) and idempotent (a second run copies only what
    is new), then compare row counts and each account's current figures on both sides.
    Stop `meterwise serve` first, or run it again after switching `[storage]` to `url`.

    \b
    Example:
        meterwise db copy --to postgresql://meterwise@db.internal:5432/meterwise
    """
    import os
    from dataclasses import replace
    from datetime import UTC, datetime

    from meterwise.config.engine import shown
    from meterwise.config.settings import resolve_secret
    from meterwise.reconciler.fold import fold_pending
    from meterwise.reconciler.reconcile import compute_report
    from meterwise.storage import open_storage
    from meterwise.storage.copy import copy_to_postgres

    settings = settings_from(config_path, needed=())
    if settings.storage_url:
        raise click.ClickException("the source must be SQLite: this config sets storage.url")
    url = resolve_secret("--to", target, os.environ)
    if not url.startswith(("postgresql://", "postgres://")):
        raise click.ClickException("--to must be a postgresql:// URL")
    source = open_storage(settings)
    folded = fold_pending(source, settings)  # the copy carries aggregates, not a queue
    click.echo(f"copying {settings.storage_path} to {shown(url)} (folded {folded} first)")
    result = copy_to_postgres(
        settings.storage_path, url, batch, lambda n: click.echo(f"  {n} events copied")
    )
    click.echo(f"copied {result.events} new event(s) and {sum(result.rows.values())} row(s)")
    for table in result.source:
        mark = "" if result.source[table] == result.target.get(table) else "  DIFFERENT"
        click.echo(f"  {table}: {result.source[table]} -> {result.target.get(table)}{mark}")
    target_store = open_storage(replace(settings, storage_url=url))
    now = datetime.now(UTC)
    problems = list(result.differences)
    for account_id in settings.accounts:
        ours, theirs = (
            compute_report(s, settings, account_id, now) for s in (source, target_store)
        )
        main = [(m.usage.name, m.usage.used) for m in ours.metrics[:1]]
        same = ours.invoice.total == theirs.invoice.total and main == [
            (m.usage.name, m.usage.used) for m in theirs.metrics[:1]
        ]
        shown_main = f"{main[0][0]} {main[0][1]}, " if main else ""
        click.echo(
            f"{account_id}: {shown_main}invoice ${ours.invoice.total} on both sides"
            if same
            else f"{account_id}: DIFFERENT (SQLite ${ours.invoice.total}, PostgreSQL "
            f"${theirs.invoice.total})"
        )
        if not same:
            problems.append(account_id)
    source.close()
    if problems:
        raise click.ClickException("the copy differs: " + ", ".join(problems))
    click.echo("the copy is whole: set [storage] url to it and restart")
