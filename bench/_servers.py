"""Start the real service and a bare Flask baseline under the same gunicorn settings."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
METERWISE = Path(sys.executable).parent / "meterwise"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or slow on a loaded machine
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy")


def start(
    kind: str,
    config: Path,
    workdir: Path,
    workers: int,
    extra: tuple[str, ...] = (),
    threads: int = 8,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``kind`` ("meterwise", "bare" or "no-storage") on a free port; return the
    process and URL. Meterwise reads its threads per worker from ``config``; bare Flask is
    given ``threads``, which should match."""
    port = free_port()
    if kind == "meterwise":
        cmd = [
            str(METERWISE),
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
            "--workers",
            str(workers),
            *extra,
        ]
    elif kind == "no-storage":  # Meterwise with its write removed (bench/nostore_app.py)
        cmd = [sys.executable, str(ROOT / "bench" / "nostore_app.py"), str(config), str(port)]
        cmd.append(str(workers))
    else:
        cmd = [sys.executable, str(ROOT / "bench" / "bare_app.py"), str(port), str(workers)]
        cmd.append(str(threads))
    proc = subprocess.Popen(
        cmd,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc)
    return proc, url


def session_cpu_s(session: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a session: a
    server's master, its workers and its children (each server starts a session)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        if int(fields[3]) == session:  # field 6 of stat, counted after the command name
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)
