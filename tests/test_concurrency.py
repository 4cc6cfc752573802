"""Peak concurrent connections, zombies closed by the idle timeout, legacy snapshots."""

from __future__ import annotations

from meterwise.reconciler.concurrency import ConnectionEvent as E
from meterwise.reconciler.concurrency import peak_concurrency

HOUR = 3_600_000


def test_peak_counts_connections_not_users():
    events = [
        E(1, "a", "connected", "a|1"),
        E(2, "a", "connected", "a|2"),
        E(3, "b", "connected", "b|1"),
        E(4, "a", "disconnected", "a|1"),
        E(5, "c", "connected", "c|1"),
    ]
    assert peak_concurrency(events, 0, 10, HOUR).peak == 3


def test_zombie_connections_are_closed_after_the_idle_timeout():
    events = [
        E(0, "a", "connected", "a|1"),  # killed client: no disconnect ever
        E(2 * HOUR, "b", "connected", "b|1"),
        E(2 * HOUR + 1, "c", "connected", "c|1"),
    ]
    result = peak_concurrency(events, 0, 3 * HOUR, HOUR)
    assert (result.peak, result.closed_by_timeout) == (2, 1)


def test_a_legacy_snapshot_replaces_the_users_connections():
    events = [
        E(1, "a", "connected", "a|x"),
        E(2, "a", "snapshot", ids=("a|1", "a|2", "a|3")),
        E(3, "a", "snapshot", ids=("a|1",)),
    ]
    assert peak_concurrency(events, 0, 10, HOUR).peak == 3


def test_only_instants_inside_the_window_count():
    events = [E(i, f"u{i}", "connected", f"u{i}|1") for i in range(5)]
    events += [E(10 + i, f"u{i}", "disconnected", f"u{i}|1") for i in range(4)]
    assert peak_concurrency(events, 20, 30, HOUR).peak == 1  # u4 is still connected
    assert peak_concurrency(events, 3, 30, HOUR).peak == 5
    assert peak_concurrency(events, 0, 3, HOUR).peak == 3  # counted inside [0, 3) only
