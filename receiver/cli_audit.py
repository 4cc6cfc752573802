"""`meterwise invoice record` and `meterwise export devices`: the audit commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
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
from meterwise.reconciler.display import date_only


def _amount(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise click.BadParameter(f"{what} must be an amount like 123.45, got {text!r}") from None
    if not value.is_finite():
        raise click.BadParameter(f"{what} must be a finite amount")
    return value


@click.group("invoice")
def invoice_group() -> None:
    """What the provider invoiced, to compare with ours."""


@invoice_group.command("record")
@click.argument("account")
@click.option("--cycle", required=True, help="Any date inside the invoiced cycle.")
@click.option("--mau", type=click.IntRange(min=0), default=None, help="The provider's MAU.")
@click.option("--total", default=None, help="The provider's invoice total.")
@click.option("--line", "lines", multiple=True, help="CODE=AMOUNT, e.g. overage:mau=198.00.")
@click.option("--note", default="", help="Where the figures come from.")
@config_option
def record_command(
    account: str,
    cycle: str,
    mau: int | None,
    total: str | None,
    lines: tuple[str, ...],
    note: str,
    config_path: str | None,
) -> None:
    """Store the provider's figures for a cycle; `meterwise report` shows ours beside them.

    \b
    Example:
        meterwise invoice record acme --cycle 2026-03-20 --mau 512 --total 897.00 \\
            --line overage:mau=198.00
    """
    from meterwise.reconciler.cycles import to_ms
    from meterwise.reconciler.models import ProviderFigures
    from meterwise.reconciler.reconcile import cycle_for, get_account

    settings = settings_from(config_path, [account])
    parsed: dict[str, Decimal] = {}
    for item in lines:
        code, sep, amount = item.partition("=")
        if not sep or not code:
            raise click.BadParameter(f"--line must be CODE=AMOUNT, got {item!r}")
        parsed[code] = _amount(amount, f"--line {code}")
    if mau is None and total is None and not parsed:
        raise click.UsageError("give at least one of --mau, --total, --line")
    try:
        acct = get_account(settings, account)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    when = cycle_for(settings, acct, parse_date(cycle) or datetime.now(UTC).date())
    figures = ProviderFigures(
        mau,
        None if total is None else _amount(total, "--total"),
        parsed,
        datetime.now(UTC),
        note,
    )
    open_db(settings).record_figures(
        acct.id,
        to_ms(when.start),
        figures.mau,
        None if figures.total is None else str(figures.total),
        json.dumps({k: str(v) for k, v in figures.lines.items()}),
        int(figures.recorded_at.timestamp() * 1000),
        figures.note,
    )
    click.echo(
        f"recorded for {acct.id}, cycle {date_only(when.start, acct.timezone)} to "
        f"{date_only(when.end, acct.timezone)}: "
        + ", ".join(
            [f"mau {mau}"] * (mau is not None)
            + [f"total {figures.total}"] * (total is not None)
            + [f"{k} {v}" for k, v in parsed.items()]
        )
    )


@click.group("export")
def export_group() -> None:
    """Export the data behind a figure."""


@export_group.command("devices")
@click.argument("account")
@click.option("--cycle", default=None, help="Any date inside the cycle (default: current).")
@click.option("--at", "at", default=None, help="As of this ISO instant (default now).")
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Write here.")
@config_option
def devices_command(
    account: str, cycle: str | None, at: str | None, output: str | None, config_path: str | None
) -> None:
    """Every device counted as MAU in a cycle: first seen, session, user, attribution (CSV).

    \b
    Example:
        meterwise export devices acme --cycle 2026-03-20 --output devices.csv
    """
    from meterwise.reconciler.cycles import to_ms
    from meterwise.reconciler.export import devices_csv
    from meterwise.reconciler.fold import fold_pending
    from meterwise.reconciler.reconcile import cycle_for, get_account

    settings = settings_from(config_path, [account])
    try:
        acct = get_account(settings, account)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    as_of = parse_instant(at)
    when = cycle_for(settings, acct, parse_date(cycle) or as_of)
    store = open_db(settings)
    fold_pending(store, settings, [acct.id])  # every acknowledged delivery counts
    text = devices_csv(store, acct, when, to_ms(min(as_of, when.end)))
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


COMMANDS = (invoice_group, export_group)
