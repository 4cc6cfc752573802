"""Reconciler commands, registered on the `meterwise` group."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add the reconciler's commands to ``group``."""
