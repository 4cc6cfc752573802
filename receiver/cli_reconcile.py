"""Reconciler commands, registered on the `meterwise` group."""

from __future__ import annotations

import json
from pathlib import Path

import click

from meterwise.config.errors import ConfigError
from meterwise.receiver.options import (
    config_option,
    open_db,
    parse_date,
    parse_instant,
    settings_from,
)


@click.command("report")
@click.argument("account")
@click.option("--cycle", "cycle", default=None, help="Any date inside the wanted cycle.")
@click.option(
    "--at",
    "at",
    default=None,
    help="As known at this ISO instant: events dated and received by then (default now).",
)
@click.option(
    "--event-time",
    is_flag=True,
    help="With --at: count events dated by then, whenever they arrived (replayed history).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]), default="table"
)
@click.option(
    "--segment",
    default=None,
    help="Events accounts: MAU per value of this event property (e.g. country).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write to this file instead of standard output.",
)
@config_option
def report_command(
    account: str,
    cycle: str | None,
    at: str | None,
    event_time: bool,
    fmt: str,
    segment: str | None,
    output: str | None,
    config_path: str | None,
) -> None:
    """Reconcile one account's billing cycle: usage, forecast, invoice, attribution.

    \b
    Example:
        meterwise report acme --cycle 2026-03-20 --at 2026-04-08T02:00:00Z --format json
    """
    from meterwise.reconciler.reconcile import compute_report
    from meterwise.reconciler.report import render_csv, render_table, report_to_dict

    settings = settings_from(config_path, [account])
    as_of = parse_instant(at)
    try:
        report = compute_report(
            open_db(settings),
            settings,
            account,
            as_of,
            parse_date(cycle),
            settings.close_grace_s,
            segment,
            known_at=None if (at is None or event_time) else as_of,
        )
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "json":
        text = json.dumps(report_to_dict(report), indent=2) + "\n"
    elif fmt == "csv":
        text = render_csv(report)
    elif fmt == "html":
        from meterwise.reconciler.html import render_html

        text = render_html(report, settings.catalog)
    else:
        text = render_table(report)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@click.command("plans")
@config_option
def plans_command(config_path: str | None) -> None:
    """List the plan catalog in force (built-in plans with your overrides).

    \b
    Example:
        meterwise plans --config meterwise.toml
    """
    settings = settings_from(config_path, needed=())
    for plan in sorted(settings.catalog.plans.values(), key=lambda p: (p.provider, p.price, p.id)):
        allow = ", ".join(f"{k} {v}" for k, v in plan.allowances.items()) or "-"
        over = ", ".join(f"{k} ${v}" for k, v in plan.overage_rates.items()) or "-"
        rates = ", ".join(f"{k} ${v}/min" for k, v in plan.usage_rates.items()) or "-"
        click.echo(
            f"{plan.id:16} {plan.provider:10} ${plan.price:>8} per {plan.cycle} cycle; "
            f"includes {allow}; overage {over}; usage {rates}"
        )


@click.command("rebuild")
@click.option("--account", "accounts", multiple=True, help="Only this account (repeatable).")
@config_option
def rebuild_command(accounts: tuple[str, ...], config_path: str | None) -> None:
    """Recompute first-seen and activity tables from the stored raw events.

    Run it after changing an account's cycle_anchor, timezone or plan cycle kind.

    \b
    Example:
        meterwise rebuild --account acme
    """
    from meterwise.receiver.rebuild import rebuild

    settings = settings_from(config_path, accounts or None)
    for account_id in accounts or tuple(settings.accounts):
        if account_id not in settings.accounts:
            raise click.ClickException(f"no account {account_id!r} in {settings.source}")
        events, entities = rebuild(open_db(settings), settings, account_id)
        click.echo(f"{account_id}: replayed {events} events, {entities} first-seen rows")


@click.command("reconcile")
@click.option("--account", "accounts", multiple=True, help="Only this account (repeatable).")
@click.option("--at", "at", default=None, help="Run as of this ISO instant (default now).")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; change nothing.")
@config_option
def reconcile_command(
    accounts: tuple[str, ...], at: str | None, dry_run: bool, config_path: str | None
) -> None:
    """Run one reconciliation pass by hand: alert rules, outbox, email delivery.

    \b
    Example:
        meterwise reconcile --account acme --at 2026-03-20T00:00:00Z --dry-run
    """
    from meterwise.reconciler.job import run_reconciliation
    from meterwise.reconciler.mailer import SmtpMailer

    settings = settings_from(config_path, accounts or None)
    for account_id in accounts:
        if account_id not in settings.accounts:
            raise click.ClickException(f"no account {account_id!r} in {settings.source}")
    db = open_db(settings)
    result = run_reconciliation(
        db, settings, SmtpMailer(settings.email), parse_instant(at), accounts or None, dry_run
    )
    verb = "would send" if dry_run else "queued"
    for account_id, message, _ in result.queued:
        click.echo(f"{verb} {account_id}: {message.subject} -> {', '.join(message.to) or '-'}")
    for account_id, row in result.channels:
        click.echo(f"{verb} {account_id}: [{row.channel.partition(':')[0]}] {row.subject}")
    for d in result.deliveries:
        via = "" if d.channel == "email" else f"[{d.channel.partition(':')[0]}] "
        click.echo(f"{d.status}: {via}{d.subject}" + (f" ({d.error})" if d.error else ""))
    if not result.queued and not result.deliveries:
        click.echo("nothing to send")
    counts = db.outbox_counts()
    totals: dict[str, int] = {}
    for (_, status), n in counts.items():
        totals[status] = totals.get(status, 0) + n
    click.echo("outbox: " + (", ".join(f"{n} {s}" for s, n in sorted(totals.items())) or "empty"))
    if any(kind != "email" for kind, _ in counts):
        click.echo(
            "  by channel: " + ", ".join(f"{k} {n} {s}" for (k, s), n in sorted(counts.items()))
        )
    for account_id, channel, subject, error in db.failed_messages():
        via = "" if channel == "email" else f"[{channel.partition(':')[0]}] "
        click.echo(f"FAILED for good: {account_id}: {via}{subject}: {error}", err=True)


def register(group: click.Group) -> None:
    """Add the reconciler's commands to ``group``."""
    from meterwise.receiver.cli_audit import COMMANDS

    for command in (report_command, plans_command, rebuild_command, reconcile_command, *COMMANDS):
        group.add_command(command)
