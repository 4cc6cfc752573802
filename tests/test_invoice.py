"""Plan history and the invoice, as pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from meterwise.config.plans import load_catalog
from meterwise.config.settings import Account, PlanChange
from meterwise.reconciler.invoice import build_invoice, distinct_overage, line
from meterwise.reconciler.models import BillingCycle
from meterwise.reconciler.subscription import build_timeline, plan_periods

CATALOG = load_catalog()
CYCLE = BillingCycle(datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 4, 8, tzinfo=UTC))
U = datetime(2026, 3, 23, 12, tzinfo=UTC)


def account(*changes: tuple[datetime, str], plan: str = "jaas-basic", cancel_at=None) -> Account:
    return Account(
        id="a",
        provider="jaas",
        plan=plan,
        cycle_anchor=date(2026, 3, 8),
        plan_changes=tuple(PlanChange(at, p) for at, p in changes),
        cancel_at=cancel_at,
    )


def test_upgrade_takes_effect_at_its_instant():
    timeline = build_timeline(account((U, "jaas-standard")), CATALOG)
    assert [p.plan_id for p in plan_periods(timeline, CYCLE)] == ["jaas-basic", "jaas-standard"]
    assert timeline.plan_at(U) == "jaas-standard"


def test_downgrade_waits_for_the_next_cycle():
    timeline = build_timeline(account((U, "jaas-dev"), plan="jaas-standard"), CATALOG)
    assert [p.plan_id for p in plan_periods(timeline, CYCLE)] == ["jaas-standard"]
    assert timeline.plan_at(CYCLE.end) == "jaas-dev"


def test_cancellation_ends_at_the_end_of_its_cycle():
    timeline = build_timeline(account(cancel_at=U), CATALOG)
    assert timeline.plan_at(CYCLE.end - (CYCLE.end - U)) == "jaas-basic"
    assert timeline.plan_at(CYCLE.end) is None
    invoice = build_invoice(
        CYCLE, plan_periods(timeline, CYCLE), timeline.plan_at(CYCLE.end), CATALOG, {}, {}
    )
    assert invoice.lines == ()  # no subscription for a cycle that will not happen


def faq_invoice(count_before):
    timeline = build_timeline(account((U, "jaas-standard")), CATALOG)
    periods = plan_periods(timeline, CYCLE)
    over = distinct_overage(
        periods, CATALOG, "mau", count_before, int(CYCLE.end.timestamp() * 1000)
    )
    return build_invoice(
        CYCLE,
        periods,
        timeline.plan_at(CYCLE.end),
        CATALOG,
        {"mau": over},
        {"recording_minutes": [(periods[-1], Decimal(125))]},
    )


def test_faq_invoice_from_counts():
    u_ms = int(U.timestamp() * 1000)
    invoice = faq_invoice(lambda ms: 500 if ms <= u_ms else 1600)
    assert [(ln.code, ln.amount) for ln in invoice.lines] == [
        ("subscription", Decimal("499.00")),
        ("proration_charge", Decimal("249.50")),
        ("proration_credit", Decimal("-49.50")),
        ("overage:mau", Decimal("198.00")),
        ("usage:recording_minutes", Decimal("1.25")),
    ]
    assert invoice.total == Decimal("898.25")


@pytest.mark.parametrize(
    "before,total,expected",
    [
        (250, 1600, [("jaas-standard", 100)]),  # under Basic before: overage only at the end
        (500, 1800, [("jaas-basic", 200), ("jaas-standard", 100)]),  # both, none waived
        (300, 1000, []),
    ],
)
def test_overage_is_frozen_at_the_upgrade(before, total, expected):
    u_ms = int(U.timestamp() * 1000)
    periods = plan_periods(build_timeline(account((U, "jaas-standard")), CATALOG), CYCLE)
    over = distinct_overage(
        periods,
        CATALOG,
        "mau",
        lambda ms: before if ms <= u_ms else total,
        int(CYCLE.end.timestamp() * 1000),
    )
    assert [(p.plan_id, n) for p, n in over if n] == expected


def test_amounts_round_half_up_only_on_lines():
    assert line("x", "x", Decimal("1"), Decimal("0.005")).amount == Decimal("0.01")
    assert line("x", "x", Decimal("3"), Decimal("0.0015")).amount == Decimal("0.00")
    assert line("x", "x", Decimal("0.5"), Decimal("-99")).amount == Decimal("-49.50")


def test_internal_domains_narrow_who_is_internal():
    from meterwise.reconciler.attribution import Join, attribute, is_internal

    assert is_internal("u1", "a@acme.com", ["acme.com"])
    assert not is_internal("u1", "a@gmail.com", ["acme.com"])
    assert not is_internal(None, "a@acme.com", [])
    joins = {
        "m1": [Join(2, "bob", "Bob", True), Join(1, "eve", "Eve", False)],
        "m2": [Join(1, None, "guest", True), Join(3, "eve", "Eve", False)],
        "m3": [Join(1, None, "guest", False)],
    }
    rows = attribute({"bob": 1, "eve": 1}, {"m1": 3, "m2": 2, "m3": 4}, joins, {}, Decimal("0.25"))
    assert [(a.user, a.mau, a.amount) for a in rows] == [
        ("bob", 4, Decimal("1.00")),
        (None, 4, Decimal("1.00")),
        ("eve", 3, Decimal("0.75")),
    ]
