"""`meterwise serve` under faults: worker restarts, slow clients, hostile working directories,
a dead parent, stale runtime folders. Real gunicorn processes over loopback."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import uuid
from functools import partial
from pathlib import Path

import pytest
import requests

from tests.conftest import storage_line
from tests.test_server import Server, keep_posting, post_event

pytestmark = pytest.mark.slow


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the direct children of ``pid``."""
    out = subprocess.run(
        ["ps", "--ppid", str(pid), "-o", "pid=,args="], capture_output=True, text=True
    ).stdout
    found = []
    for line in out.splitlines():
        child, _, args = line.strip().partition(" ")
        found.append((int(child), args))
    return found


def workers(server: Server) -> list[int]:
    return [p for p, args in children(server.proc.pid) if "scheduler" not in args]


def scheduler_pid(server: Server) -> int | None:
    return next((p for p, args in children(server.proc.pid) if "scheduler" in args), None)


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def stored_keys(tmp_path: Path, store_at: Path | dict[str, str] | None = None) -> set[str]:
    if isinstance(store_at, dict):
        import psycopg

        with psycopg.connect(store_at["url"]) as pg:
            return {row[0] for row in pg.execute("SELECT idempotency_key FROM events")}
    conn = sqlite3.connect(tmp_path / "serve.db")
    try:
        return {row[0] for row in conn.execute("SELECT idempotency_key FROM events")}
    finally:
        conn.close()


ENGINES = ("sqlite", "postgresql")  # worker restarts on both; the other tests are the process's


def test_worker_restarts_never_break_ingest(tmp_path, store_at, engine):
    """Every worker replaced (SIGHUP), one stopped, one aborted: ingest goes on, on either
    engine (PostgreSQL: each new worker opens its own pool after the fork)."""
    storage = storage_line(store_at) if engine == "postgresql" else None
    server = Server(tmp_path, workers=2, extra="[reconcile]\nscheduler = false\n", storage=storage)
    acked: list[str] = []
    failed: list[int] = []
    stop = threading.Event()
    load = partial(keep_posting, server, acked, failed, stop)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        before = set(workers(server))
        server.proc.send_signal(signal.SIGHUP)  # reload: every worker replaced
        assert wait_for(lambda: len(set(workers(server)) - before) == 2)
        os.kill(workers(server)[0], signal.SIGTERM)  # one worker replaced
        time.sleep(1.5)
        os.kill(workers(server)[0], signal.SIGABRT)  # what the arbiter sends on a timeout
        time.sleep(1.5)
        count = len(acked)
        assert wait_for(lambda: len(acked) > count + 50)  # ingest goes on after each restart
    finally:
        stop.set()
        for t in threads:
            t.join()
    try:
        session = requests.Session()
        later = [str(uuid.uuid4()) for _ in range(5)]
        for key in later:
            assert post_event(session, server.url, key).json()["status"] == "stored"
        assert requests.get(server.url + "/metrics", timeout=5).status_code == 200
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
        assert not failed, f"non-2xx answers: {sorted(set(failed))}"
        assert set(acked) | set(later) <= stored_keys(tmp_path, store_at)
    finally:
        server.kill()


