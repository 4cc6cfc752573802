"""`python -m receiver` is the `meterwise` command (used to start the scheduler process)."""

from receiver.cli import cli

cli()
