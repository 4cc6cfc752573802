"""The dashboard's overview with many accounts: GET / for 200 accounts over HTTP, beside one
account's page in the same run.

Fills 200 accounts (JaaS and CometChat) with a cycle's traffic through the storage layer,
serves the real app on 127.0.0.1, signs in, and times GET / (every account: a report each)
and GET /accounts/<id> (one report) --rounds times each; prints medians, the overview's time
per account and its ratio to one account's page. Target: the overview under 1 s.

    python bench/dashboard.py [--accounts 200] [--deliveries 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meterwise.config.settings import parse_settings  # noqa: E402
from meterwise.receiver.app import create_app  # noqa: E402
from meterwise.receiver.providers import cometchat, jaas  # noqa: E402
from meterwise.receiver.signin import hash_password  # noqa: E402
from meterwise.receiver.testing import envelope  # noqa: E402
from meterwise.reconciler.fold import fold_pending  # noqa: E402
from meterwise.storage import connect  # noqa: E402
from meterwise.storage.sqlite.ingest import insert_delivery  # noqa: E402

START = datetime(2026, 3, 8, tzinfo=UTC)
NOW = START + timedelta(days=12, hours=9)
PASSWORD = "bench-password-1"


def config(work: Path, accounts: int) -> dict[str, Any]:
    rows = []
    for i in range(accounts):
        if i % 4 == 3:
            rows.append(
                {
                    "id": f"chat-{i}",
                    "provider": "cometchat",
                    "plan": "cometchat-1k",
                    "cycle_anchor": "2026-03-08",
                    "options": {"basic_auth_user": "mw", "basic_auth_password": "cc-pass-000001"},
                }
            )
        else:
            rows.append(
                {
                    "id": f"jaas-{i}",
                    "provider": "jaas",
                    "plan": "jaas-basic" if i % 2 else "jaas-business",
                    "cycle_anchor": "2026-03-08",
                    "webhook_secrets": ["whsec_bench00000000000000000000000000"],
                }
            )
    return {
        "storage": {"path": str(work / "dashboard.db")},
        "server": {"secret_key": "bench-secret-key-0123456789abcdef0123"},
        "users": [{"name": "finance", "password_hash": hash_password(PASSWORD)}],
        "accounts": rows,
    }


def fill(settings: Any, deliveries: int) -> None:
    store = connect(settings.storage_path)
    start_ms = int(START.timestamp() * 1000)
    span_ms = int((NOW - START).total_seconds() * 1000)
    with store._write() as conn:
        for a, account in enumerate(settings.accounts.values()):
            for d in range(deliveries):
                ts = start_ms + d * span_ms // deliveries
                if account.provider == "jaas":
                    devices = [
                        {"deviceId": f"dev-{(d * 5 + k) % (deliveries * 2)}"} for k in range(5)
                    ]
                    doc = envelope("USAGE", ts, devices, session_id=f"s{a}-{d // 10}")
                    parsed = jaas.parse(json.dumps(doc).encode(), account, {})
                else:
                    doc = {
                        "trigger": "user_connection_status_changed",
                        "data": {
                            "timestamp": ts,
                            "user": {"uid": f"u{d % 150}", "status": "online"},
                            "status": "online",
                            "currentConnection": {
                                "action": "connected",
                                "platform": "web",
                                "userAgent": "Mozilla/5.0",
                                "connectedAt": ts,
                            },
                        },
                        "appId": "bench",
                        "region": "eu",
                        "webhook": "mw",
                    }
                    parsed = cometchat.parse(json.dumps(doc).encode(), account, {})
                insert_delivery(conn, account.id, account.provider, parsed, ts + 1000)
    fold_pending(store, settings)
    store.close()


def timed(session: requests.Session, url: str, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        answer = session.get(url, timeout=120)
        times.append(time.perf_counter() - began)
        assert answer.status_code == 200, (url, answer.status_code, answer.text[:200])
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--deliveries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="meterwise-dashboard-bench-"))
    settings = parse_settings(config(work, args.accounts), {}, "bench")
    began = time.perf_counter()
    fill(settings, args.deliveries)
    print(
        f"dashboard bench: {args.accounts} accounts x {args.deliveries} deliveries, filled in "
        f"{time.perf_counter() - began:.0f} s"
    )
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    app = create_app(settings, clock=lambda: NOW.timestamp())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        session = requests.Session()
        form = session.get(url + "/login", timeout=30).text
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form)
        assert token is not None
        signed = session.post(
            url + "/login",
            data={"name": "finance", "password": PASSWORD, "csrf_token": token.group(1)},
            allow_redirects=False,
            timeout=30,
        )
        assert signed.status_code == 303, signed.text
        first = next(iter(settings.accounts))
        session.get(url + "/", timeout=120)  # warm
        one = timed(session, f"{url}/accounts/{first}", args.rounds)
        every = timed(session, url + "/", args.rounds)
        rows = session.get(url + "/", timeout=120).text.count('<tr id="row-')
        assert rows == args.accounts, rows
    finally:
        server.shutdown()
    print(f"GET /accounts/{first} (one report page): median {one * 1000:.0f} ms")
    print(
        f"GET / ({rows} accounts): median {every * 1000:.0f} ms, "
        f"{every * 1000 / rows:.1f} ms per account, ratio to one account's page "
        f"{every / one:.1f}x"
    )
    print(f"overview < 1 s: {'met' if every < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
