"""Report speed at scale: `meterwise report --format json` vs a raw COUNT(DISTINCT).

Fills a database with 5,000,000 USAGE device rows from 500,000 distinct devices in one cycle
(directly, in bulk; the first-seen and hourly activity rows are written by the receiver's own
upsert code, as ingest keeps them), then times the whole report command against
SELECT COUNT(DISTINCT device_id) over the same rows, in the same run. Targets: report < 2 s,
at most a third of the raw count's time, peak memory < 300 MB.

    python bench/reconcile.py [--rows 5000000] [--devices 500000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meterwise.config.settings import load_settings  # noqa: E402
from meterwise.reconciler.cycles import cycle_start_of  # noqa: E402
from meterwise.storage import (  # noqa: E402
    Entity,
    Parsed,
    connect,  # noqa: E402
)
from meterwise.storage.sqlite.ingest import fold_rows, parsed_rows  # noqa: E402

START = datetime(2026, 3, 8, tzinfo=UTC)


def fill(config: Path, rows: int, devices: int, sessions: int) -> float:
    settings = load_settings(str(config), {})
    account = settings.accounts["bench"]
    db = connect(settings.storage_path)
    conn = db.conn
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA foreign_keys = OFF")
    rng = random.Random(7)
    span_ms = int(timedelta(days=25).total_seconds() * 1000)
    start_ms = int(START.timestamp() * 1000)
    began = time.perf_counter()
    batch = 100_000
    for offset in range(0, rows, batch):
        usage, entities = [], []
        for i in range(offset, min(offset + batch, rows)):
            # The first `devices` rows introduce every device once, spread over the cycle;
            # the rest are returning devices.
            dev = i if i < devices else rng.randrange(devices)
            ts = start_ms + (i * span_ms) // rows
            session = f"s{dev % sessions}"
            user = f"user-{dev % 5000}" if dev % 10 < 7 else None  # 70% internal devices
            usage.append((1, "bench", session, ts, f"dev-{dev}", user, None, None, None, None))
            entities.append(Entity("mau", f"dev-{dev}", ts, session, user, None))
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO usage_devices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", usage)
        events, sightings = parsed_rows(
            [Parsed("k", "USAGE", 0, None, None, None, b"", {}, tuple(entities))], start_ms
        )
        fold_rows(conn, account.id, cycle_start_of(account, "anchored"), events, sightings)
        conn.execute("COMMIT")
    conn.execute("BEGIN")
    conn.executemany(  # a moderator per meeting, for guest attribution
        "INSERT INTO participants (event_id, account, session_id, ts_ms, event_type, lobby, "
        "joined, participant_id, user_id, name, moderator) VALUES (1, 'bench', ?, ?, "
        "'PARTICIPANT_JOINED', 0, 1, ?, ?, ?, 1)",
        [
            (f"s{s}", start_ms + s, f"p{s}", f"user-{s % 5000}", f"User {s % 5000}")
            for s in range(sessions)
        ],
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--devices", type=int, default=500_000)
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--keep", default=None, help="Keep the database in this folder.")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="meterwise-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    config = work / "bench.toml"
    config.write_text(f"""
[storage]
path = "{work / "scale.db"}"
[[accounts]]
id = "bench"
provider = "jaas"
plan = "jaas-business"
cycle_anchor = "2026-03-08"
webhook_secrets = ["whsec_x"]
""")
    print(
        f"scale bench: {args.rows:,} USAGE rows, {args.devices:,} distinct devices, "
        f"{args.sessions:,} meetings"
    )
    fill_s = fill(config, args.rows, args.devices, args.sessions)
    print(f"fill (bulk rows + real first-seen upserts): {fill_s:.1f} s")
    conn = sqlite3.connect(work / "scale.db")
    began = time.perf_counter()
    raw = conn.execute(
        "SELECT COUNT(DISTINCT device_id) FROM usage_devices WHERE account = ? "
        "AND ts_ms >= ? AND ts_ms < ?",
        (
            "bench",
            int(START.timestamp() * 1000),
            int((START + timedelta(days=31)).timestamp() * 1000),
        ),
    ).fetchone()[0]
    raw_s = time.perf_counter() - began
    conn.close()
    # The report process reports its own peak memory (RUSAGE_CHILDREN would also count this
    # bench's memory, inherited at fork).
    own_rss = (
        "import resource, sys\n"
        "from meterwise.receiver.cli import cli\n"
        "try:\n    cli.main(sys.argv[1:], standalone_mode=False)\n"
        "finally:\n"
        "    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    print(f'PEAK_RSS_KB {kb}', file=sys.stderr)\n"
    )
    cmd = [
        sys.executable,
        "-c",
        own_rss,
        "report",
        "bench",
        "--event-time",  # the stored rows as a live report reads them (no receipt filter)
        "--at",
        "2026-04-02T00:00:00Z",
        "--format",
        "json",
        "--config",
        str(config),
    ]
    subprocess.run(cmd, capture_output=True, check=True)  # warm the page cache like the raw query
    began = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, check=True, text=True)
    report_s = time.perf_counter() - began
    out = done.stdout
    peak_mb = int(done.stderr.rsplit("PEAK_RSS_KB ", 1)[1].split()[0]) / 1024
    data = json.loads(out)
    mau = data["metrics"]["mau"]
    print(f"raw COUNT(DISTINCT device_id): {raw:,} in {raw_s:.2f} s")
    print(
        f"meterwise report --format json: mau {int(mau['used']):,}, "
        f"forecast {int(Decimal(mau['forecast'])):,}, "
        f"{len(data['attribution'])} attributed users, total ${data['invoice']['total']} "
        f"in {report_s:.2f} s (whole command, process start included)"
    )
    print(
        f"ratio report/raw = {report_s / raw_s:.2f} (target <= 0.33: "
        f"{'met' if report_s / raw_s <= 0.33 else 'NOT met'}); report < 2 s: "
        f"{'met' if report_s < 2 else 'NOT met'}; peak RSS of the report {peak_mb:.0f} MB "
        f"(target < 300: {'met' if peak_mb < 300 else 'NOT met'})"
    )
    assert int(mau["used"]) == raw, "report MAU differs from the raw distinct count"
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
