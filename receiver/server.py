"""Run the app under gunicorn (sync workers, one SQLite connection per worker)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from typing import Any

from gunicorn.app.base import BaseApplication

from meterwise.config.settings import Settings


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


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

        return create_app(self.settings)


def gunicorn_options(host: str, port: int, workers: int) -> dict[str, Any]:
    """The gunicorn settings the service (and its benchmark baseline) run with."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",
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


def run(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve until SIGTERM or SIGINT; blocks."""
    metrics_dir = tempfile.mkdtemp(prefix="meterwise-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # Create the database and schema once, before the workers race to do it.
    from meterwise.receiver.db import connect

    connect(settings.storage_path, settings.synchronous).conn.close()
    try:
        MeterwiseApplication(settings, gunicorn_options(host, port, workers)).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
