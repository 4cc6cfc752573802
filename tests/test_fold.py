"""The fold: random streams delivered in random order, duplicated, folded at random points,
give the same aggregates as a full `meterwise rebuild`, and the MAU an independent count."""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from meterwise.config.settings import parse_settings
from meterwise.receiver.providers import jaas
from meterwise.receiver.rebuild import rebuild
from meterwise.receiver.testing import envelope
from meterwise.reconciler.cycles import cycle_start_of
from meterwise.reconciler.fold import fold_pending
from meterwise.storage import connect
from meterwise.storage.sqlite.rollups import refresh
from tests.conftest import SECOND_SECRET, base_config

START_MS = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1000)  # spans 3 cycles
AGGREGATES = (
    "SELECT account, metric, cycle_start_ms, entity, first_ts_ms, session_id, user_id, email, "
    "known_ms FROM entity_first_seen ORDER BY 1, 2, 3, 4",
    "SELECT account, metric, hour_ms, count FROM activity_hourly ORDER BY 1, 2, 3",
    "SELECT account, session_id FROM usage_sessions ORDER BY 1, 2",
    "SELECT * FROM first_seen_hours ORDER BY 1, 2, 3, 4",
    "SELECT * FROM first_seen_sessions ORDER BY 1, 2, 3, 4, 5, 6",
    "SELECT * FROM first_seen_users ORDER BY 1, 2, 3, 4, 5",
)
ROLLUPS = ("first_seen_hours", "first_seen_sessions", "first_seen_users")
_template: dict[str, Path] = {}


def fresh_db() -> Path:
    """A migrated, empty database file of its own (copied from one made once)."""
    if "db" not in _template:
        template = Path(tempfile.mkdtemp(prefix="meterwise-fold-template-")) / "template.db"
        connect(template).close()
        _template["db"] = template
    folder = Path(tempfile.mkdtemp(prefix="meterwise-fold-"))
    target = folder / "meterwise.db"
    shutil.copy(_template["db"], target)
    return target


event = st.tuples(
    st.sampled_from(["USAGE", "USAGE", "USAGE", "ROOM_CREATED"]),
    st.integers(0, 60 * 24 * 60),  # minute of the 60 days
    st.sampled_from(["s1", "s2", "s3", "s4"]),
    st.lists(st.sampled_from([f"dev-{i}" for i in range(12)]), min_size=1, max_size=4),
    st.sampled_from([None, "user-1", "user-2"]),
    st.sampled_from([None, "a@Corp.example", "b@guest.example", "no-at-sign"]),
)


def aggregates(db_path: Path) -> list[list[tuple[object, ...]]]:
    store = connect(db_path)
    try:
        return [store.conn.execute(sql).fetchall() for sql in AGGREGATES]
    finally:
        store.close()


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(event, min_size=1, max_size=25),
    data=st.data(),
)
def test_folds_at_random_points_equal_a_rebuild(events, data):
    db_path = fresh_db()
    config = parse_settings(base_config(db_path), {"ACME_WHSEC_2": SECOND_SECRET}, "test")
    account = config.accounts["acme"]
    docs = []
    for i, (kind, minute, session, devices, user, mail) in enumerate(events):
        email = {"email": mail} if mail else {}
        ts = START_MS + minute * 60_000 + i  # unique times: no ties to break
        payload = [
            {
                "deviceId": d,
                **({"userId": user} if user else {}),
                **({"email": email} if email else {}),
            }
            for d in devices
        ]
        docs.append(envelope(kind, ts, payload if kind == "USAGE" else {}, session_id=session))
    # Delivered in any order, some more than once; folds at arbitrary points in between.
    order = data.draw(st.permutations(list(range(len(docs)))))
    order += data.draw(st.lists(st.sampled_from(order), max_size=len(order)))
    folds = data.draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)))
    store = connect(db_path)
    for received, (i, fold_now) in enumerate(zip(order, folds, strict=True)):
        parsed = jaas.parse(json.dumps(docs[i]).encode(), account, {})
        store.store_delivery("acme", "jaas", parsed, 1_000 + received)
        if fold_now:
            fold_pending(store, config)
    fold_pending(store, config)
    assert store.pending_folds() == 0
    folded = aggregates(db_path)

    # An independent count: distinct devices per cycle, from the documents themselves.
    cycle_of = cycle_start_of(account, "anchored")
    expected = {
        (cycle_of(doc["timestamp"]), item["deviceId"])
        for doc in docs
        if doc["eventType"] == "USAGE"
        for item in doc["data"]
    }
    assert {(row[2], row[3]) for row in folded[0] if row[1] == "mau"} == expected
    assert sum(n for *_, n in folded[1] if _[1] == "events") == len(docs)
    assert_rollups_match(store, data)

    rebuild(store, config, "acme")
    store.close()
    assert aggregates(db_path) == folded
    shutil.rmtree(db_path.parent, ignore_errors=True)


