"""The fold: random streams delivered in random order, duplicated, folded at random points,
give the same aggregates as a full `meterwise rebuild`, and the MAU an independent count."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from meterwise.config.settings import Settings, parse_settings
from meterwise.receiver.providers import jaas
from meterwise.receiver.rebuild import rebuild
from meterwise.receiver.testing import envelope
from meterwise.reconciler.cycles import cycle_start_of
from meterwise.reconciler.fold import fold_pending
from meterwise.storage import open_storage
from meterwise.storage.sqlite.rollups import refresh
from tests.conftest import SECOND_SECRET, base_config, run_sql

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
ENGINES = ("sqlite", "postgresql")  # both engines' folds against their own rebuild
_examples = itertools.count()


event = st.tuples(
    st.sampled_from(["USAGE", "USAGE", "USAGE", "ROOM_CREATED"]),
    st.integers(0, 60 * 24 * 60),  # minute of the 60 days
    st.sampled_from(["s1", "s2", "s3", "s4"]),
    st.lists(st.sampled_from([f"dev-{i}" for i in range(12)]), min_size=1, max_size=4),
    st.sampled_from([None, "user-1", "user-2"]),
    st.sampled_from([None, "a@Corp.example", "b@guest.example", "no-at-sign"]),
)


def aggregates(settings: Settings, account: str) -> list[list[tuple[object, ...]]]:
    """Every aggregate row of ``account`` (each table's first column is the account)."""
    return [[r for r in run_sql(settings, sql) if r[0] == account] for sql in AGGREGATES]


@hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    events=st.lists(event, min_size=1, max_size=25),
    data=st.data(),
)
def test_folds_at_random_points_equal_a_rebuild(store_at, events, data):
    name = f"acct{next(_examples)}"  # each example is an account of its own in one database
    config = parse_settings(base_config(store_at, id=name), {"ACME_WHSEC_2": SECOND_SECRET}, "test")
    account = config.accounts[name]
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
    store = open_storage(config)
    for received, (i, fold_now) in enumerate(zip(order, folds, strict=True)):
        parsed = jaas.parse(json.dumps(docs[i]).encode(), account, {})
        store.store_delivery(name, "jaas", parsed, 1_000 + received)
        if fold_now:
            fold_pending(store, config)
    fold_pending(store, config)
    assert store.pending_folds() == 0
    folded = aggregates(config, name)

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
    assert_rollups_match(store, config, name, data)

    rebuild(store, config, name)
    store.close()
    assert aggregates(config, name) == folded


def test_a_user_without_an_email_is_a_guest_in_one_group_on_every_read(store_at):
    # Found by the property above: the scan read (as known at an instant) compared a missing
    # email as NULL, not false, and listed session s1 twice as guests.
    config = parse_settings(base_config(store_at), {"ACME_WHSEC_2": SECOND_SECRET}, "test")
    store = open_storage(config)
    devices = [
        {"deviceId": "d1", "userId": "user-1", "email": "b@guest.example"},
        {"deviceId": "d2", "userId": "user-2"},
    ]
    doc = envelope("USAGE", START_MS, devices, session_id="s1")
    store.store_delivery(
        "acme", "jaas", jaas.parse(json.dumps(doc).encode(), config.accounts["acme"], {}), 1
    )
    fold_pending(store, config)
    cycle = cycle_start_of(config.accounts["acme"], "anchored")(START_MS)
    live = store.first_seen_by_session("acme", "mau", cycle, START_MS + 1, ["corp.example"])
    with store.known_at(2**62):
        scanned = store.first_seen_by_session("acme", "mau", cycle, START_MS + 1, ["corp.example"])
    store.close()
    assert live == scanned == [("s1", False, 2)]


