"""The fold in PostgreSQL: queued events added to the aggregates in batches, exactly once.

The same semantics as SQLite's `fold.py` and `ingest.fold_rows`: a batch of an account's
queued events is added to first sightings (and their rollups), hourly activity and USAGE
sessions, and its queue entries deleted, in one transaction. Folds of one account are
serialized across hosts by a transaction-level advisory lock; nothing depends on ids being
handed out in commit order (a late commit's events are simply still queued).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg

from meterwise.storage.buckets import HOUR_MS, Deltas, Key, State, bucket_deltas
from meterwise.storage.postgres.base import PgBase
from meterwise.storage.records import CycleOf
from meterwise.storage.sqlite.ingest import EventRow, SightingRow

_UPSERT_ENTITY = """
INSERT INTO entity_first_seen AS f (account, metric, cycle_start_ms, entity, first_ts_ms,
                                    session_id, user_id, email, known_ms)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (account, metric, cycle_start_ms, entity) DO UPDATE SET
    known_ms = LEAST(coalesce(f.known_ms, excluded.known_ms), excluded.known_ms),
    session_id = CASE WHEN excluded.first_ts_ms < f.first_ts_ms
                      THEN excluded.session_id ELSE f.session_id END,
    user_id = CASE WHEN excluded.first_ts_ms < f.first_ts_ms
                   THEN coalesce(excluded.user_id, f.user_id)
                   ELSE coalesce(f.user_id, excluded.user_id) END,
    email = CASE WHEN excluded.first_ts_ms < f.first_ts_ms
                 THEN coalesce(excluded.email, f.email) ELSE coalesce(f.email, excluded.email) END,
    first_ts_ms = LEAST(f.first_ts_ms, excluded.first_ts_ms)
