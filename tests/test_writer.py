"""The group writer: many request threads, one writer thread, each answer after its COMMIT."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_
from hypothesis import strategies as st

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


def _delivery(settings, kind: int, key: str, ts: int) -> list[Parsed]:
    """A JaaS delivery of one of three shapes (USAGE of 1-3 devices, a join, a recording)."""
    if kind < 3:
        data = [{"deviceId": f"d-{key}-{n}", "userId": f"u{n}"} for n in range(kind + 1)]
        doc = envelope("USAGE", ts, data, key=key)
    elif kind == 3:
        doc = envelope("PARTICIPANT_JOINED", ts, {"participantId": key, "id": "u"}, key=key)
    else:
        doc = envelope("RECORDING_ENDED", ts, {"durationSec": 61}, key=key)
    return jaas.parse(json.dumps(doc).encode(), settings.accounts["acme"], {})


def _contents(path) -> dict[str, list[tuple]]:
    store = connect(path)
    try:
        return {
            table: sorted(map(tuple, store.conn.execute(f"SELECT * FROM {table}").fetchall()))
            for table in ("events", "usage_devices", "participants", "recordings", "sightings",
                          "fold_pending")
        }  # fmt: skip
    finally:
        store.close()


@settings_(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)  # settings and the folder factory are only read: each example has its own files
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 4), st.integers(0, 12)), min_size=0, max_size=3),
        min_size=1,
        max_size=8,
    ),
    st.sets(st.integers(0, 12), max_size=4),
)
def test_a_group_stores_what_its_deliveries_would_one_after_the_other(
    tmp_path_factory, settings, group, stored_before
):
    """`insert_group` (one statement per table) against `insert_delivery` in a loop: same
    ids per delivery, same rows, keys repeated inside the group and already stored."""
    from meterwise.storage.sqlite.ingest import insert_delivery, insert_group

    deliveries = [
        ("acme", "jaas", [e for k, n in events for e in _delivery(settings, k, f"k{n}", TS + n)], 7)
        for events in group
    ]
    earlier = [e for n in sorted(stored_before) for e in _delivery(settings, n % 5, f"k{n}", TS)]
    folder = tmp_path_factory.mktemp("group")
    answers = {}
    for way in ("group", "loop"):
        path = folder / f"{way}.db"
        store = connect(path)
        with store._write() as conn:
            insert_delivery(conn, "acme", "jaas", earlier, 1)
        with store._write() as conn:
            if way == "group":
                answers[way] = insert_group(conn, deliveries)
            else:
                answers[way] = [insert_delivery(conn, *d) for d in deliveries]
        store.close()
    assert answers["group"] == answers["loop"]
    assert _contents(folder / "group.db") == _contents(folder / "loop.db")


def test_rows_beyond_one_statements_parameters_are_inserted_in_chunks(
    tmp_path, settings, monkeypatch
):
    """`insert_group` writes each table with multi-row VALUES statements of at most
    `_MAX_PARAMETERS` values: a group larger than that is split, and nothing is lost."""
    from meterwise.storage.sqlite import ingest

    monkeypatch.setattr(ingest, "_MAX_PARAMETERS", 20)  # 2 events, 2 sightings, 10 queue rows
    deliveries = [
        ("acme", "jaas", _delivery(settings, n % 5, f"k{n}", TS + n), 7) for n in range(30)
    ]
    for way in ("group", "loop"):
        store = connect(tmp_path / f"{way}.db")
        with store._write() as conn:
            if way == "group":
                assert sum(map(len, ingest.insert_group(conn, deliveries))) == 30
            else:
                for d in deliveries:
                    ingest.insert_delivery(conn, *d)
        store.close()
    group, loop = _contents(tmp_path / "group.db"), _contents(tmp_path / "loop.db")
    assert group == loop and len(group["sightings"]) > 20 and len(group["fold_pending"]) == 30
