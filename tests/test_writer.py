"""The group writer: many request threads, one writer thread, each answer after its COMMIT."""

from __future__ import annotations

import json
import threading

import pytest

from meterwise.receiver.providers import jaas
from meterwise.receiver.testing import envelope
from meterwise.storage import UnstorableValue, connect
from meterwise.storage.records import Parsed
from meterwise.storage.sqlite import thread_storage
from meterwise.storage.sqlite.writer import GroupWriter, _Job

TS = 1_773_000_000_000


def usage(settings, i: int) -> list[Parsed]:
    doc = envelope("USAGE", TS + i, [{"deviceId": f"dev-{i}"}], key=f"key-{i}")
    return jaas.parse(json.dumps(doc).encode(), settings.accounts["acme"], {})


def test_concurrent_deliveries_are_committed_in_groups_and_all_kept(settings):
    connect(settings.storage_path).close()
    writer = GroupWriter(str(settings.storage_path))
    answers: dict[int, list[int]] = {}

    def send(thread: int) -> None:
        for n in range(40):
            i = thread * 1000 + n
            answers[i] = writer.store("acme", "jaas", usage(settings, i), 1)

    threads = [threading.Thread(target=send, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 640 and all(len(ids) == 1 for ids in answers.values())
    store = connect(settings.storage_path)
    stored = store.conn.execute("SELECT count(*), count(DISTINCT id) FROM events").fetchone()
    assert stored == (640, 640)
    assert writer.groups < 640  # several deliveries shared a COMMIT
    # A delivery sent again is a duplicate, also through the writer.
    assert writer.store("acme", "jaas", usage(settings, 5), 2) == []


def test_a_value_the_database_refuses_fails_alone_in_its_group(settings):
    connect(settings.storage_path).close()
    writer = GroupWriter(str(settings.storage_path))
    good, other = usage(settings, 1), usage(settings, 2)
    bad = [Parsed("k-bad", "USAGE", 2**70, None, None, None, b"{}")]  # no 64-bit integer
    jobs = [_Job("acme", "jaas", events, 1) for events in (good, bad, other)]
    writer._commit(thread_storage(settings.storage_path), jobs)
    assert [len(j.result or []) for j in jobs] == [1, 0, 1]
    assert isinstance(jobs[1].error, UnstorableValue)
    store = connect(settings.storage_path)
    keys = [k for (k,) in store.conn.execute("SELECT idempotency_key FROM events ORDER BY 1")]
    assert keys == ["key-1", "key-2"]
    with pytest.raises(UnstorableValue):
        writer.store("acme", "jaas", bad, 3)