def test_the_fold_is_exactly_once_per_event(store_at):
    config = parse_settings(base_config(store_at), {"ACME_WHSEC_2": SECOND_SECRET}, "test")
    store = open_storage(config)
    doc = envelope("USAGE", START_MS, [{"deviceId": "d1"}, {"deviceId": "d2"}])
    parsed = jaas.parse(json.dumps(doc).encode(), config.accounts["acme"], {})
    assert store.store_delivery("acme", "jaas", parsed, 1) != []
    assert store.pending_folds() == 1
    assert aggregates(config, "acme")[0] == []  # nothing folded yet: the request path only inserted
    assert fold_pending(store, config) == 1
    assert fold_pending(store, config) == 0  # folded once, never again
    assert store.store_delivery("acme", "jaas", parsed, 2) == []  # a duplicate queues nothing
    assert fold_pending(store, config) == 0
    rows = run_sql(config, "SELECT metric, count FROM activity_hourly ORDER BY 1")
    assert rows == [("events", 1), ("mau", 2)]
    # Rejections and duplicates are logged by an insert and counted once by the fold.
    store.count_delivery("acme", "duplicate", START_MS)
    store.count_delivery("acme", "duplicate", START_MS + 1)
    counts = "SELECT reason, count FROM delivery_counts"
    assert run_sql(config, counts) == []
    fold_pending(store, config)
    fold_pending(store, config)
    assert run_sql(config, counts) == [("duplicate", 2)]


def assert_rollups_match(store, settings, account, data) -> None:
    """The fold's rollups equal a GROUP BY over the first sightings (SQLite's `refresh`;
    on both engines the rebuild after this recomputes them too), and every live read
    through them equals the same read by scan (as "known at" the end of time), at random
    instants, plan switches and internal domains."""
    if not settings.storage_url:
        kept = [run_sql(settings, f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4") for t in ROLLUPS]
        with store._write() as conn:
            refresh(conn, account)
        again = [run_sql(settings, f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4") for t in ROLLUPS]
        assert again == kept
    # in order: hypothesis replays an example and must draw the same values in the same order
    sql = "SELECT DISTINCT cycle_start_ms FROM entity_first_seen WHERE account = ? ORDER BY 1"
    cycles = [r[0] for r in run_sql(settings, sql, (account,))]
    for cycle in cycles:
        before = cycle + data.draw(st.integers(0, 32 * 86_400_000), label="before")
        cuts = sorted(data.draw(st.lists(st.integers(cycle, before), max_size=2), label="cuts"))
        domains = data.draw(st.sampled_from([[], ["corp.example"], ["CORP.example", "x.example"]]))
        live = (
            store.first_seen_groups(account, "mau", cycle, before, cuts),
            sorted(store.first_seen_by_session(account, "mau", cycle, before, domains), key=str),
            store.internal_by_user(account, "mau", cycle, before, domains),
            store.distinct_by_cycle(account, "mau"),
        )
        with store.known_at(2**62):
            scanned = (
                store.first_seen_groups(account, "mau", cycle, before, cuts),
                sorted(
                    store.first_seen_by_session(account, "mau", cycle, before, domains), key=str
                ),
                store.internal_by_user(account, "mau", cycle, before, domains),
                store.distinct_by_cycle(account, "mau"),
            )
        assert (sorted(live[0]), *live[1:]) == (sorted(scanned[0]), *scanned[1:])


def test_a_batch_cut_short_by_the_statement_timeout_is_folded_in_smaller_ones():
    from meterwise.reconciler.fold import BATCH, MIN_BATCH
    from meterwise.storage import StorageTimeout, StorageUnavailable

    class Slow:
        """A store whose fold times out above a fifth of a batch (as a big backlog on
        PostgreSQL can), with 1,000 queued."""

        def __init__(self):
            self.queued, self.sizes = 1000, []

        def fold(self, cycles, batch):
            self.sizes.append(batch)
            if batch > BATCH // 5:
                raise StorageTimeout("canceling statement due to statement timeout")
            done = min(batch, self.queued)
            self.queued -= done
            return done

    config = parse_settings(base_config("unused.db"), {"ACME_WHSEC_2": SECOND_SECRET}, "t")
    slow = Slow()
    assert fold_pending(slow, config) == 1000 and slow.queued == 0
    worked = max(MIN_BATCH, BATCH // 16)
    assert slow.sizes[:3] == [BATCH, BATCH // 4, worked]  # a quarter each, down to MIN_BATCH
    assert set(slow.sizes[2:]) == {worked}  # then it keeps the size that worked

    class Down(Slow):
        def fold(self, cycles, batch):
            raise StorageUnavailable("connection refused")

    with pytest.raises(StorageUnavailable):  # an outage is not a batch too big
        fold_pending(Down(), config)
