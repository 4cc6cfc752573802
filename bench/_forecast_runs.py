"""One evaluation run of the forecast: a traffic model delivered day by day through the
provider's own parser into a real SQLite database, folded, and reported by the real
`compute_report` after every day of the evaluated cycle (as the scheduler would)."""

from __future__ import annotations

import json
import random
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meterwise.config.settings import parse_settings  # noqa: E402
from meterwise.receiver.providers import cometchat, events, jaas  # noqa: E402
from meterwise.receiver.testing import envelope  # noqa: E402
from meterwise.reconciler.alerts import forecast_warns  # noqa: E402
from meterwise.reconciler.fold import fold_pending  # noqa: E402
from meterwise.reconciler.forecast import linear_forecast  # noqa: E402
from meterwise.reconciler.frame import cycle_for  # noqa: E402
from meterwise.reconciler.reconcile import compute_report  # noqa: E402
from meterwise.reconciler.traffic import TrafficModel  # noqa: E402
from meterwise.storage import open_storage  # noqa: E402

PLANS = {"jaas": "jaas-basic", "events": "events-standard", "cometchat": "cometchat-1k"}
CHUNK = 50  # entities per delivery (CometChat: one message per delivery, as it sends them)


@dataclass(frozen=True)
class Pass:
    """The report of one day: what the forecast said, and the run rate beside it."""

    day: int
    used: int
    value: float
    low: float
    high: float
    linear: float
    warns: bool  # the forecast rule fires (a projected crossing at the rule's confidence)
    projects: bool  # a crossing is projected inside the cycle, at any confidence
    confidence: str
    method: str


@dataclass(frozen=True)
class Run:
    model: str
    seed: int
    history: int  # earlier cycles stored before the evaluated one
    final: int
    allowance: int
    passes: tuple[Pass, ...]

    def at(self, day: int) -> Pass:
        return next(p for p in self.passes if p.day == day)


def _account(model: TrafficModel, anchor: datetime, allowance: int, db: Path) -> dict:
    provider = model.provider
    acct = {
        "id": "eval",
        "provider": provider,
        "plan": "eval",
        "cycle_anchor": anchor.date().isoformat(),
        "timezone": "UTC",
    }
    if provider == "jaas":
        acct["webhook_secrets"] = ["whsec_eval"]
    elif provider == "events":
        acct["webhook_secrets"] = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
    else:
        acct["options"] = {"basic_auth_user": "mw", "basic_auth_password": "cc-eval-00001"}
    return {
        "storage": {"path": str(db)},
        "plans": {"eval": {"extends": PLANS[provider], "allowances": {"mau": allowance}}},
        "accounts": [acct],
    }


def _deliveries(provider: str, day_start: datetime, entities: list[str], n: int):
    """(raw body, headers) of one day's sightings, as the provider sends them."""
    ts = int((day_start + timedelta(hours=10)).timestamp() * 1000)
    if provider == "cometchat":
        for i, uid in enumerate(entities):
            doc = {
                "trigger": "message_sent",
                "data": {
                    "message": {
                        "id": f"m{n}-{i}",
                        "sender": uid,
                        "receiver": "group",
                        "receiverType": "group",
                        "category": "message",
                        "type": "text",
                        "sentAt": ts // 1000 + i,
                    }
                },
            }
            yield json.dumps(doc).encode(), {}
        return
    for k in range(0, len(entities), CHUNK):
        group = entities[k : k + CHUNK]
        if provider == "jaas":
            doc = envelope("USAGE", ts + k, [{"deviceId": d} for d in group], session_id=f"s{n}")
            yield json.dumps(doc).encode(), {}
        else:
            items = [
                {"user": u, "event": "open", "timestamp": ts + k + j} for j, u in enumerate(group)
            ]
            yield json.dumps(items).encode(), {"webhook-id": f"msg-{n}-{k}"}


PARSERS = {"jaas": jaas.parse, "events": events.parse, "cometchat": cometchat.parse}


def run(model: TrafficModel, seed: int, history: int, margin: float) -> Run:
    """Deliver ``history`` earlier cycles, then the evaluated cycle day by day; report after
    each day. The allowance is the cycle's final count times ``margin``."""
    rng = random.Random(seed * 7919 + len(model.name))
    if model.provider == "jaas":
        anchor = datetime(2026, 1 + seed % 6, 3 + seed % 5, tzinfo=UTC)  # weekday varies
    else:
        anchor = datetime(2026, 1 + seed % 9, 1, tzinfo=UTC)  # calendar months
    folder = Path(tempfile.mkdtemp(prefix="meterwise-fc-"))
    db = folder / "eval.db"
    doc = _account(model, anchor, 1, db)
    settings = parse_settings(doc, {}, "bench")
    account = settings.accounts["eval"]
    cycle = cycle_for(settings, account, anchor)
    for _ in range(history):
        cycle = cycle_for(settings, account, cycle.end + timedelta(hours=1))
    length = round((cycle.end - cycle.start) / timedelta(days=1))
    first = round((cycle.start - anchor) / timedelta(days=1))
    days = model.generate(anchor, first + length, rng)
    final = len({e for d in days[first:] for e in d})
    allowance = max(1, round(final * margin))
    doc = _account(model, anchor, allowance, db)
    settings = parse_settings(doc, {}, "bench")
    account = settings.accounts["eval"]
    store = open_storage(settings)
    parse = PARSERS[model.provider]

    def deliver(day: int) -> None:
        start = anchor + timedelta(days=day)
        received = int((start + timedelta(hours=23)).timestamp() * 1000)
        for body, headers in _deliveries(model.provider, start, days[day], day):
            store.store_delivery("eval", model.provider, parse(body, account, headers), received)

    for day in range(first):
        deliver(day)
    passes = []
    for d in range(1, length):
        deliver(first + d - 1)
        fold_pending(store, settings)
        as_of = cycle.start + timedelta(days=d)
        report = compute_report(store, settings, "eval", as_of)
        m = next(x for x in report.metrics if x.usage.name == "mau")
        f = m.forecast
        used = int(m.usage.used)
        passes.append(
            Pass(
                d,
                used,
                float(f.value),
                float(f.low),
                float(f.high),
                linear_forecast(used, cycle, as_of),
                forecast_warns(m, report.cycle, as_of, account.alerts.forecast_min_confidence),
                forecast_warns(m, report.cycle, as_of, "low"),
                f.confidence,
                f.method,
            )
        )
    store.close()
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    return Run(model.name, seed, history, final, allowance, tuple(passes))
