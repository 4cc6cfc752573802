"""PostgreSQL connections: one psycopg_pool pool per worker process, opened on first use
(after gunicorn forks, never at import), every connection checked on checkout so a server
restart costs the requests during the outage (503) and nothing after it."""

from __future__ import annotations

import atexit
import os
import threading

from psycopg_pool import ConnectionPool

STATEMENT_TIMEOUT_MS = 30_000
_pools: dict[str, tuple[int, ConnectionPool]] = {}
_guard = threading.Lock()


def pool_for(url: str, max_size: int = 8) -> ConnectionPool:
    """This process's pool for ``url`` (a pool inherited across a fork is never reused)."""
    pid = os.getpid()
    with _guard:
        found = _pools.get(url)
        if found is not None and found[0] == pid:
            return found[1]
        pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs={"options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"},
            check=ConnectionPool.check_connection,
            timeout=3,  # a request waits this long for a connection, then answers 503
            reconnect_timeout=0,  # keep trying to reconnect for as long as it takes
            open=False,
            name=f"meterwise-{pid}",
        )
        pool.open(wait=False)  # a server that is down now must not stop the worker
        _pools[url] = (pid, pool)
        return pool


@atexit.register
def close_pools() -> None:
    """Close this process's pools (tests; a worker's exit closes them anyway)."""
    with _guard:
        for pid, pool in list(_pools.values()):
            if pid == os.getpid():
                pool.close()
        _pools.clear()
