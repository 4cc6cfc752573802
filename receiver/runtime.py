"""The serve process's runtime folder: Prometheus files and the scheduler's status.

`meterwise serve` (the gunicorn arbiter) creates one folder per run, named with its pid, and is
the only process that removes it; folders whose process is gone (a hard kill) are removed at
the next start. Workers find it through ``METERWISE_RUNTIME_DIR``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

ENV = "METERWISE_RUNTIME_DIR"
PREFIX = "meterwise-run-"
_OURS = re.compile(rf"^{PREFIX}(\d+)-")
_LEGACY = "meterwise-metrics-"  # release 0.1 named its folders without a pid
STATUS = "scheduler.json"
STALE_AFTER_S = 15.0  # the supervisor rewrites the status every second


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(root: str | None = None, legacy_age_s: float = 86400.0) -> list[str]:
    """Remove runtime folders left by processes that no longer exist; return their paths."""
    root = root or tempfile.gettempdir()
    removed = []
    for entry in os.scandir(root):
        if not entry.is_dir(follow_symlinks=False):
            continue
        match = _OURS.match(entry.name)
        if match:
            stale = not _alive(int(match.group(1)))
        elif entry.name.startswith(_LEGACY):
            stale = time.time() - entry.stat().st_mtime > legacy_age_s
        else:
            continue
        if stale:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed


def create() -> Path:
    """A new runtime folder for this process, with ``metrics/`` inside."""
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    (path / "metrics").mkdir()
    return path


def write_status(folder: Path, status: dict[str, Any]) -> None:
    """Replace the scheduler status atomically."""
    tmp = folder / f".{STATUS}.tmp"
    tmp.write_text(json.dumps({**status, "updated_at": time.time()}))
    os.replace(tmp, folder / STATUS)


def scheduler_status() -> dict[str, Any] | None:
    """The supervisor's last word on the scheduler, or None when serve runs none.

    A status not rewritten for ``STALE_AFTER_S`` counts as down (the supervisor is gone).
    """
    folder = os.environ.get(ENV)
    if not folder:
        return None
    try:
        status: dict[str, Any] = json.loads((Path(folder) / STATUS).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"alive": False, "detail": "scheduler status unreadable"}
    if time.time() - float(status.get("updated_at", 0)) > STALE_AFTER_S:
        status["alive"] = False
        status["detail"] = "scheduler supervisor stopped reporting"
    return status
