"""The README documents every command, config key and plan (sqlite-utils / Datasette habit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from meterwise.config.options import schemas
from meterwise.config.plans import _PLAN_KEYS, load_catalog
from meterwise.config.sections import API_KEYS, CHECK_KEYS
from meterwise.config.settings import _ACCOUNT_KEYS
from meterwise.receiver.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_is_in_the_readme(command):
    assert f"meterwise {command}" in README


@pytest.mark.parametrize(
    "key",
    sorted(
        _ACCOUNT_KEYS
        | _PLAN_KEYS
        | CHECK_KEYS
        | API_KEYS
        | {"path", "synchronous", "host", "port", "workers", "max_body_bytes"}
    ),
)
def test_every_config_key_is_in_the_readme(key):
    assert key in README


@pytest.mark.parametrize("plan", sorted(load_catalog().plans))
def test_every_builtin_plan_is_in_the_readme(plan):
    assert plan in README


@pytest.mark.parametrize(
    "provider,option",
    sorted((p, o) for p, opts in schemas().items() for o in opts),
)
def test_every_provider_option_is_in_the_readme(provider, option):
    assert option in README
