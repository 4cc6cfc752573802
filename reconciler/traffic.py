"""Synthetic traffic models: which devices are active on each day of a cycle.

Used by `bench/forecast.py`, the tests and `meterwise simulate`. Deterministic for a seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

Day = list[str]  # device ids active that day (one sighting each)
Model = Callable[[datetime, int, random.Random], list[Day]]


def _weekday(start: datetime, day: int) -> int:
    return (start + timedelta(days=day)).weekday()


def stable_team(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """100 people who meet every weekday; each attends 90% of meetings."""
    team = [f"team-{i}" for i in range(100)]
    return [
        [] if _weekday(start, d) >= 5 else [p for p in team if rng.random() < 0.9]
        for d in range(days)
    ]


def steady_growth(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """20 users at the start, 8 new users a day who keep coming back (70% of days)."""
    users = [f"base-{i}" for i in range(20)]
    out = []
    for d in range(days):
        users += [f"new-{d}-{i}" for i in range(8)]
        out.append([u for u in users if u.startswith(f"new-{d}-") or rng.random() < 0.7])
    return out


def team_and_guests(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A team of 50 meeting daily plus a stream of one-off guests (about 4 a day)."""
    team = [f"team-{i}" for i in range(50)]
    return [
        [p for p in team if rng.random() < 0.9]
        + [f"guest-{d}-{i}" for i in range(rng.randint(1, 7))]
        for d in range(days)
    ]


def weekly_seasonality(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Busy weekdays, quiet weekends: 30 staff and new customers (12 a weekday, 2 a weekend day)."""
    staff = [f"staff-{i}" for i in range(30)]
    out = []
    for d in range(days):
        weekend = _weekday(start, d) >= 5
        present = [p for p in staff if rng.random() < (0.15 if weekend else 0.9)]
        guests = rng.randint(0, 4) if weekend else rng.randint(8, 16)
        out.append(present + [f"cust-{d}-{i}" for i in range(guests)])
    return out


def mid_cycle_spike(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A team of 60 plus 2 guests a day, and a 150-guest webinar on days 12 and 13."""
    team = [f"team-{i}" for i in range(60)]
    out = []
    for d in range(days):
        guests = [f"guest-{d}-{i}" for i in range(rng.randint(0, 4))]
        if d in (11, 12):
            guests += [f"webinar-{d}-{i}" for i in range(150)]
        out.append([p for p in team if rng.random() < 0.85] + guests)
    return out


MODELS: dict[str, Model] = {
    "stable team": stable_team,
    "steady growth": steady_growth,
    "team + guests": team_and_guests,
    "weekly seasonality": weekly_seasonality,
    "mid-cycle spike": mid_cycle_spike,
}


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