"""
BUCKET_COLUMNS = (
    "coalesce(session_id, ''), CASE WHEN user_id IS NOT NULL AND user_id != '' THEN user_id "
    "END, CASE WHEN email IS NULL THEN '' ELSE lower(substr(email, strpos(email, '@') + 1)) END"
)
Conn = psycopg.Connection[Any]


def states(conn: Conn, account: str, keys: Iterable[Key]) -> dict[Key, State]:
    """The bucket keys of these entities as stored now (absent: not seen yet)."""
    by_cycle: dict[tuple[str, int], list[str]] = {}
    for metric, cycle, entity in keys:
        by_cycle.setdefault((metric, cycle), []).append(entity)
    out: dict[Key, State] = {}
    for (metric, cycle), entities in by_cycle.items():
        for entity, ts, session, user, domain in conn.execute(
            f"SELECT entity, first_ts_ms, {BUCKET_COLUMNS} FROM entity_first_seen WHERE "
            "account = %s AND metric = %s AND cycle_start_ms = %s AND entity = ANY(%s)",
            (account, metric, cycle, entities),
        ):
            out[metric, cycle, entity] = (int(ts), session, user, domain)
    return out


def _add(conn: Conn, table: str, columns: Sequence[str], account: str, deltas: Deltas) -> None:
    changed = [
        (account, *(int(v) if isinstance(v, bool) else v for v in k), n)
        for k, n in deltas.items()
        if n
    ]
    if not changed:
        return
    names = ", ".join(["account", "metric", "cycle_start_ms", *columns])
    marks = ", ".join("%s" for _ in range(len(columns) + 4))
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {table} AS t ({names}, count) VALUES ({marks}) "
            f"ON CONFLICT ({names}) DO UPDATE SET count = t.count + excluded.count",
            changed,
        )
    if any(n < 0 for n in deltas.values()):
        conn.execute(f"DELETE FROM {table} WHERE account = %s AND count = 0", (account,))


def fold_rows(
    conn: Conn,
    account: str,
    cycle_of: CycleOf,
    events: Iterable[EventRow],
    sightings: Iterable[SightingRow],
) -> None:
    """Fold events and their sightings into the aggregates (the caller's transaction)."""
    events = list(events)
    with conn.cursor() as cur:
        sessions = sorted({s for kind, s, _, _ in events if kind == "USAGE" and s})
        cur.executemany(
            "INSERT INTO usage_sessions (account, session_id) VALUES (%s, %s) "
            "ON CONFLICT DO NOTHING",
            [(account, s) for s in sessions],
        )
        hours: Counter[tuple[str, int]] = Counter()
        for _, _, ts, _ in events:
            hours["events", ts - ts % HOUR_MS] += 1
        if events:
            receipts = [r for *_, r in events]
            cur.execute(
                "INSERT INTO account_receipts AS a (account, first_ms, last_ms) VALUES "
                "(%s, %s, %s) ON CONFLICT (account) DO UPDATE SET first_ms = "
                "LEAST(a.first_ms, excluded.first_ms), last_ms = GREATEST(a.last_ms, "
                "excluded.last_ms)",
                (account, min(receipts), max(receipts)),
            )
        rows = []
        for metric, entity, ts, session, user, email, received in sightings:
            hours[metric, ts - ts % HOUR_MS] += 1
            rows.append((account, metric, cycle_of(ts), entity, ts, session, user, email, received))
        if rows:
            keys = {(r[1], r[2], r[3]) for r in rows}
            before = states(conn, account, keys)
            cur.executemany(_UPSERT_ENTITY, rows)
            h, s, u = bucket_deltas(before, states(conn, account, keys))
            _add(conn, "first_seen_hours", ("hour",), account, h)
            _add(conn, "first_seen_sessions", ("session_id", "has_user", "domain"), account, s)
            _add(conn, "first_seen_users", ("user_id", "domain"), account, u)
        cur.executemany(
            "INSERT INTO activity_hourly AS h (account, metric, hour_ms, count) VALUES "
            "(%s, %s, %s, %s) ON CONFLICT (account, metric, hour_ms) DO UPDATE SET "
            "count = h.count + excluded.count",
            [(account, metric, hour, n) for (metric, hour), n in sorted(hours.items())],
        )


class PgFoldOps(PgBase):
    """Fold what is queued; say how much is."""

    def pending_folds(self, accounts: Iterable[str] | None = None) -> int:
        """Events stored but not yet folded (of ``accounts``, or of all)."""
        if accounts is None:
            row = self._one("SELECT count(*) FROM fold_pending")
        else:
            row = self._one(
                "SELECT count(*) FROM fold_pending WHERE account = ANY(%s)", (list(accounts),)
            )
        return int(row[0]) if row else 0

    def fold(self, cycles: Mapping[str, CycleOf], batch: int = 5000) -> int:
        """Fold up to ``batch`` queued events of each account in ``cycles``; how many."""
        folded = 0
        for account, cycle_of in cycles.items():
            with self._transaction() as conn:
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"fold:{account}",))
                conn.execute(
                    "INSERT INTO delivery_counts AS d (account, reason, hour_ms, count) SELECT "
                    f"account, reason, at_ms - at_ms %% {HOUR_MS}, count(*) FROM delivery_log "
                    "WHERE account = %s GROUP BY 1, 2, 3 ON CONFLICT (account, reason, hour_ms) "
                    "DO UPDATE SET count = d.count + excluded.count",
                    (account,),
                )
                conn.execute("DELETE FROM delivery_log WHERE account = %s", (account,))
                ids = [
                    r[0]
                    for r in conn.execute(
                        "SELECT event_id FROM fold_pending WHERE account = %s ORDER BY event_id "
                        "LIMIT %s",
                        (account, batch),
                    )
                ]
                if not ids:
                    continue
                events = conn.execute(
                    "SELECT event_type, session_id, ts_ms, received_at_ms FROM events WHERE "
                    "id = ANY(%s) ORDER BY id",
                    (ids,),
                ).fetchall()
                sightings = conn.execute(
                    "SELECT s.metric, s.entity, s.ts_ms, s.session_id, s.user_id, s.email, "
                    "e.received_at_ms FROM sightings s JOIN events e ON e.id = s.event_id "
                    "WHERE s.event_id = ANY(%s) ORDER BY s.event_id, s.id",
                    (ids,),
                ).fetchall()
                fold_rows(conn, account, cycle_of, events, sightings)
                conn.execute(
                    "DELETE FROM fold_pending WHERE account = %s AND event_id = ANY(%s)",
                    (account, ids),
                )
                folded += len(events)
        return folded
