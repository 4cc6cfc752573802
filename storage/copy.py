"""`meterwise db copy`: move a SQLite installation into PostgreSQL, resumable and idempotent.

Events go in id order, in batches: each batch (the events, their normalized rows, sightings
and fold-queue entries) commits in one transaction together with how far the copy got, so an
interrupted copy resumes after its last whole batch and never copies a row twice. Every
other table has a primary or unique key and is copied with ``ON CONFLICT DO NOTHING``, so a
second run adds only what is new. Ids are kept (the identity sequences are moved past them).
The source should be folded first and quiet (stop `meterwise serve`, or copy again after
switching: the second run brings what arrived meanwhile).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from meterwise.storage.postgres import migrate
from meterwise.storage.sqlite.ingest import NORMALIZED_TABLES

CHILDREN = (*sorted(NORMALIZED_TABLES), "sightings", "fold_pending")
KEYED = (
    "entity_first_seen",
    "activity_hourly",
    "usage_sessions",
    "first_seen_hours",
    "first_seen_sessions",
    "first_seen_users",
    "account_receipts",
    "delivery_counts",
    "observation",
    "purges",
    "provider_figures",
    "alert_state",
    "outbox",
    "leases",
    "dashboard_sessions",
)
NOT_COPIED = ("delivery_log", "login_failures")  # folded before copying; short-lived
SEQUENCES = (("events", "id"), ("outbox", "id"))


@dataclass
class CopyResult:
    """What a run copied, and the row counts of both sides afterwards."""

    events: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    source: dict[str, int] = field(default_factory=dict)
    target: dict[str, int] = field(default_factory=dict)

    @property
    def differences(self) -> list[str]:
        """Tables whose counts differ (empty when the copy is whole)."""
        return [t for t in self.source if self.source[t] != self.target.get(t)]


def _columns(lite: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in lite.execute(f"PRAGMA table_info({table})")]


def _insert(pg: psycopg.Connection[Any], table: str, columns: list[str], rows: list[Any]) -> int:
    if not rows:
        return 0
    marks = ", ".join("%s" for _ in columns)
    with pg.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING",
            rows,
        )
        return max(0, cur.rowcount)  # the rows inserted, summed over the statements


def _counts(
    lite: sqlite3.Connection, pg: psycopg.Connection[Any]
) -> tuple[dict[str, int], dict[str, int]]:
    tables = ("events", *CHILDREN, *KEYED)
    source = {t: int(lite.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}
    target: dict[str, int] = {}
    for t in tables:
        row = pg.execute(f"SELECT count(*) FROM {t}").fetchone()
        target[t] = int(row[0]) if row else 0
    return source, target


def copy_to_postgres(
    path: str | os.PathLike[str],
    url: str,
    batch: int = 2000,
    progress: Callable[[int], None] = lambda n: None,
) -> CopyResult:
    """Copy the SQLite database at ``path`` into the PostgreSQL database at ``url``."""
    migrate.upgrade(url)
    source_id = str(Path(path).resolve())
    lite = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
    result = CopyResult()
    try:
        with psycopg.connect(url) as pg:
            pg.execute(
                "CREATE TABLE IF NOT EXISTS copy_progress (source TEXT PRIMARY KEY, "
                "last_event_id BIGINT NOT NULL)"
            )
            pg.commit()
            row = pg.execute(
                "SELECT last_event_id FROM copy_progress WHERE source = %s", (source_id,)
            ).fetchone()
            last = int(row[0]) if row else 0
            event_columns = _columns(lite, "events")
            children = {t: _columns(lite, t) for t in CHILDREN}
            while True:
                events = lite.execute(
                    f"SELECT {', '.join(event_columns)} FROM events WHERE id > ? ORDER BY id "
                    "LIMIT ?",
                    (last, batch),
                ).fetchall()
                if not events:
                    break
                first, last = events[0][0], events[-1][0]
                with pg.transaction():
                    result.events += _insert(pg, "events", event_columns, events)
                    for table, columns in children.items():
                        order = "" if table == "fold_pending" else " ORDER BY rowid"
                        rows = lite.execute(
                            f"SELECT {', '.join(columns)} FROM {table} WHERE event_id >= ? AND "
                            f"event_id <= ?{order}",
                            (first, last),
                        ).fetchall()
                        n = _insert(pg, table, columns, rows)
                        result.rows[table] = result.rows.get(table, 0) + n
                    pg.execute(
                        "INSERT INTO copy_progress (source, last_event_id) VALUES (%s, %s) "
                        "ON CONFLICT (source) DO UPDATE SET last_event_id = excluded.last_event_id",
                        (source_id, last),
                    )
                progress(result.events)
            for table in KEYED:
                columns = _columns(lite, table)
                rows = lite.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
                with pg.transaction():
                    result.rows[table] = _insert(pg, table, columns, rows)
            with pg.transaction():
                for table, column in SEQUENCES:
                    pg.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"
                    )
            result.source, result.target = _counts(lite, pg)
    finally:
        lite.close()
    return result
