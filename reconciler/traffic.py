"""The traffic suite: named models of who is active each day, the provider that carries
them, and the fixed split into models the forecast may be tuned on and held-out models it
is only evaluated on.

Used by `bench/forecast.py` (the evaluation), the tests and `meterwise simulate`.

The split rule was fixed before any tuning: sort the names; the 1st, 3rd, 5th, ... are
"tune", the 2nd, 4th, ... are "held-out". A new model's name shifts the alternation after
it, which would move models that were tuned on into the held-out half: add models only
together with a fresh evaluation of both halves, and say so in the README.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from meterwise.reconciler import traffic_models as tm
from meterwise.reconciler.traffic_models import Day

Model = Callable[[datetime, int, random.Random], list[Day]]


@dataclass(frozen=True, slots=True)
class TrafficModel:
    name: str
    generate: Model
    provider: str  # "jaas", "events" (custom events, calendar month) or "cometchat"
    family: str


SUITE: tuple[TrafficModel, ...] = (
    TrafficModel("stable team", tm.stable_team, "jaas", "closed population"),
    TrafficModel("classes", tm.classes, "jaas", "closed population"),
    TrafficModel("saturating rollout", tm.saturating_rollout, "jaas", "closed population"),
    TrafficModel("skewed visitors", tm.skewed_visitors, "jaas", "open, repeat visitors"),
    TrafficModel("team + guests", tm.team_and_guests, "jaas", "steady team with guests"),
    TrafficModel("weekly seasonality", tm.weekly_seasonality, "jaas", "weekly seasonality"),
    TrafficModel("holidays and gaps", tm.holidays_and_gaps, "jaas", "holidays and gaps"),
    TrafficModel("exponential growth", tm.exponential_growth, "jaas", "growth"),
    TrafficModel("steady growth", tm.steady_growth, "jaas", "growth"),
    TrafficModel("decline and churn", tm.decline_and_churn, "jaas", "decline"),
    TrafficModel("mid-cycle spike", tm.mid_cycle_spike, "jaas", "one-off spike"),
    TrafficModel("recurring webinars", tm.recurring_webinars, "jaas", "recurring webinars"),
    TrafficModel("step change", tm.step_change, "jaas", "step change"),
    TrafficModel("app daily users", tm.app_daily_users, "events", "calendar month"),
    TrafficModel("chat community", tm.chat_community, "cometchat", "CometChat"),
)

MODELS: dict[str, Model] = {m.name: m.generate for m in SUITE}


def split() -> dict[str, str]:
    """Model name -> "tune" or "held-out", by the fixed rule in the module docstring."""
    return {name: "tune" if i % 2 == 0 else "held-out" for i, name in enumerate(sorted(MODELS))}


def daily_series(days: list[Day]) -> tuple[list[int], list[int], int]:
    """(new distinct per day, sightings per day, final distinct count)."""
    seen: set[str] = set()
    new, activity = [], []
    for day in days:
        fresh = {d for d in day if d not in seen}
        seen |= fresh
        new.append(len(fresh))
        activity.append(len(day))
    return new, activity, len(seen)
