"""The scheduled reconciliation: APScheduler ticks, a SQLite lease picks the one runner.

Every tick renews (or tries to take) the ``scheduler`` lease; only its holder runs a pass, and
only when ``reconcile_every_s`` has passed since the last completed one. So however many
schedulers run against one database, one of them reconciles; if it dies, another takes over
when the lease expires. A pass missed while everything was down runs once, at the first tick.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from meterwise.config.settings import Settings
from meterwise.reconciler.cycles import to_ms
from meterwise.reconciler.fold import fold_pending
from meterwise.storage import open_storage

log = logging.getLogger("meterwise.scheduler")
LEASE = "scheduler"


@dataclass
class Runner:
    """What one scheduler process needs on each tick."""

    settings: Settings
    holder: str
    lease_s: int
    parent_pid: int | None = None
    scheduler: Any = None


def tick(runner: Runner) -> str:
    """One tick: keep or take the lease and run a pass when due. Returns what it did."""
    from meterwise.reconciler.job import run_reconciliation
    from meterwise.reconciler.mailer import SmtpMailer

    if runner.parent_pid is not None and os.getppid() != runner.parent_pid:
        log.info("parent %s is gone; stopping", runner.parent_pid)
        if runner.scheduler is not None:
            runner.scheduler.shutdown(wait=False)
        return "orphaned"
    settings = runner.settings
    store = open_storage(settings)  # a connection per run
    try:
        now = datetime.now(UTC)
        if not store.acquire_lease(LEASE, runner.holder, to_ms(now), runner.lease_s):
            return "standby"
        folded = fold_pending(store, settings)  # every tick: the queue stays short
        if folded:
            log.info("folded %s event(s)", folded)
        last = store.last_run_ms(LEASE)
        if last > to_ms(now):
            log.warning("the last run is recorded in the future (a wrong clock?): running now")
        elif to_ms(now) - last < settings.reconcile_every_s * 1000:
            return "leader, not due"

        def renew() -> bool:
            """Keep the lease while the pass runs (slow SMTP); stop if it was lost."""
            held = store.acquire_lease(
                LEASE, runner.holder, to_ms(datetime.now(UTC)), runner.lease_s
            )
            if not held:
                log.error("lost the scheduler lease during a pass; stopping this pass")
            return held

        result = run_reconciliation(
            store, settings, SmtpMailer(settings.email), now, keep_going=renew
        )
        store.mark_run(LEASE, to_ms(now))
        for account, message, _ in result.queued:
            log.info("queued %s: %s", account, message.subject)
        for account, row in result.channels:
            log.info("queued %s: [%s] %s", account, row.channel, row.subject)
        for d in result.deliveries:
            (log.error if d.status == "failed" else log.info)(
                "%s: [%s] %s%s", d.status, d.channel, d.subject, f" ({d.error})" if d.error else ""
            )
        return "ran"
    except Exception:
        log.exception("reconciliation pass failed; the next tick retries")
        return "error"
    finally:
        store.close()


def _exit_when_orphaned(parent_pid: int, scheduler: Any, grace_s: float = 5.0) -> None:
    """Stop within a second of `meterwise serve` dying (even by SIGKILL): a scheduler without
    its server must not keep sending alerts. A pass still running after ``grace_s`` is cut."""
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    log.info("parent %s is gone; stopping", parent_pid)
    scheduler.shutdown(wait=False)
    time.sleep(grace_s)
    os._exit(0)


def run_scheduler(
    settings: Settings, tick_s: float = 10.0, lease_s: int = 30, parent_pid: int | None = None
) -> None:
    """Block, ticking every ``tick_s`` seconds, until SIGTERM or SIGINT."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    runner = Runner(
        settings,
        f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
        lease_s,
        parent_pid,
    )
    store = open_storage(settings)
    for account_id in settings.accounts:  # observation begins at the first start
        store.record_observation(account_id, to_ms(datetime.now(UTC)))
    store.close()
    scheduler = BlockingScheduler(timezone=UTC)
    runner.scheduler = scheduler
    scheduler.add_job(
        tick,
        "interval",
        args=[runner],
        seconds=tick_s,
        next_run_time=datetime.now(UTC),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
        id="reconcile",
    )

    def stop(signum: int, frame: Any) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if parent_pid is not None:
        threading.Thread(
            target=_exit_when_orphaned, args=(parent_pid, scheduler), daemon=True
        ).start()
    log.info(
        "scheduler %s: every %s s (tick %s s)", runner.holder, settings.reconcile_every_s, tick_s
    )
    try:
        scheduler.start()
    finally:
        store = open_storage(settings)
        store.release_lease(LEASE, runner.holder)
        store.close()
