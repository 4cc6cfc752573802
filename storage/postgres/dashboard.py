"""The dashboard's SQL in PostgreSQL: sessions, failed sign-ins, receipts and an account's
messages (the same semantics as SQLite's `dashboard.py`)."""

from __future__ import annotations

from collections.abc import Sequence

from meterwise.storage.postgres.base import PgBase
from meterwise.storage.records import MessageRow


class PgDashboardOps(PgBase):
    """Sign-in sessions and limits, and what the overview shows of each account."""

    def open_session(self, sid_hash: str, user: str, now_ms: int, expires_ms: int) -> None:
        """Record a new session (and forget expired ones)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM dashboard_sessions WHERE expires_ms <= %s", (now_ms,))
            conn.execute(
                "INSERT INTO dashboard_sessions VALUES (%s, %s, %s, %s)",
                (sid_hash, user, now_ms, expires_ms),
            )

    def session_user(self, sid_hash: str, now_ms: int) -> str | None:
        """Who a live session belongs to (None: unknown, signed out or expired)."""
        row = self._one(
            "SELECT user_name FROM dashboard_sessions WHERE sid_hash = %s AND expires_ms > %s",
            (sid_hash, now_ms),
        )
        return str(row[0]) if row else None

    def close_session(self, sid_hash: str) -> None:
        """End a session (sign-out)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM dashboard_sessions WHERE sid_hash = %s", (sid_hash,))

    def record_login_failure(self, keys: Sequence[str], now_ms: int, keep_ms: int) -> None:
        """Count a failed sign-in against each key (a name, an address)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM login_failures WHERE at_ms < %s", (now_ms - keep_ms,))
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO login_failures VALUES (%s, %s)", [(k, now_ms) for k in keys]
                )

    def login_failures(self, key: str, since_ms: int) -> tuple[int, int | None]:
        """(count, oldest ms) of failed sign-ins against ``key`` since ``since_ms``."""
        row = self._one(
            "SELECT count(*), min(at_ms) FROM login_failures WHERE key = %s AND at_ms >= %s",
            (key, since_ms),
        )
        return (int(row[0]), row[1]) if row else (0, None)

    def clear_login_failures(self, key: str) -> None:
        """Forget the failures of ``key`` (its owner signed in)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM login_failures WHERE key = %s", (key,))

    def last_received(self) -> dict[str, int]:
        """When each account's newest stored event was received (ms; folded events)."""
        return {a: int(ms) for a, ms in self._rows("SELECT account, last_ms FROM account_receipts")}

    def cycle_messages(self, account: str, cycle_start_ms: int) -> list[MessageRow]:
        """The messages queued for a cycle's alerts, oldest first, with what fired them."""
        fired: dict[str, list[str]] = {}  # outbox key of the email -> what fired it
        for key, metric, rule, level in self._rows(
            "SELECT outbox_key, metric, rule, level FROM alert_state WHERE account = %s AND "
            "cycle_start_ms = %s ORDER BY fired_at_ms",
            (account, cycle_start_ms),
        ):
            fired.setdefault(key, []).append(f"{metric} {rule} {level}")
        out: list[MessageRow] = []
        for key, what in fired.items():  # the email and every channel row queued beside it
            for s, st, n, err, c, sent, ch in self._rows(
                "SELECT subject, status, attempts, last_error, created_at_ms, sent_at_ms, "
                "channel FROM outbox WHERE key = %s OR starts_with(key, %s) ORDER BY id",
                (key, key + "/"),
            ):
                out.append(
                    (
                        s,
                        st,
                        int(n),
                        err,
                        int(c),
                        None if sent is None else int(sent),
                        tuple(what),
                        ch,
                    )
                )
        return out
