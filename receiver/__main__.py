"""`python -m receiver` is the `meterwise` command (used to start the scheduler process)."""

from meterwise.receiver.cli import cli

cli()
