"""Report speed at scale: `meterwise report --format json` vs a raw COUNT(DISTINCT).

Fills a database with 5,000,000 USAGE device rows from 500,000 distinct devices in one cycle
through the storage layer (real JaaS envelopes parsed by the adapter, stored with their
bodies by the writer's insert, then folded), then times the whole report command, and the
report's own work in process, against SELECT COUNT(DISTINCT device_id) over the same rows,
in the same run. Targets: report < 2 s,
at most a third of the raw count's time, peak memory < 300 MB.

On ``--engines postgresql`` (or ``sqlite,postgresql``) the same fill goes into a
PostgreSQL server this bench starts on loopback (fsync on; VACUUM ANALYZE after the load,
as autovacuum would), and the raw count runs on the same PostgreSQL data.

    python bench/reconcile.py [--rows 5000000] [--devices 500000] [--keep DIR]
                              [--engines sqlite,postgresql]
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
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meterwise.config.settings import load_settings  # noqa: E402
from meterwise.receiver.providers import jaas  # noqa: E402
from meterwise.receiver.testing import envelope  # noqa: E402
from meterwise.reconciler.fold import fold_pending  # noqa: E402
from meterwise.reconciler.reconcile import compute_report  # noqa: E402
from meterwise.storage import Parsed, open_storage  # noqa: E402
from meterwise.storage.sqlite.ingest import insert_delivery  # noqa: E402

START = datetime(2026, 3, 8, tzinfo=UTC)


PER_DELIVERY = 10  # devices per USAGE delivery
PER_TRANSACTION = 2000  # deliveries per bulk transaction (the receiver commits smaller groups)


def deliveries(rows: int, devices: int, sessions: int) -> Iterator[dict[str, Any]]:
    """Real JaaS envelopes: a room and a moderator per meeting, then USAGE deliveries of
    PER_DELIVERY devices each; the first `devices` rows introduce every device once, spread
    over the cycle, the rest are returning devices (70% of devices have a user id)."""
    rng = random.Random(7)
    span_ms = int(timedelta(days=25).total_seconds() * 1000)
    start_ms = int(START.timestamp() * 1000)
    for s in range(sessions):
        room = f"room-{s % 500}"
        yield envelope(
            "ROOM_CREATED", start_ms + s, {"conference": room}, session_id=f"s{s}", room=room
        )
        joined = {
            "moderator": "true",
            "name": f"User {s % 5000}",
            "id": f"user-{s % 5000}",
            "participantId": f"p{s}",
            "isBreakout": False,
        }
        yield envelope("PARTICIPANT_JOINED", start_ms + s, joined, session_id=f"s{s}", room=room)
    for first in range(0, rows, PER_DELIVERY):
        items, ts = [], start_ms + (first * span_ms) // rows
        for i in range(first, min(first + PER_DELIVERY, rows)):
            dev = i if i < devices else rng.randrange(devices)
            user = f"user-{dev % 5000}" if dev % 10 < 7 else None
            items.append({"deviceId": f"dev-{dev}", **({"userId": user} if user else {})})
        session = (first // PER_DELIVERY) % sessions
        yield envelope("USAGE", ts, items, session_id=f"s{session}", room=f"room-{session % 500}")


def fill(config: Path, rows: int, devices: int, sessions: int) -> tuple[float, float]:
    """Store the deliveries through the storage layer (parsed by the JaaS adapter, inserted by
    `insert_delivery` as the writer does, in big transactions), then fold them; the seconds
    each took."""
    settings = load_settings(str(config), {})
    account = settings.accounts["bench"]
    store = open_storage(settings)
    if not settings.storage_url:
        store.conn.execute("PRAGMA synchronous = OFF")  # a bench fill, not a delivery
    began = time.perf_counter()
    batch: list[list[Parsed]] = []
    received = int(START.timestamp() * 1000)

    def flush() -> None:
        if settings.storage_url:  # PostgreSQL: the engine's own insert, in one transaction
            from meterwise.storage.postgres.ingest import insert_delivery as pg_insert

            with store.pool.connection() as conn, conn.transaction():
                for parsed in batch:
                    pg_insert(conn, "bench", "jaas", parsed, received)
        else:
            with store._write() as conn:
                for parsed in batch:
                    insert_delivery(conn, "bench", "jaas", parsed, received)
        batch.clear()

    for doc in deliveries(rows, devices, sessions):
        batch.append(jaas.parse(json.dumps(doc).encode(), account, {}))
        if len(batch) >= PER_TRANSACTION:
            flush()
    flush()
    stored_s = time.perf_counter() - began
    began = time.perf_counter()
    fold_pending(store, settings)
    fold_s = time.perf_counter() - began
    if settings.storage_url:
        store.close()
        import psycopg

        with psycopg.connect(settings.storage_url, autocommit=True) as pg:
            pg.execute("VACUUM ANALYZE")  # what autovacuum does after a bulk load
    else:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.close()
    return stored_s, fold_s


RAW = (
    "SELECT COUNT(DISTINCT device_id) FROM usage_devices WHERE account = ? "
    "AND ts_ms >= ? AND ts_ms < ?"
)


def raw_count(settings, storage_url: str | None, work: Path) -> tuple[int, float]:
    """The raw distinct count over the same rows, on the same engine; its time."""
    params = (
        "bench",
        int(START.timestamp() * 1000),
        int((START + timedelta(days=31)).timestamp() * 1000),
    )
    if storage_url:
        import psycopg

        with psycopg.connect(storage_url) as pg:
            pg.execute(RAW.replace("?", "%s"), params).fetchone()  # warm, as the report is
            began = time.perf_counter()
            raw = pg.execute(RAW.replace("?", "%s"), params).fetchone()[0]
            return int(raw), time.perf_counter() - began
    conn = sqlite3.connect(work / "scale.db")
    try:
        began = time.perf_counter()
        raw = conn.execute(RAW, params).fetchone()[0]
        return int(raw), time.perf_counter() - began
    finally:
        conn.close()


def measure(name: str, storage: str, args, work: Path) -> None:
    """Fill (unless reused), then the raw count, the report command and the report in
    process, on one engine."""
    config = work / f"bench-{name}.toml"
    config.write_text(f"""
