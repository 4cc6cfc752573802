"""Where a delivery's time goes, per stage, in one process: on an empty database and on one
holding many stored deliveries (in microseconds per delivery, median of several runs).

Drives the real app (Flask test client: the whole handler, without sockets or gunicorn) with
unique pre-signed USAGE deliveries under cProfile, and reads the stages from the profile:
verify (signature), parse (envelope and time checks), store (the write transaction, of which
commit is the COMMIT statement's share), lock wait (the inter-process write lock), metrics,
log (the access line) and framework (everything else: Flask, werkzeug, JSON answers). Profiling
inflates small functions; read the shares, and compare empty with filled in the same run.

    python bench/ingest_profile.py [--deliveries 3000] [--prefill 500000]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meterwise.config.settings import parse_settings  # noqa: E402
from meterwise.receiver import create_app  # noqa: E402
from meterwise.receiver.testing import envelope, signed  # noqa: E402
from meterwise.storage import connect  # noqa: E402

SECRET = "whsec_bench00000000000000000000000000"
# Stage -> (file suffix, function name) whose cumulative time is the stage's.
STAGES = {
    "verify": ("receiver/verify.py", "verify_jaas"),
    "parse": ("receiver/providers/jaas.py", "parse"),
    "time checks": ("receiver/providers/base.py", "check_times"),
    # The request thread hands the delivery to the process's writer and waits for the COMMIT
    # that holds it (the writer thread's own work is not in this thread's profile).
    "store (until committed)": ("storage/sqlite/writer.py", "store"),
    "storage open and checks": ("storage/sqlite/__init__.py", "thread_storage"),
    "metrics": ("receiver/metrics.py", "count"),
    "latency metric": ("receiver/metrics.py", "observe"),
    "log": ("logging/__init__.py", "info"),
}


def _settings(db: Path):  # type: ignore[no-untyped-def]
    doc = {
        "storage": {"path": str(db)},
        "receiver": {"max_auth_failures": 10**6},
        "accounts": [
            {
                "id": "bench",
                "provider": "jaas",
                "plan": "jaas-business",
                "cycle_anchor": time.strftime("%Y-%m-01"),
                "webhook_secrets": [SECRET],
                "signature_tolerance_s": 3600,
            }
        ],
    }
    return parse_settings(doc, {}, "bench")


def prefill(db: Path, n: int) -> None:
    """``n`` stored deliveries (events and USAGE rows) written in bulk."""
    connect(db).conn.close()
    conn = sqlite3.connect(db)
    now = int(time.time() * 1000)
    body = b'{"prefilled": true}'
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO events (account, provider, idempotency_key, event_type, session_id, ts_ms, "
        "received_at_ms, body) VALUES ('bench', 'jaas', ?, 'USAGE', ?, ?, ?, ?)",
        ((f"pre-{i}", f"s{i // 10}", now - i, now - i, body) for i in range(n)),
    )
    conn.execute(
        "INSERT INTO usage_devices (event_id, account, session_id, ts_ms, device_id) "
        "SELECT id, account, session_id, ts_ms, 'pre-' || id FROM events"
    )
    conn.execute(
        "INSERT INTO sightings (event_id, account, metric, entity, ts_ms, session_id) "
        "SELECT id, account, 'mau', 'pre-' || id, ts_ms, session_id FROM events"
    )
    conn.execute("COMMIT")
    conn.close()


def profile(db: Path, deliveries: int) -> dict[str, float]:
    """Microseconds per delivery, per stage."""
    app = create_app(_settings(db))
    client = app.test_client()
    t = int(time.time())
    requests = []
    for i in range(deliveries):
        doc = envelope(
            "USAGE", t * 1000 + i, [{"deviceId": uuid.uuid4().hex}], session_id=f"p{i // 10}"
        )
        requests.append(signed(doc, SECRET, t))
    for body, headers in requests[:50]:  # warm up: first connection, schema check, imports
        client.post("/webhooks/jaas/bench", data=body, headers=headers)
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    for body, headers in requests[50:]:
        answer = client.post("/webhooks/jaas/bench", data=body, headers=headers)
        assert answer.status_code == 200, answer.get_data()
    profiler.disable()
    total = time.perf_counter() - began
    n = deliveries - 50
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    out = {"total (profiled)": total / n * 1e6}
    for stage, (suffix, name) in STAGES.items():
        cum = sum(v[3] for (f, _, fn), v in stats.items() if f.endswith(suffix) and fn == name)
        out[stage] = cum / n * 1e6
    commit = sum(
        v[3]
        for (f, _, fn), v in stats.items()
        if fn == "<method 'execute' of 'sqlite3.Connection' objects>"
    )
    out["sqlite execute (all statements)"] = commit / n * 1e6
    known = (
        "verify",
        "parse",
        "time checks",
        "store (until committed)",
        "storage open and checks",
        "metrics",
    )
    out["framework and the rest"] = out["total (profiled)"] - sum(
        out[k] for k in (*known, "latency metric", "log")
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--prefill", type=int, default=500_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="meterwise-profile-"))
    empty = profile(work / "empty.db", args.deliveries)
    filled_db = work / "filled.db"
    prefill(filled_db, args.prefill)
    filled = profile(filled_db, args.deliveries)
    print(
        f"per-delivery profile, us (cProfile, {args.deliveries - 50} deliveries each; "
        f"filled = {args.prefill:,} stored deliveries)"
    )
    print(f"  {'stage':34} {'empty':>10} {'filled':>10}")
    for stage in empty:
        print(f"  {stage:34} {empty[stage]:10.0f} {filled[stage]:10.0f}")


if __name__ == "__main__":
    main()
