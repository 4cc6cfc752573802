"""The `meterwise` commands, through click's runner, on a real SQLite file and a real
PostgreSQL database."""

from __future__ import annotations

import calendar
import json
from pathlib import Path

from click.testing import CliRunner

from meterwise.receiver.cli import cli
from meterwise.receiver.testing import Meeting
from meterwise.storage import open_storage
from tests.conftest import SECRET, storage_line

ENGINES = ("sqlite", "postgresql")  # the commands that read storage run on both engines


def write_config(
    tmp_path: Path, anchor: str = "2026-03-08", store_at: Path | dict[str, str] | None = None
) -> Path:
    path = tmp_path / "meterwise.toml"
    path.write_text(f"""
[storage]
{storage_line(store_at or tmp_path / "cli.db")}

[[accounts]]
id = "acme"
provider = "jaas"
plan = "jaas-basic"
cycle_anchor = "{anchor}"
webhook_secrets = ["{SECRET}"]
""")
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_plans_lists_the_catalog(tmp_path):
    code, out = run("plans", "--config", str(write_config(tmp_path)))
    assert code == 0
    assert "jaas-basic" in out and "$   99.00" in out and "mau 300" in out
    assert "recording_minutes $0.01/min" in out


def test_check_config_names_the_bad_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[accounts]]\nid = "x"\nprovider = "jaas"\nplan = "jaas-basic"\n')
    code, out = run("check-config", "--config", str(path))
    assert code == 1
    assert "accounts[0].cycle_anchor: missing" in out


def test_report_formats(tmp_path, store_at):
    config = write_config(tmp_path, store_at=store_at)
    from meterwise.config.settings import load_settings
    from meterwise.receiver.providers import jaas

    settings = load_settings(str(config), {})
    db = open_storage(settings)
    meeting = Meeting("m1", calendar.timegm((2026, 3, 10, 9, 0, 0)) * 1000)
    for d in ("a", "b", "c"):
        meeting.join(f"dev-{d}", f"user-{d}", moderator=d == "a")
    for i, doc in enumerate(meeting.events):
        body = json.dumps(doc).encode()
        db.store_delivery(
            "acme",
            "jaas",
            jaas.parse(body, settings.accounts["acme"], {}),
            i,
        )
    args = ["report", "acme", "--event-time", "--at", "2026-03-20T00:00:00Z"]
    args += ["--config", str(config)]
    code, out = run(*args, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["metrics"]["mau"]["used"] == "3"
    assert set(data) >= {
        "account",
        "provider",
        "as_of",
        "cycle",
        "plan",
        "metrics",
        "invoice",
        "attribution",
    }
    assert set(data["metrics"]["mau"]) >= {
        "used",
        "allowance",
        "overage_units",
        "overage_amount",
        "forecast",
        "forecast_low",
        "forecast_high",
        "projected_crossing",
        "estimated",
    }
    assert data["metrics"]["transcription_minutes"]["estimated"] is True
    code, out = run(*args, "--format", "csv")
    assert out.splitlines()[0].startswith("account,cycle_start,metric,used")
    assert "acme,2026-03-08T00:00:00Z,mau,3," in out
    code, out = run(*args)
    assert "mau" in out and "invoice issued 2026-04-08" in out and "user-a" in out

    # Rebuild after changing the anchor moves the first-seen rows to the new cycles.
    config = write_config(tmp_path, "2026-02-15", store_at)
    code, out = run("rebuild", "--config", str(config))
    assert code == 0 and "acme: replayed 6 events, 3 first-seen rows" in out
    code, out = run(
        "report",
        "acme",
        "--event-time",
        "--at",
        "2026-03-14T00:00:00Z",
        "--format",
        "json",
        "--config",
        str(config),
    )
    assert json.loads(out)["cycle"]["start"] == "2026-02-15T00:00:00Z"
    assert json.loads(out)["metrics"]["mau"]["used"] == "3"


def test_report_for_unknown_account_is_a_clean_error(tmp_path):
    code, out = run("report", "nobody", "--config", str(write_config(tmp_path)))
    assert code == 1 and "accounts.nobody" in out


def test_every_command_has_help():
    for name, command in cli.commands.items():
        assert command.help, name
        code, out = run(name, "--help")
        assert code == 0 and "Usage:" in out
