"""The third traffic set: models written after the second set was spent, fixed (2026-12-02,
sixth session, its own commit) before any tuning against them, and only evaluated.

Mechanisms neither earlier set has: seats rolled out department by department, a company
adopting a tool along an S-curve, weekly cohorts that start on Mondays and finish four
weeks later, shifts on a rotating roster, news that brings crowds at random moments, a
large dormant base woken a few at a time, semi-monthly pay days, a price change that drives
users away mid-cycle, a game's players who churn after a geometric number of days, and a
weekly newsletter's readers. Same conventions as `traffic_models.py`: continuous from
``start``, events inside "the cycle" placed relative to the last 30 days, deterministic
for a seed.
"""

from __future__ import annotations

import math
import random
from datetime import datetime

from meterwise.reconciler.traffic_models import Day, weekday_of


def department_rollout(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """An enterprise rolls out seats by department: a first department of 20-60, then a new
    one of 20-60 on a Monday every one or two weeks; staff meet on 80% of weekdays."""
    staff: list[str] = [f"dep0-{i}" for i in range(rng.randint(20, 60))]
    next_wave, wave = rng.choice((7, 14)), 1
    out = []
    for d in range(days):
        wd = weekday_of(start, d)
        if wd == 0 and d >= next_wave:
            staff += [f"dep{wave}-{i}" for i in range(rng.randint(20, 60))]
            wave, next_wave = wave + 1, d + rng.choice((7, 14))
        out.append([s for s in staff if rng.random() < 0.8] if wd < 5 else [])
    return out


def s_curve_adoption(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A company of 500-2,000 adopts a tool: each person's first day follows a logistic
    curve with its midpoint 20-60 days from the start (spread 6-15 days); adopters then
    meet on 55% of weekdays."""
    people = rng.randint(500, 2000)
    mid, spread = rng.uniform(20, 60), rng.uniform(6, 15)
    first = [mid + spread * math.log(u / (1 - u)) for u in (rng.random() for _ in range(people))]
    return [
        []
        if weekday_of(start, d) >= 5
        else [f"ad-{i}" for i, f in enumerate(first) if f <= d and rng.random() < 0.55]
        for d in range(days)
    ]


def weekly_cohorts(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A bootcamp: each Monday a cohort of 20-50 starts a four-week course (weekdays, 90%
    attendance), taught by 4-8 instructors; the cohort leaves after four weeks."""
    instructors = [f"ins-{i}" for i in range(rng.randint(4, 8))]
    cohorts: list[tuple[int, list[str]]] = []
    out = []
    for d in range(days):
        wd = weekday_of(start, d)
        if wd == 0:
            cohorts.append((d, [f"coh{d}-{i}" for i in range(rng.randint(20, 50))]))
        today = [x for x in instructors if rng.random() < 0.95] if wd < 5 else []
        for began, members in cohorts:
            if wd < 5 and d - began < 28:
                today += [m for m in members if rng.random() < 0.9]
        out.append(today)
    return out


def rotating_shifts(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A call centre of 100-300 agents on a rotating roster (four days on, three off, each
    agent's rotation offset at random) and 5-15 supervisors every weekday."""
    agents = [(f"ag-{i}", rng.randrange(7)) for i in range(rng.randint(100, 300))]
    leads = [f"sup-{i}" for i in range(rng.randint(5, 15))]
    return [
        [a for a, off in agents if (d + off) % 7 < 4 and rng.random() < 0.95]
        + (leads if weekday_of(start, d) < 5 else [])
        for d in range(days)
    ]


def news_bursts(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A media site's live Q&As: 400-1,000 regulars with log-normal chances, and on random
    days (each day with a 6% chance) a news burst brings 100-600 one-time visitors."""
    regulars = [f"rd-{i}" for i in range(rng.randint(400, 1000))]
    chance = [min(0.6, math.exp(rng.gauss(-2.8, 1.0))) for _ in regulars]
    out = []
    for d in range(days):
        today = [r for r, c in zip(regulars, chance, strict=True) if rng.random() < c]
        if rng.random() < 0.06:
            today += [f"nb-{d}-{i}" for i in range(rng.randint(100, 600))]
        out.append(today)
    return out


def dormant_base(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """An old product: an active core of 50-150 (70% of days) and a dormant base of
    3,000-8,000 accounts, each waking on a given day with a 0.1-0.4% chance."""
    core = [f"core-{i}" for i in range(rng.randint(50, 150))]
    base = rng.randint(3000, 8000)
    wake = rng.uniform(0.001, 0.004)
    return [
        [c for c in core if rng.random() < 0.7]
        + [f"dorm-{i}" for i in range(base) if rng.random() < wake]
        for _ in range(days)
    ]


def pay_days(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A payroll tool: 10-25 staff every weekday, and 150-400 employees who log in around
    pay day (days 0-1 and 15-16 of every 30), each on 70% of those days."""
    staff = [f"pr-{i}" for i in range(rng.randint(10, 25))]
    employees = [f"emp-{i}" for i in range(rng.randint(150, 400))]
    out = []
    for d in range(days):
        today = [s for s in staff if rng.random() < 0.9] if weekday_of(start, d) < 5 else []
        if (d - days) % 15 in (0, 1):
            today += [e for e in employees if rng.random() < 0.7]
        out.append(today)
    return out


def price_change(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A price change on day 6-14 of the last cycle: 500-1,500 users (log-normal chances)
    and 10-25 sign-ups a day until then; after it, 30-60% of users never come back and
    sign-ups fall to 2-5 a day."""
    users = [f"pc-{i}" for i in range(rng.randint(500, 1500))]
    chance = {u: min(0.7, math.exp(rng.gauss(-2.5, 0.9))) for u in users}
    change, leave = days - 30 + rng.randint(6, 14), rng.uniform(0.3, 0.6)
    gone: set[str] = set()
    out = []
    for d in range(days):
        if d == change:
            gone = {u for u in users if rng.random() < leave}
        signups = rng.randint(2, 5) if d >= change else rng.randint(10, 25)
        fresh = [f"ps-{d}-{i}" for i in range(signups)]
        for u in fresh:
            chance[u] = 0.3
        out.append([u for u in users if u not in gone and rng.random() < chance[u]] + fresh)
        users += fresh
    return out


def game_players(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A game's chat (CometChat): 40-120 new players a day, more at weekends; a player plays
    on 60% of days and quits after each day with a 10-20% chance."""
    quit_chance = rng.uniform(0.1, 0.2)
    base = rng.randint(40, 120)
    active: list[str] = []
    out = []
    for d in range(days):
        weekend = weekday_of(start, d) >= 5
        fresh = [f"pl-{d}-{i}" for i in range(int(base * (1.6 if weekend else 1.0)))]
        today = [p for p in active if rng.random() < 0.6] + fresh
        active = [p for p in active + fresh if rng.random() >= quit_chance]
        out.append(today)
    return out


def newsletter_readers(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A newsletter app (custom events, calendar month): every Tuesday's issue is opened by
    each of 2,000-5,000 subscribers with their own chance (Beta(1, 3)); the list grows by
    0.5-1.5% a week; a few hundred open the app on other days."""
    subs = [f"sub-{i}" for i in range(rng.randint(2000, 5000))]
    chance = {s: rng.betavariate(1.0, 3.0) for s in subs}
    growth = rng.uniform(0.005, 0.015)
    out = []
    for d in range(days):
        if weekday_of(start, d) == 1:
            fresh = [f"ns-{d}-{i}" for i in range(int(len(subs) * growth))]
            for s in fresh:
                chance[s] = rng.betavariate(1.0, 3.0)
            subs += fresh
            out.append([s for s in subs if rng.random() < chance[s]])
        else:
            out.append([s for s in subs if rng.random() < chance[s] * 0.04])
    return out
