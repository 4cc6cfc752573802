"""The seeds' worked examples, reproduced by real signed webhooks through the real receiver."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from meterwise.config.settings import parse_settings
from meterwise.receiver.cli import cli
from meterwise.receiver.testing import Meeting
from meterwise.reconciler.frame import frame_for
from meterwise.reconciler.reconcile import compute_report, report_from
from meterwise.reconciler.report import report_to_dict
from meterwise.reconciler.snapshot import load_snapshot
from meterwise.storage import open_storage
from tests.conftest import SECOND_SECRET, LiveServer, config_like, storage_toml

ENGINES = ("sqlite", "postgresql")  # the FAQ invoice and Alice/Bob, on both engines


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def post_all(live: LiveServer, events) -> None:
    for doc in events:
        response = live.send(doc)
        assert response.status_code == 200, response.text


def write_toml(path: Path, storage: str, account_extra: str) -> Path:
    path.write_text(f"""
[storage]
{storage}

[[accounts]]
id = "acme"
provider = "jaas"
plan = "jaas-basic"
cycle_anchor = "2026-03-08"
webhook_secrets = ["whsec_x"]
{account_extra}
""")
    return path


FAQ_CHANGES = [{"at": "2026-03-23T12:00:00Z", "plan": "jaas-standard"}]


@pytest.fixture
def faq_live(settings, clock):
    settings = parse_settings(
        config_like(settings, plan_changes=FAQ_CHANGES), {"ACME_WHSEC_2": SECOND_SECRET}, "test"
    )
    server = LiveServer(settings, clock)
    server.thread.start()
    yield server
    server.server.shutdown()


def test_faq_upgrade_invoice_to_the_cent(faq_live, tmp_path):
    """Basic from Mar 8, 500 devices before the upgrade at the exact midpoint, 1,600 in all."""
    events = []
    # 50 meetings of 10 devices before the upgrade: 500 distinct devices.
    for m in range(50):
        meeting = Meeting(f"before-{m}", ms("2026-03-09T09:00:00+00:00") + m * 3_600_000)
        for d in range(10):
            meeting.join(f"dev-{m * 10 + d}", moderator=d == 0)
        events += meeting.events
    # After the upgrade: 110 meetings of 10 new devices, plus old devices coming back.
    for m in range(110):
        meeting = Meeting(f"after-{m}", ms("2026-03-24T09:00:00+00:00") + m * 3_600_000)
        for d in range(10):
            meeting.join(f"dev-{500 + m * 10 + d}", moderator=d == 0)
        meeting.join(f"dev-{m}")  # a returning device: not a new MAU
        events += meeting.events
    events.reverse()  # arrival order must not matter
    post_all(faq_live, events)

    db = open_storage(faq_live.settings)
    report = compute_report(
        db, faq_live.settings, "acme", datetime(2026, 4, 8, 2, tzinfo=UTC), date(2026, 3, 20)
    )
    lines = {ln.code: ln.amount for ln in report.invoice.lines}
    assert lines == {
        "subscription": Decimal("499.00"),
        "proration_charge": Decimal("249.50"),
        "proration_credit": Decimal("-49.50"),
        "overage:mau": Decimal("198.00"),
    }
    assert report.invoice.total == Decimal("897.00")
    # "Load a snapshot, then compute": with the connection closed after loading, the pure
    # computation still gives the same report (nothing is read in the middle).
    account = faq_live.settings.accounts["acme"]
    frame = frame_for(
        faq_live.settings, account, datetime(2026, 4, 8, 2, tzinfo=UTC), date(2026, 3, 20), 3600
    )
    snapshot = load_snapshot(db, account, frame, None, None)
    db.close()
    assert report_from(snapshot, faq_live.settings, account) == report
    db = open_storage(faq_live.settings)
    mau = report.metric("mau")
    assert mau is not None and (mau.usage.used, mau.allowance) == (1600, 1500)
    assert [p.plan_id for p in report.periods] == ["jaas-basic", "jaas-standard"]
    assert report.closed

    # The same through the CLI, as JSON.
    config = write_toml(
        tmp_path / "faq.toml",
        storage_toml(faq_live.settings),
        '[[accounts.plan_changes]]\nat = "2026-03-23T12:00:00Z"\nplan = "jaas-standard"',
    )
    result = CliRunner().invoke(
        cli,
        [
            "report",
            "acme",
            "--cycle",
            "2026-03-20",
            "--event-time",  # history replayed today: count by event time
            "--at",
            "2026-04-08T02:00:00Z",
            "--format",
            "json",
            "--config",
            str(config),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["invoice"]["total"] == "897.00"
    assert [
        (ln["code"], ln["quantity"], ln["unit_price"], ln["amount"])
        for ln in data["invoice"]["lines"]
    ] == [
        ("subscription", "1", "499.00", "499.00"),
        ("proration_charge", "0.5", "499.00", "249.50"),
        ("proration_credit", "0.5", "-99.00", "-49.50"),
        ("overage:mau", "200", "0.99", "198.00"),
    ]
    assert data["cycle"] == {
        "start": "2026-03-08T00:00:00Z",
        "end": "2026-04-08T00:00:00Z",
        "closed": True,
    }
    assert data["metrics"]["mau"]["overage_amount"] == "198.00"


def alice_and_bob_month() -> list[dict]:
    """The seed's month: Alice 100 internal calls; Bob 60 internal, 20 with 5 regular
    customers (2 people each, weekly), 20 with new prospects (2 new people each)."""
    internal = [f"colleague-{i}" for i in range(6)]
    events, call = [], 0
    start = ms("2026-03-09T08:00:00+00:00")

    def meeting(owner: str, others: list[tuple[str, str | None]]) -> None:
        nonlocal call
        m = Meeting(f"call-{call}", start + call * 1_800_000)
        call += 1
        m.join(f"laptop-{owner}", owner, moderator=True, name=owner.title())
        for device, user in others:
            m.join(device, user, name=user or device)
        events.extend(m.events)

    for n in range(100):  # Alice: 5 calls a day, 4 people, all internal
        peers = [internal[(n + k) % 6] for k in range(3)]
        meeting("alice", [(f"laptop-{p}", p) for p in peers])
    for n in range(60):  # Bob: internal calls
        peers = [internal[(n + k) % 6] for k in range(3)]
        meeting("bob", [(f"laptop-{p}", p) for p in peers])
    for _week in range(4):  # Bob: 5 regular customers, 2 people each, weekly
        for c in range(5):
            meeting(
                "bob",
                [("laptop-colleague-0", "colleague-0"), (f"cust{c}-a", None), (f"cust{c}-b", None)],
            )
    for n in range(20):  # Bob: 20 calls, 2 new prospects each
        meeting(
            "bob",
            [
                ("laptop-colleague-1", "colleague-1"),
                (f"prospect{n}-a", None),
                (f"prospect{n}-b", None),
            ],
        )
    return events


def test_alice_and_bob_attribution(settings, clock):
    settings = parse_settings(
        config_like(settings, cost_per_mau="0.25"), {"ACME_WHSEC_2": SECOND_SECRET}, "test"
    )
    server = LiveServer(settings, clock)
    server.thread.start()
    try:
        post_all(server, alice_and_bob_month())
    finally:
        server.server.shutdown()
    report = compute_report(
        open_storage(settings),
        settings,
        "acme",
        datetime(2026, 4, 8, 2, tzinfo=UTC),
        date(2026, 3, 20),
    )
    by_user = {a.user: (a.mau, a.amount) for a in report.attribution}
    assert by_user["bob"] == (51, Decimal("12.75"))
    assert by_user["alice"] == (1, Decimal("0.25"))
    assert report.attribution[0].user == "bob"
    assert None not in by_user  # every device is attributed
    assert sum(a.mau for a in report.attribution) == report.metric("mau").usage.used == 58
    data = report_to_dict(report)
    assert data["attribution"][0] == {"user": "bob", "name": "Bob", "mau": 51, "amount": "12.75"}
