"""Synthetic traffic: which entities are active on each day, for as many days as asked.

Each model runs continuously from ``start`` (a population recurs across cycles, growth goes
on), so the same model gives an account's first cycle and a cycle with history. Where a
model has an event inside "the cycle", it is placed relative to the last 30 days (the cycle
the evaluation forecasts). Deterministic for a seed.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

Day = list[str]  # entity ids active that day (one sighting each)


def weekday_of(start: datetime, day: int) -> int:
    return (start + timedelta(days=day)).weekday()


def attend(members: list[str], share: float, rng: random.Random) -> list[str]:
    """Those of ``members`` who come today, each with chance ``share``."""
    return [m for m in members if rng.random() < share]


def stable_team(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A closed team of 60-140 who meet every weekday; each attends 90% of meetings."""
    team = [f"team-{i}" for i in range(rng.randint(60, 140))]
    return [[] if weekday_of(start, d) >= 5 else attend(team, 0.9, rng) for d in range(days)]


def classes(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A closed school: 5-9 classes of 15-30 students, each class on two fixed weekdays;
    a student attends 85% of lessons. Everyone has come by the end of the first week."""
    out: list[Day] = [[] for _ in range(days)]
    for c in range(rng.randint(5, 9)):
        students = [f"class{c}-{i}" for i in range(rng.randint(15, 30))]
        lesson_days = set(rng.sample(range(5), 2))
        for d in range(days):
            if weekday_of(start, d) in lesson_days:
                out[d] += attend(students, 0.85, rng)
    return out


def skewed_visitors(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """An open population with skewed popularity: 3,000-8,000 potential visitors whose
    daily visit chances are log-normal (a few regulars, a long tail of rare visitors)."""
    pool = rng.randint(3000, 8000)
    rates = [min(0.9, math.exp(rng.gauss(-5.0, 1.4))) for _ in range(pool)]
    return [[f"v-{i}" for i, r in enumerate(rates) if rng.random() < r] for _ in range(days)]


def steady_growth(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Linear growth: 20 users at the start, 5-10 new users a day who come back 70% of days."""
    per_day = rng.randint(5, 10)
    users = [f"base-{i}" for i in range(20)]
    out = []
    for d in range(days):
        fresh = [f"new-{d}-{i}" for i in range(per_day)]
        out.append(attend(users, 0.7, rng) + fresh)
        users += fresh
    return out


def exponential_growth(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Viral growth: new users a day grow by 2-4% a day from 3; users return 50% of days."""
    rate, growth = 3.0, 1 + rng.uniform(0.02, 0.04)
    users: list[str] = []
    out = []
    for d in range(days):
        fresh = [f"x-{d}-{i}" for i in range(int(rate * growth**d + rng.random()))]
        out.append(attend(users, 0.5, rng) + fresh)
        users += fresh
    return out


def team_and_guests(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A team of 30-80 meeting daily plus a stream of one-off guests (1-7 a day)."""
    team = [f"team-{i}" for i in range(rng.randint(30, 80))]
    return [
        attend(team, 0.9, rng) + [f"guest-{d}-{i}" for i in range(rng.randint(1, 7))]
        for d in range(days)
    ]


def weekly_seasonality(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Busy weekdays, quiet weekends: 30 staff and new customers (8-16 a weekday, 0-4 a
    weekend day)."""
    staff = [f"staff-{i}" for i in range(30)]
    out = []
    for d in range(days):
        weekend = weekday_of(start, d) >= 5
        guests = rng.randint(0, 4) if weekend else rng.randint(8, 16)
        present = attend(staff, 0.15 if weekend else 0.9, rng)
        out.append(present + [f"cust-{d}-{i}" for i in range(guests)])
    return out


def holidays_and_gaps(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A team of 40 and 3-6 customers a weekday, with a week of holiday in each cycle
    (placed at random) and a day without traffic now and then (an outage, a bank holiday)."""
    team = [f"team-{i}" for i in range(40)]
    cycles = (days + 29) // 30
    holidays = {30 * c + rng.randint(3, 22) + k for c in range(cycles) for k in range(5)}
    out: list[Day] = []
    for d in range(days):
        if d in holidays or weekday_of(start, d) >= 5 or rng.random() < 0.05:
            out.append([])
            continue
        out.append(attend(team, 0.85, rng) + [f"c-{d}-{i}" for i in range(rng.randint(3, 6))])
    return out


def decline_and_churn(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A shrinking product: 300 users at the start, each leaving for good with a 2% chance a
    day, the rest active 40% of days; new sign-ups fall from 6 a day by 3% a day."""
    users = [f"u-{i}" for i in range(300)]
    out = []
    for d in range(days):
        users = [u for u in users if rng.random() > 0.02]
        fresh = [f"s-{d}-{i}" for i in range(int(6 * 0.97**d + rng.random()))]
        out.append(attend(users, 0.4, rng) + fresh)
        users += fresh
    return out


def mid_cycle_spike(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A team of 60 plus 0-4 guests a day, and a one-off 100-250 guest event on two days
    somewhere between day 8 and day 20 of the last cycle."""
    team = [f"team-{i}" for i in range(60)]
    spike = days - 30 + rng.randint(8, 19)
    size = rng.randint(100, 250)
    out = []
    for d in range(days):
        guests = [f"guest-{d}-{i}" for i in range(rng.randint(0, 4))]
        if d in (spike, spike + 1):
            guests += [f"event-{d}-{i}" for i in range(size)]
        out.append(attend(team, 0.85, rng) + guests)
    return out


def recurring_webinars(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A weekly webinar (same weekday) of 60-200 attendees, 70% of them first-timers, the
    rest from a pool of past attendees; 10 hosts every weekday."""
    hosts = [f"host-{i}" for i in range(10)]
    weekday = rng.randint(0, 4)
    past: list[str] = []
    out = []
    for d in range(days):
        today = attend(hosts, 0.95, rng) if weekday_of(start, d) < 5 else []
        if weekday_of(start, d) == weekday:
            size = rng.randint(60, 200)
            fresh = [f"w-{d}-{i}" for i in range(int(size * 0.7))]
            back = rng.sample(past, min(len(past), size - len(fresh)))
            today += fresh + back
            past += fresh
        out.append(today)
    return out


def step_change(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """50 users meeting daily; between day 12 and day 18 of the last cycle a big customer
    with 150-400 users is onboarded, who then come back 80% of weekdays."""
    base = [f"base-{i}" for i in range(50)]
    step = days - 30 + rng.randint(12, 18)
    big = [f"big-{i}" for i in range(rng.randint(150, 400))]
    out = []
    for d in range(days):
        today = attend(base, 0.9, rng)
        if d >= step and weekday_of(start, d) < 5:
            today += big if d == step else attend(big, 0.8, rng)
        out.append(today)
    return out


def saturating_rollout(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A company rolling a tool out to 400-900 staff: adoption follows a logistic curve
    centred 10-40 days in; adopters use it 75% of weekdays."""
    staff = rng.randint(400, 900)
    centre, width = rng.uniform(10, 40), rng.uniform(4, 8)
    adopters: list[str] = []
    out = []
    for d in range(days):
        target = int(staff / (1 + math.exp(-(d - centre) / width)))
        fresh = [f"staff-{i}" for i in range(len(adopters), max(len(adopters), target))]
        weekday = weekday_of(start, d) < 5
        out.append((attend(adopters, 0.75, rng) + fresh) if weekday else [])
        if weekday:
            adopters += fresh
    return out


def app_daily_users(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """An app (custom events, calendar month): 2,000 registered users with a daily-use
    chance of 2-60% (skewed), plus 10-30 sign-ups a day who are active on day one."""
    users = [f"app-{i}" for i in range(2000)]
    chance = {u: min(0.6, rng.expovariate(1 / 0.08)) for u in users}
    out = []
    for d in range(days):
        fresh = [f"signup-{d}-{i}" for i in range(rng.randint(10, 30))]
        for u in fresh:
            chance[u] = min(0.6, rng.expovariate(1 / 0.08))
        out.append([u for u in users if rng.random() < chance[u]] + fresh)
        users += fresh
    return out


def chat_community(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A chat app (CometChat): 500 members with a weekly rhythm (busier on weekdays), each
    with their own chance to log in (Beta-distributed), and 3-8 new members a day."""
    members = [f"m-{i}" for i in range(500)]
    chance = {m: rng.betavariate(0.6, 2.5) for m in members}
    out = []
    for d in range(days):
        busy = 1.0 if weekday_of(start, d) < 5 else 0.45
        fresh = [f"join-{d}-{i}" for i in range(rng.randint(3, 8))]
        for m in fresh:
            chance[m] = rng.betavariate(0.6, 2.5)
        out.append([m for m in members if rng.random() < chance[m] * busy] + fresh)
        members += fresh
    return out
