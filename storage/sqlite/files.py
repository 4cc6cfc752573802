"""The database file as a whole: integrity check and a consistent online backup."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from meterwise.storage.sqlite.migrate import create_private


def integrity_problems(path: str | os.PathLike[str]) -> list[str]:
    """SQLite's integrity check of the file, read-only ([] when it is sound)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        found = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()
    return [] if found == ["ok"] else found


def backup(path: str | os.PathLike[str], target: str | os.PathLike[str]) -> str:
    """Copy the live database into ``target`` (a new, owner-only file) with SQLite's online
    backup API, safe while deliveries keep arriving; return the copy's integrity verdict."""
    out = Path(target)
    create_private(out)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    copy = sqlite3.connect(str(out))
    try:
        source.backup(copy, pages=4096)
        return str(copy.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        copy.close()
        source.close()