def trickle(port: int, stop: threading.Event, results: list[bytes]) -> None:
    """A client that sends headers, then one body byte every second."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"POST /webhooks/jaas/acme HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    try:
        while not stop.is_set():
            sock.sendall(b" ")
            sock.settimeout(1.0)
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
            while b"}" not in data:  # the JSON body may come in a later segment
                more = sock.recv(4096)
                if not more:
                    break
                data += more
            results.append(data)
            return
    except OSError:
        results.append(b"closed")
    finally:
        sock.close()


def test_slow_clients_neither_hold_ingest_nor_a_thread_for_long(tmp_path):
    server = Server(tmp_path, workers=2, extra="[receiver]\nread_timeout_s = 3\n")
    stop = threading.Event()
    results: list[bytes] = []
    slow = [threading.Thread(target=trickle, args=(server.port, stop, results)) for _ in range(6)]
    try:
        for t in slow:
            t.start()
        time.sleep(0.5)
        session = requests.Session()
        for i in range(10):
            started = time.monotonic()
            assert post_event(session, server.url, f"fast{i}").json()["status"] == "stored"
            assert time.monotonic() - started < 5.0  # sync workers made it wait 19 s
        for t in slow:
            t.join(10)
        assert len(results) == 6
        assert all(r.startswith(b"HTTP/1.1 408") for r in results), results
        assert b"body_timeout" in results[0]
    finally:
        stop.set()
        server.kill()


def hostile_directory(tmp_path: Path) -> Path:
    """A working directory holding the user's own packages with Meterwise's old names."""
    cwd = tmp_path / "project"
    for name in ("config", "receiver", "reconciler", "meterwise"):
        (cwd / name).mkdir(parents=True)
        (cwd / name / "__init__.py").write_text(f'raise ImportError("the user\'s own {name}")\n')
    return cwd


def metric(server: Server, name: str) -> float:
    text = requests.get(server.url + "/metrics", timeout=5).text
    line = next(ln for ln in text.splitlines() if ln.startswith(name + " "))
    return float(line.split()[1])


def test_the_scheduler_is_supervised_and_never_shadowed(tmp_path):
    server = Server(tmp_path, cwd=hostile_directory(tmp_path))
    try:
        assert wait_for(lambda: scheduler_pid(server) is not None)
        first = scheduler_pid(server)
        time.sleep(2)  # long enough for a shadowed import to have failed
        assert scheduler_pid(server) == first
        assert metric(server, "meterwise_scheduler_up") == 1
        assert metric(server, "meterwise_scheduler_restarts") == 0
        assert b"ImportError" not in (tmp_path / f"serve-{server.port}.log").read_bytes()

        assert first is not None
        os.kill(first, signal.SIGKILL)
        assert wait_for(
            lambda: requests.get(server.url + "/healthz", timeout=5).status_code == 503, 5
        )
        health = requests.get(server.url + "/healthz", timeout=5).json()
        assert health["reason"] == "scheduler"
        assert wait_for(lambda: scheduler_pid(server) not in (None, first))
        assert wait_for(lambda: metric(server, "meterwise_scheduler_up") == 1)
        assert metric(server, "meterwise_scheduler_restarts") == 1
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
        log = (tmp_path / f"serve-{server.port}.log").read_text()
        assert "the scheduler exited" in log

        orphan = scheduler_pid(server)
        assert orphan is not None
    finally:
        server.kill()  # SIGKILL the arbiter and its workers: the scheduler is orphaned

    def gone() -> bool:
        try:
            os.kill(orphan, 0)
        except ProcessLookupError:
            return True
        # A zombie (already exited, not reaped by init yet) counts as gone.
        state = Path(f"/proc/{orphan}/stat").read_text().split()[2]
        return state == "Z"

    assert wait_for(gone, 8), "the orphaned scheduler kept running"


def test_stale_runtime_folders_are_removed_at_start(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    root = Path(tempfile.gettempdir())
    stale = root / f"meterwise-run-{dead.pid}-{uuid.uuid4().hex[:8]}"
    (stale / "metrics").mkdir(parents=True)
    legacy = root / f"meterwise-metrics-{uuid.uuid4().hex[:8]}"
    legacy.mkdir()
    os.utime(legacy, (time.time() - 3 * 86400, time.time() - 3 * 86400))
    mine = root / f"meterwise-run-{os.getpid()}-{uuid.uuid4().hex[:8]}"  # a live process's
    mine.mkdir()
    server = Server(tmp_path, extra="[reconcile]\nscheduler = false\n")
    try:
        assert not stale.exists() and not legacy.exists()
        assert mine.exists()
        own = [p for p in root.glob(f"meterwise-run-{server.proc.pid}-*")]
        assert len(own) == 1
    finally:
        server.kill()
        mine.rmdir()
