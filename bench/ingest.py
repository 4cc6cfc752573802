"""Ingest throughput: our verified, stored, normalized endpoint vs a bare Flask endpoint.

Both run under the same gunicorn settings and are driven alternately with the same kind of
pre-signed USAGE deliveries (unique idempotency keys, so every one of ours is a real insert).
Uses wrk when installed, else a Python multi-process load generator. Prints requests/s for
each, the ratio (target >= 0.7, stretch 0.8), p50/p99 latency and the servers' CPU per
request (user + system of every process of each server: master, workers, scheduler child;
not the PostgreSQL server's), per setup:

- ``sqlite``: one host on a SQLite file;
- ``postgresql``: one host on a PostgreSQL server this bench starts (loopback, fsync on);
- ``postgresql-2hosts``: two `meterwise serve` processes on that server, the connections
  spread over both, against two bare Flask processes driven the same way.

    python bench/ingest.py [--seconds 8] [--rounds 3] [--workers 2] [--connections 16] [--threads 8]
                           [--setups sqlite,postgresql,postgresql-2hosts]
                           [--prefill 5000000]   # start sqlite from a database holding that many
                           [--no-scheduler]      # the endpoint alone, nothing folded beside it
                           [--ceiling]           # and the endpoint with its write removed
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._servers import session_cpu_s, start, stop  # noqa: E402
from bench.ingest_profile import prefill  # noqa: E402
from meterwise.receiver.testing import envelope, signed  # noqa: E402

SECRET = "whsec_bench00000000000000000000000000"
LUA = r"""
local reqs = {}
local counter = 0
local started = 0
function setup(thread)
  -- each wrk thread gets its own id; the threads take turns on one run of keys
  thread:set("tid", started)
  started = started + 1
end
function init(args)
  for line in io.lines(args[1]) do
    local sig, body = line:match("([^\t]+)\t(.*)")
    reqs[#reqs + 1] = wrk.format("POST", "/webhooks/jaas/bench",
      {["Content-Type"] = "application/json", ["X-Jaas-Signature"] = sig}, body)
  end
  step = tonumber(args[3]) or 1
  counter = (tonumber(args[2]) or 0) + (tid or 0) - step
