"""`meterwise serve` for real: gunicorn workers, SIGTERM, and SIGKILL mid-load."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from functools import partial
from pathlib import Path

import pytest
import requests

from meterwise.receiver.testing import envelope, signed

SECRET = "whsec_serve000000000000000000000000000"
METERWISE = Path(sys.executable).parent / "meterwise"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp_path: Path, extra: str = "", storage: str | None = None) -> Path:
    path = tmp_path / "meterwise.toml"
    tmp_path.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""
[storage]
{storage or f'path = "{tmp_path / "serve.db"}"'}
{extra}

[[accounts]]
id = "acme"
provider = "jaas"
plan = "jaas-basic"
cycle_anchor = "2026-03-08"
webhook_secrets = ["env:ACME_WHSEC"]
"""
    )
    return path


class Server:
    """A `meterwise serve` process in its own session (so SIGKILL reaches every worker)."""

    def __init__(
        self,
        tmp_path: Path,
        workers: int = 2,
        extra: str = "",
        cwd: Path | None = None,
        storage: str | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env["PATH"] = "/usr/bin:/bin"  # called by path, no activated virtualenv
        env["ACME_WHSEC"] = SECRET
        self.log = open(tmp_path / f"serve-{self.port}.log", "wb")
        self.proc = subprocess.Popen(
            [
                str(METERWISE),
                "serve",
                "--config",
                str(write_config(tmp_path, extra, storage)),
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            cwd=cwd or tmp_path,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:  # a loaded machine may take seconds to answer the first request
                if requests.get(self.url + "/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError("meterwise serve did not become healthy")

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()


def post_event(session: requests.Session, url: str, key: str) -> requests.Response:
    doc = envelope("USAGE", int(time.time() * 1000), [{"deviceId": key}], key=key)
    body, headers = signed(doc, SECRET, int(time.time()))
    return session.post(url + "/webhooks/jaas/acme", data=body, headers=headers, timeout=5)


def keep_posting(
    server: Server, acked: list[str], failed: list[int], stop: threading.Event
) -> None:
    """Post fresh signed deliveries until ``stop``; note acknowledged keys and other answers
    (a connection cut by a dying process is neither: the sender would retry it)."""
    session = requests.Session()
    while not stop.is_set():
        key = str(uuid.uuid4())
        try:
            response = post_event(session, server.url, key)
        except requests.RequestException:
            continue
        (acked.append(key) if response.ok else failed.append(response.status_code))


@pytest.mark.slow
def test_sigterm_stops_the_server_cleanly(tmp_path):
    server = Server(tmp_path)
    session = requests.Session()
    for i in range(20):  # spread over both workers
        assert post_event(session, server.url, f"k{i}").json()["status"] == "stored"
    assert post_event(session, server.url, "k0").json()["status"] == "duplicate"
    metrics = requests.get(server.url + "/metrics", timeout=5).text
    # Counted in two worker processes, aggregated into one figure.
    assert 'meterwise_webhooks_stored_total{provider="jaas"} 20.0' in metrics
    assert 'meterwise_webhooks_duplicate_total{provider="jaas"} 1.0' in metrics
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(20) == 0
    server.log.close()
    log = (tmp_path / f"serve-{server.port}.log").read_bytes()
    assert b"Shutting down" in log
    assert b'"outcome": "stored"' in log and b'"account": "acme"' in log
    assert SECRET.encode() not in log and b"v1=" not in log  # never a secret or signature


@pytest.mark.slow
def test_every_acknowledged_event_survives_sigkill_of_the_whole_server(tmp_path):
    server = Server(tmp_path, workers=3)
    acked: list[str] = []
    stop = threading.Event()
    load = partial(keep_posting, server, acked, [], stop)

    threads = [threading.Thread(target=load) for _ in range(6)]
    for t in threads:
        t.start()
    while len(acked) < 300:
        time.sleep(0.05)
    server.kill()  # SIGKILL the arbiter and every worker, mid-load
    stop.set()
    for t in threads:
        t.join()

    restarted = Server(tmp_path)  # recovery: the WAL is replayed on open
    try:
        assert requests.get(restarted.url + "/healthz", timeout=5).status_code == 200
        conn = sqlite3.connect(tmp_path / "serve.db")
        stored = {row[0] for row in conn.execute("SELECT idempotency_key FROM events")}
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()
        missing = set(acked) - stored
        assert not missing, f"{len(missing)} acknowledged events lost"
        assert len(acked) >= 300
    finally:
        restarted.kill()
