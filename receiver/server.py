"""Run the app under gunicorn, and supervise the scheduler child.

Workers are gunicorn's threaded workers (``gthread``) with a read deadline
(`receiver.workers`): an idle or trickling client holds one thread, never a whole worker.
Each thread has its own SQLite connection; a delivery is answered only after its COMMIT.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from meterwise.config.settings import Settings
from meterwise.receiver import runtime, workers
from meterwise.storage import Storage, open_storage

log = logging.getLogger("meterwise.serve")
SWITCH_INTERVAL_S = 0.0005


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    try:
        multiprocess.mark_process_dead(worker.pid)
    except Exception:
        log.exception("metrics: cannot mark worker %s dead", worker.pid)


class MeterwiseApplication(BaseApplication):  # type: ignore[misc]
    """A gunicorn application whose workers each build the Flask app after fork."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # e.g. control_socket_disable is gunicorn >= 24 only
                self.cfg.set(key, value)

    def load(self) -> Any:
        from meterwise.receiver import create_app

        # A worker's threads share one GIL; the thread that holds the database's write lock
        # releases it at every SQLite call and, with the default 5 ms switch interval, can
        # wait that long to get it back from a thread parsing JSON, holding every other
        # writer up meanwhile. A short interval keeps the write section short.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        return create_app(self.settings)


def gunicorn_options(host: str, port: int, workers: int, threads: int = 8) -> dict[str, Any]:
    """The gunicorn settings the service (and its benchmark baseline) run with."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "meterwise.receiver.workers.ReadDeadlineWorker",
        "threads": threads,
        "worker_connections": 1000,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,  # the app logs one structured line per request itself
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "meterwise",
        "child_exit": _child_exit,
        "control_socket_disable": True,
    }


class SchedulerSupervisor:
    """Start the scheduler child, restart it when it exits, and publish its status."""

    def __init__(self, args: list[str], folder: Path, max_backoff_s: float = 60.0) -> None:
        self.args = args
        self.folder = folder
        self.max_backoff_s = max_backoff_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.last_exit: int | None = None
        self.started = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="supervisor")

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        self.proc = subprocess.Popen(self.args)
        self.started = time.monotonic()
        self._publish()

    def _publish(self) -> None:
        alive = self.proc is not None and self.proc.poll() is None
        runtime.write_status(
            self.folder,
            {
                "alive": alive,
                "pid": self.proc.pid if self.proc else None,
                "restarts": self.restarts,
                "last_exit": self.last_exit,
            },
        )

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.wait(1.0):
            assert self.proc is not None
            code = self.proc.poll()
            if code is not None:
                self.last_exit = code
                log.error(
                    "meterwise: the scheduler exited with status %s; restarting in %.0f s "
                    "(alerts are not sent while it is down)",
                    code,
                    backoff,
                )
                self._publish()
                if self._stop.wait(backoff):
                    break
                backoff = min(backoff * 2, self.max_backoff_s)
                self.restarts += 1
                self._spawn()
                continue
            if time.monotonic() - self.started > 60:
                backoff = 1.0  # it has stayed up: forget earlier failures
            self._publish()

    def stop(self) -> None:
        self._stop.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def observe_accounts(store: Storage, settings: Settings) -> None:
    """Record when observation of each configured account began (first start only)."""
    now_ms = int(time.time() * 1000)
    for account_id in settings.accounts:
        store.record_observation(account_id, now_ms)


def scheduler_args(config_path: str | None) -> list[str]:
    """The scheduler command: ``-P`` so the working directory can never shadow a module."""
    args = [sys.executable, "-P", "-m", "meterwise.receiver", "scheduler"]
    args += ["--parent-pid", str(os.getpid())]
    return args + (["--config", config_path] if config_path else [])


def run(
    settings: Settings,
    host: str,
    port: int,
    workers_n: int,
    scheduler_config: str | None = None,
    with_scheduler: bool = False,
) -> None:
    """Serve until SIGTERM or SIGINT; blocks. Only this (arbiter) process removes its folder."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for path in runtime.clean_stale():
        log.info("meterwise: removed a stale runtime folder %s", path)
    owner = os.getpid()
    folder = runtime.create()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder / "metrics")
    os.environ[runtime.ENV] = str(folder)
    workers.READ_TIMEOUT_S = float(settings.read_timeout_s)
    # Create the database and schema once, before the workers race to do it.
    store = open_storage(settings)
    observe_accounts(store, settings)
    store.close()
    supervisor = None
    try:
        if with_scheduler:
            supervisor = SchedulerSupervisor(scheduler_args(scheduler_config), folder)
            supervisor.start()
        options = gunicorn_options(host, port, workers_n, settings.threads)
        MeterwiseApplication(settings, options).run()
    finally:
        if os.getpid() == owner:  # a forked worker carries this frame too: never let it clean
            if supervisor is not None:
                supervisor.stop()
            shutil.rmtree(folder, ignore_errors=True)