end
function request()
  counter = counter + step
  return reqs[(counter % #reqs) + 1]
end
done = function(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %d, \"seconds\": %f, \"p50_ms\": %f, " ..
    "\"p99_ms\": %f, \"errors\": %d, \"non2xx\": %d}\n", summary.requests,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status))
end
"""


def make_requests(path: Path, count: int) -> None:
    """Write ``count`` pre-signed USAGE deliveries (one device each, unique keys)."""
    t = int(time.time())
    now_ms = t * 1000
    with path.open("w") as out:
        for i in range(count):
            doc = envelope(
                "USAGE",
                now_ms + i,
                [{"deviceId": uuid.uuid4().hex, "userId": f"user-{i % 500}"}],
                session_id=f"s{i // 10}",
            )
            body, headers = signed(doc, SECRET, t)
            out.write(f"{headers['X-Jaas-Signature']}\t{body.decode()}\n")


def run_wrk(urls: list[str], reqfile: Path, seconds: int, connections: int, offset: int) -> dict:
    """One wrk per host, all at once; host h of n starts its keys h/n of the file further.
    A run of ``requests`` keys takes keys ``offset`` to ``offset + requests`` of its host's
    block (the wrk threads take turns), so the next run starts where this one ended."""
    script = reqfile.with_suffix(".lua")
    script.write_text(LUA)
    span = sum(1 for _ in reqfile.open()) // len(urls)
    procs = [
        subprocess.Popen(
            [
                "wrk",
                f"-t{WRK_THREADS}",
                f"-c{max(2, connections // len(urls))}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                url,
                "--",
                str(reqfile),
                str(offset + h * span),
                str(WRK_THREADS),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for h, url in enumerate(urls)
    ]
    runs = [json.loads(re.search(r"JSON (\{.*\})", p.communicate()[0]).group(1)) for p in procs]
    return {
        "requests": sum(r["requests"] for r in runs),
        "seconds": max(r["seconds"] for r in runs),
        "p50_ms": statistics.mean(r["p50_ms"] for r in runs),
        "p99_ms": max(r["p99_ms"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "non2xx": sum(r["non2xx"] for r in runs),
    }


WRK_THREADS = 2
MAX_RPS = 6000  # the most requests a second one side is expected to answer here
PER_CONNECTION = 2000  # keys per Python connection and run (it stops rather than repeat one)


def run_python(urls: list[str], reqfile: Path, seconds: int, connections: int, offset: int) -> dict:
    from bench._pyload import drive

    targets = [u + "/webhooks/jaas/bench" for u in urls]
    return drive(targets, reqfile, seconds, connections, offset, PER_CONNECTION)


SETUPS = {  # name: (engine, hosts)
    "sqlite": ("sqlite", 1),
    "postgresql": ("postgresql", 1),
    "postgresql-2hosts": ("postgresql", 2),
}


def write_config(path: Path, storage: str, synchronous: str, threads: int) -> None:
    extra = f'synchronous = "{synchronous}"' if storage.startswith("path") else ""
    path.write_text(f"""
[server]
threads = {threads}
[storage]
{storage}
{extra}
[[accounts]]
id = "bench"
provider = "jaas"
plan = "jaas-business"
cycle_anchor = "{time.strftime("%Y-%m-01")}"
webhook_secrets = ["{SECRET}"]
signature_tolerance_s = 3600
""")


def stored_count(storage: str, work: Path) -> int:
    if storage.startswith("url"):
        import psycopg

        with psycopg.connect(storage.split('"')[1]) as pg:
            return int(pg.execute("SELECT count(*) FROM events").fetchone()[0])
    db = sqlite3.connect(work / "bench.db")
    try:
        return int(db.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        db.close()


def bench_setup(name: str, storage: str, hosts: int, args, driver, work: Path, reqfile: Path):
    """Bare Flask and Meterwise alternately, ``hosts`` processes of each; the ratio."""
    config = work / f"{name}.toml"
    write_config(config, storage, args.synchronous, args.threads)
    prefilled = args.prefill if name == "sqlite" else 0
    kinds = ("bare", "meterwise", "no-storage") if args.ceiling else ("bare", "meterwise")
    results: dict[str, list[dict]] = {kind: [] for kind in kinds}
    offset = 0
    for round_no in range(args.rounds):
        for kind in kinds:
            extra = ("--no-scheduler",) if args.no_scheduler else ()
            started = [
                start(kind, config, work, args.workers, extra, args.threads) for _ in range(hosts)
            ]
            try:
                cpu = sum(session_cpu_s(proc.pid) for proc, _ in started)
                r = driver([u for _, u in started], reqfile, args.seconds, args.connections, offset)
                cpu = sum(session_cpu_s(proc.pid) for proc, _ in started) - cpu
            finally:
                for proc, _ in started:
                    stop(proc)
            # fresh keys for every run: wrk threads and Python connections take disjoint blocks
            offset += max(r["requests"] + 1000, args.connections * PER_CONNECTION)
            r["rps"] = r["requests"] / r["seconds"]
            r["cpu_us"] = cpu / max(r["requests"], 1) * 1e6  # the servers' CPU per request
            results[kind].append(r)
            print(
                f"  {name} round {round_no + 1} {kind:10s} {r['rps']:8.0f} req/s"
                f"  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms"
                f"  server CPU {r['cpu_us']:.0f} us/request"
                f"  errors {r['errors']} non-2xx {r['non2xx']}"
            )
    acked = sum(r["requests"] - r["non2xx"] for r in results["meterwise"])
    stored = stored_count(storage, work) - prefilled
    extra = (
        f"{acked - stored} answered as duplicates; every key sent should be unique"
        if acked >= stored
        else f"{stored - acked} more were in flight when the load stopped, none a duplicate"
    )
    print(
        f"  {name} verified: {stored} events stored for {acked} acknowledged deliveries ({extra})"
    )
    summary = {k: statistics.median(r["rps"] for r in v) for k, v in results.items()}
    ratio = summary["meterwise"] / summary["bare"]
    if args.ceiling:
        print(
            f"  {name} without its storage step: {summary['no-storage'] / summary['bare']:.2f}"
            " of bare Flask (the ceiling of this endpoint on this machine)"
        )
    for kind in kinds:
        p50 = statistics.median(r["p50_ms"] for r in results[kind])
        p99 = statistics.median(r["p99_ms"] for r in results[kind])
        cpu_us = statistics.median(r["cpu_us"] for r in results[kind])
        print(
            f"  {name} {kind:10s} median {summary[kind]:8.0f} req/s"
            f"  p50 {p50:.2f} ms  p99 {p99:.2f} ms  server CPU {cpu_us:.0f} us/request"
        )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--threads", type=int, default=8, help="gthread threads per worker, both servers"
    )
    parser.add_argument("--synchronous", choices=["normal", "full"], default="normal")
    parser.add_argument("--prefill", type=int, default=0, help="stored deliveries to start with")
    parser.add_argument(
        "--no-scheduler",
        action="store_true",
        help="the endpoint alone: no scheduler folding beside it on the same cores",
    )
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="also run Meterwise with its storage step removed (bench/nostore_app.py)",
    )
    parser.add_argument(
        "--setups",
        default="sqlite",
        help="comma-separated: " + ", ".join(SETUPS) + " (PostgreSQL: a server started here)",
    )
    args = parser.parse_args()
    setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    unknown = [s for s in setups if s not in SETUPS]
    if unknown:
        parser.error(f"unknown setup {unknown[0]!r}; choose from {', '.join(SETUPS)}")
    driver = run_wrk if shutil.which("wrk") else run_python
    tool = "wrk" if driver is run_wrk else "python load generator"
    work = Path(tempfile.mkdtemp(prefix="meterwise-bench-"))
    if args.prefill:
        began = time.perf_counter()
        prefill(work / "bench.db", args.prefill)
        print(f"prefilled {args.prefill:,} deliveries in {time.perf_counter() - began:.0f} s")
    reqfile = work / "requests.tsv"
    sides = 3 if args.ceiling else 2
    hosts = max(SETUPS[name][1] for name in setups)
    keys = sides * args.rounds * max(args.connections * PER_CONNECTION, args.seconds * MAX_RPS)
    make_requests(reqfile, hosts * keys + 50_000)  # each host its own block of keys
    print(
        f"ingest bench: {tool}, {args.workers} gthread workers x {args.threads} threads per host, "
        f"{args.connections} connections, "
        f"{args.seconds} s x {args.rounds} rounds each, synchronous={args.synchronous}, "
        f"{args.prefill:,} deliveries stored before (sqlite), "
        + (
            "no scheduler (nothing folded meanwhile)"
            if args.no_scheduler
            else "the scheduler folding"
        )
    )
    server = None
    ratios: dict[str, float] = {}
    try:
        for name in setups:
            engine, hosts = SETUPS[name]
            if engine == "postgresql":
                if server is None:
                    from tests.pg import start_server

                    server = start_server(fsync=True)  # durable commits, as in production
                url = server.create_database("bench_" + name.replace("-", "_"))
                storage = f'url = "{url}"'
            else:
                storage = f'path = "{work / "bench.db"}"'
            ratios[name] = bench_setup(name, storage, hosts, args, driver, work, reqfile)
    finally:
        if server is not None:
            from tests.pg import stop_server

            stop_server(server)
    for name, ratio in ratios.items():
        print(
            f"ratio meterwise/bare [{name}] = {ratio:.2f} (target >= 0.70, stretch 0.80: "
            f"{'met' if ratio >= 0.7 else 'NOT met'})"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
