"""The receiver: the Flask app (`app.py`: verify, parse, store), the provider adapters and
the `meterwise` commands. Importing the package stays light (the commands need no Flask);
`create_app` loads the app module on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(*args: Any, **kwargs: Any) -> Flask:
    """Build the app; see `meterwise.receiver.app.create_app`."""
    from meterwise.receiver.app import create_app as build

    return build(*args, **kwargs)