def test_the_fold_is_exactly_once_per_event(tmp_path):
    db_path = tmp_path / "m.db"
    config = parse_settings(base_config(db_path), {"ACME_WHSEC_2": SECOND_SECRET}, "test")
    store = connect(db_path)
    doc = envelope("USAGE", START_MS, [{"deviceId": "d1"}, {"deviceId": "d2"}])
    parsed = jaas.parse(json.dumps(doc).encode(), config.accounts["acme"], {})
    assert store.store_delivery("acme", "jaas", parsed, 1) != []
    assert store.pending_folds() == 1
    assert aggregates(db_path)[0] == []  # nothing folded yet: the request path only inserted
    assert fold_pending(store, config) == 1
    assert fold_pending(store, config) == 0  # folded once, never again
    assert store.store_delivery("acme", "jaas", parsed, 2) == []  # a duplicate queues nothing
    assert fold_pending(store, config) == 0
    rows = store.conn.execute("SELECT metric, count FROM activity_hourly ORDER BY 1").fetchall()
    assert rows == [("events", 1), ("mau", 2)]
    # Rejections and duplicates are logged by an insert and counted once by the fold.
    store.count_delivery("acme", "duplicate", START_MS)
    store.count_delivery("acme", "duplicate", START_MS + 1)
    counts = "SELECT reason, count FROM delivery_counts"
    assert store.conn.execute(counts).fetchall() == []
    fold_pending(store, config)
    fold_pending(store, config)
    assert store.conn.execute(counts).fetchall() == [("duplicate", 2)]


def assert_rollups_match(store, data) -> None:
    """The fold's rollups equal a GROUP BY over the first sightings, and every live read
    through them equals the same read by scan (as "known at" the end of time), at random
    instants, plan switches and internal domains."""
    kept = [
        store.conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4").fetchall() for t in ROLLUPS
    ]
    with store._write() as conn:
        refresh(conn, "acme")
    assert [
        store.conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4").fetchall() for t in ROLLUPS
    ] == kept
    cycles = [
        r[0] for r in store.conn.execute("SELECT DISTINCT cycle_start_ms FROM entity_first_seen")
    ]
    for cycle in cycles:
        before = cycle + data.draw(st.integers(0, 32 * 86_400_000), label="before")
        cuts = sorted(data.draw(st.lists(st.integers(cycle, before), max_size=2), label="cuts"))
        domains = data.draw(st.sampled_from([[], ["corp.example"], ["CORP.example", "x.example"]]))
        live = (
            store.first_seen_groups("acme", "mau", cycle, before, cuts),
            sorted(store.first_seen_by_session("acme", "mau", cycle, before, domains), key=str),
            store.internal_by_user("acme", "mau", cycle, before, domains),
            store.distinct_by_cycle("acme", "mau"),
        )
        with store.known_at(2**62):
            scanned = (
                store.first_seen_groups("acme", "mau", cycle, before, cuts),
                sorted(store.first_seen_by_session("acme", "mau", cycle, before, domains), key=str),
                store.internal_by_user("acme", "mau", cycle, before, domains),
                store.distinct_by_cycle("acme", "mau"),
            )
        assert (sorted(live[0]), *live[1:]) == (sorted(scanned[0]), *scanned[1:])