[storage]
{storage}
[[accounts]]
id = "bench"
provider = "jaas"
plan = "jaas-business"
cycle_anchor = "2026-03-08"
webhook_secrets = ["whsec_x"]
""")
    settings = load_settings(str(config), {})
    if args.reuse and name == "sqlite" and (work / "scale.db").exists():
        print(f"[{name}] reusing the database filled before (--reuse)")
    else:
        stored_s, fold_s = fill(config, args.rows, args.devices, args.sessions)
        print(
            f"[{name}] fill through the storage layer: stored {stored_s:.0f} s, "
            f"folded {fold_s:.0f} s"
        )
    raw, raw_s = raw_count(settings, settings.storage_url, work)
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
    print(f"[{name}] raw COUNT(DISTINCT device_id): {raw:,} in {raw_s:.2f} s")
    print(
        f"[{name}] meterwise report --format json: mau {int(mau['used']):,}, "
        f"forecast {int(Decimal(mau['forecast'])):,}, "
        f"{len(data['attribution'])} attributed users, total ${data['invoice']['total']} "
        f"in {report_s:.2f} s (whole command, process start included)"
    )
    print(
        f"[{name}] ratio report/raw = {report_s / raw_s:.2f} (target <= 0.33: "
        f"{'met' if report_s / raw_s <= 0.33 else 'NOT met'}); report < 2 s: "
        f"{'met' if report_s < 2 else 'NOT met'}; peak RSS of the report {peak_mb:.0f} MB "
        f"(target < 300: {'met' if peak_mb < 300 else 'NOT met'})"
    )
    # Like with like: the report's own work in this process (fold check, snapshot load,
    # computation), without a process start or JSON, against the same raw count.
    store = open_storage(settings, migrate=False)
    at = datetime(2026, 4, 2, tzinfo=UTC)
    compute_report(store, settings, "bench", at)  # warm
    began = time.perf_counter()
    report = compute_report(store, settings, "bench", at)
    inproc_s = time.perf_counter() - began
    store.close()
    print(
        f"[{name}] in-process compute_report: {inproc_s:.2f} s, ratio to raw "
        f"{inproc_s / raw_s:.2f} (mau {int(report.metrics[0].usage.used):,})"
    )
    assert int(mau["used"]) == raw, "report MAU differs from the raw distinct count"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--devices", type=int, default=500_000)
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument(
        "--engines",
        default="sqlite",
        help="comma-separated: sqlite, postgresql (a server this bench starts, fsync on)",
    )
    parser.add_argument("--keep", default=None, help="Keep the SQLite database in this folder.")
    parser.add_argument(
        "--reuse", action="store_true", help="Measure the database kept in --keep (no fill)."
    )
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if set(engines) - {"sqlite", "postgresql"}:
        parser.error("--engines takes sqlite and/or postgresql")
    work = Path(args.keep or tempfile.mkdtemp(prefix="meterwise-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"scale bench: {args.rows:,} USAGE rows, {args.devices:,} distinct devices, "
        f"{args.sessions:,} meetings"
    )
    server = None
    try:
        for name in engines:
            if name == "postgresql":
                from tests.pg import start_server

                server = start_server(fsync=True)
                storage = f'url = "{server.create_database("scale")}"'
            else:
                storage = f'path = "{work / "scale.db"}"'
            measure(name, storage, args, work)
    finally:
        if server is not None:
            from meterwise.storage.postgres.connection import close_pools
            from tests.pg import stop_server

            close_pools()
            stop_server(server)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
