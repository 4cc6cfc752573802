"""Two `meterwise serve` hosts (2 workers each) on one PostgreSQL database, under load from
several threads spread over both: SIGKILL one host mid-load and restart it; restart the
PostgreSQL server mid-load. Every key that got a 2xx from either host is stored exactly
once; the surviving host keeps answering; during the database's outage nothing gets a 2xx
(503 with Retry-After), and both hosts recover without a restart."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest
import requests

from tests.test_server import Server, post_event

pytestmark = pytest.mark.slow


def _load(
    server: Server, acked: list[str], answers: list[tuple[int, str | None]], stop: threading.Event
) -> None:
    session = requests.Session()
    while not stop.is_set():
        key = str(uuid.uuid4())
        try:
            response = post_event(session, server.url, key)
        except requests.RequestException:
            continue  # a connection cut by a dying host: the provider would retry it
        if response.ok:
            acked.append(key)
        answers.append((response.status_code, response.headers.get("Retry-After")))


def _stored(url: str) -> tuple[set[str], int]:
    with psycopg.connect(url) as conn:
        keys = {r[0] for r in conn.execute("SELECT idempotency_key FROM events")}
        rows = conn.execute("SELECT count(*) FROM events").fetchone()
    return keys, int(rows[0]) if rows else 0


def _wait(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sigkill_of_one_host_loses_nothing_and_the_other_keeps_answering(pg_server, tmp_path):
    url = pg_server.create_database("two_hosts_kill")
    storage = f'url = "{url}"'
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    a = Server(tmp_path / "a", workers=2, storage=storage)
    b = Server(tmp_path / "b", workers=2, storage=storage)
    acked: list[str] = []
    answers_a: list[tuple[int, str | None]] = []
    answers_b: list[tuple[int, str | None]] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_load, args=(host, acked, answers, stop))
        for host, answers in ((a, answers_a), (b, answers_b))
        for _ in range(3)
    ]
    restarted = None
    try:
        for t in threads:
            t.start()
        _wait(lambda: len(acked) >= 150)
        a.kill()  # SIGKILL host a's arbiter and workers mid-load
        served_by_b = len(answers_b)
        _wait(lambda: len(answers_b) >= served_by_b + 100)  # b goes on answering
        restarted = Server(tmp_path / "a", workers=2, storage=storage)
        _wait(lambda: len(acked) >= 450)
    finally:
        stop.set()
        for t in threads:
            t.join()
        b.kill()
        if restarted is not None:
            restarted.kill()
    assert all(status == 200 for status, _ in answers_b), "b failed while a was down"
    keys, rows = _stored(url)
    assert rows == len(keys)  # every stored key once
    missing = set(acked) - keys
    assert not missing, f"{len(missing)} acknowledged deliveries lost"


def test_a_database_restart_gives_503s_never_a_2xx_and_the_hosts_recover(pg_server, tmp_path):
    url = pg_server.create_database("two_hosts_restart")
    storage = f'url = "{url}"'
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    hosts = [Server(tmp_path / n, workers=2, storage=storage) for n in ("a", "b")]
    acked: list[str] = []
    answers: list[tuple[int, str | None]] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_load, args=(host, acked, answers, stop))
        for host in hosts
        for _ in range(2)
    ]
    try:
        for t in threads:
            t.start()
        _wait(lambda: len(acked) >= 100)
        pg_server.kill()  # the database goes away under load (immediate shutdown)
        down_at = len(answers)
        _wait(lambda: sum(1 for s, _ in answers[down_at:] if s == 503) >= 20)
        during = list(answers[down_at:])
        acked_before_restart = len(acked)
        pg_server.pg_ctl_run("start")
        _wait(lambda: len(acked) >= acked_before_restart + 100)  # recovered, no host restart
    finally:
        stop.set()
        for t in threads:
            t.join()
        for host in hosts:
            host.kill()
    outage = [a for a in during if a[0] != 200]
    assert outage and all(status == 503 and retry for status, retry in outage)
    keys, rows = _stored(url)
    assert rows == len(keys) and not set(acked) - keys


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def test_one_scheduler_across_hosts_and_the_standby_takes_over(pg_server, tmp_path):
    """Both hosts run a scheduler child; only the lease holder's runs passes. SIGKILL the
    holder's host: its liveness lock goes with its session, so the other host's scheduler
    takes the lease at its next tick (10 s), not after the lease (30 s) runs out."""
    url = pg_server.create_database("two_hosts_scheduler")
    storage = f'url = "{url}"'
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    hosts = [Server(tmp_path / n, workers=1, storage=storage) for n in ("a", "b")]

    def lease() -> tuple[str, int] | None:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT holder, expires_ms FROM leases WHERE name = 'scheduler'"
            ).fetchone()
        return (row[0], int(row[1])) if row else None

    try:
        _wait(lambda: lease() is not None, 60)
        holder = lease()
        assert holder is not None
        pid = int(holder[0].split(":")[1])
        owner = next(h for h in hosts if _parent(pid) == h.proc.pid)
        standby = next(h for h in hosts if h is not owner)
        owner.kill()
        killed_at = time.monotonic()
        _wait(lambda: (found := lease()) is not None and found[0] != holder[0], 60)
        took_over = time.monotonic() - killed_at
        new_pid = int(lease()[0].split(":")[1])  # type: ignore[index]
        assert _parent(new_pid) == standby.proc.pid
        assert took_over <= 10 + 8, f"takeover after {took_over:.0f} s"
    finally:
        for host in hosts:
            if host.proc.poll() is None:
                host.kill()


def test_the_same_delivery_to_both_hosts_at_once_is_stored_once(pg_server, tmp_path):
    """A provider retrying to the other host while the first still answers: both get a 2xx,
    one `stored` and one `duplicate`, and the event is stored once."""
    from meterwise.receiver.testing import envelope, signed
    from tests.test_server import SECRET

    url = pg_server.create_database("two_hosts_same_key")
    storage = f'url = "{url}"'
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    hosts = [Server(tmp_path / n, workers=2, storage=storage) for n in ("a", "b")]
    try:
        for round_ in range(20):
            doc = envelope(
                "USAGE", int(time.time() * 1000), [{"deviceId": f"d{round_}"}], key=f"same-{round_}"
            )
            body, headers = signed(doc, SECRET, int(time.time()))
            answers = _both_at_once(hosts, body, headers)
            assert sorted(a.json()["status"] for a in answers) == ["duplicate", "stored"]
    finally:
        for host in hosts:
            host.kill()
    keys, rows = _stored(url)
    assert rows == len(keys) == 20


def _both_at_once(hosts: list[Server], body: bytes, headers: dict[str, str]) -> list:
    """POST the same delivery to every host at the same moment; the answers."""
    start = threading.Barrier(len(hosts))
    answers: list[requests.Response] = []

    def post(host: Server) -> None:
        start.wait()
        answers.append(
            requests.post(host.url + "/webhooks/jaas/acme", data=body, headers=headers, timeout=10)
        )

    threads = [threading.Thread(target=post, args=(h,)) for h in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers
