"""The seventh traffic set: models written after the sixth set was judged, fixed (2026-12-04,
eleventh session, its own commit) before any tuning against them, and only evaluated.

Mechanisms no earlier set has: two teams that meet on alternate weeks, clients who each have
one check-in a cycle on their own day of it, a tiny team where one person is a tenth of the
count, holiday shopping that climbs through the cycle and stops, sign-ups whose daily number
wanders as a random walk, a chat app whose users return on a power-law retention curve, a
marketplace of steady sellers and buyers who come once and follow up, a fleet of devices
installed in batches that go offline one by one, a gym whose members come at very unequal
rates and cancel and join, and a school term that starts inside the cycle. Same conventions
as `traffic_models.py`: continuous from ``start``, events inside "the cycle" placed relative
to the last 30 days, deterministic for a seed.
"""

from __future__ import annotations

import math
import random
from datetime import datetime

from meterwise.reconciler.traffic_models import Day, attend, weekday_of


def alternating_teams(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Two closed teams of 40-200 each: one meets on the weekdays of even weeks, the other
    on the weekdays of odd weeks (85% attendance); 5-15 leads meet every weekday."""
    a = [f"at-a-{i}" for i in range(rng.randint(40, 200))]
    b = [f"at-b-{i}" for i in range(rng.randint(40, 200))]
    leads = [f"at-lead-{i}" for i in range(rng.randint(5, 15))]
    shift = rng.randint(0, 6)  # the weeks are counted from a day that is not the start
    out: list[Day] = []
    for d in range(days):
        if weekday_of(start, d) >= 5:
            out.append([])
            continue
        team = a if ((d + shift) // 7) % 2 == 0 else b
        out.append(attend(leads, 0.9, rng) + attend(team, 0.85, rng))
    return out


def monthly_check_ins(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Account managers (5-20, every weekday) meet each of 200-900 clients once a cycle, on
    the client's own day of the 30-day cycle (moved to the next weekday if it falls on a
    weekend); 10% of meetings move by one to three days; clients join at 0-3 a day."""
    clients = [(f"mc-{i}", rng.randrange(30)) for i in range(rng.randint(200, 900))]
    managers = [f"mc-am-{i}" for i in range(rng.randint(5, 20))]
    pending: dict[int, list[str]] = {}
    out: list[Day] = []
    for d in range(days):
        clients += [(f"mc-{d}-{i}", rng.randrange(30)) for i in range(rng.randint(0, 3))]
        into = (d - days) % 30
        for c, slot in clients:
            if slot == into:
                when = d + (rng.randint(1, 3) if rng.random() < 0.1 else 0)
                while weekday_of(start, when) >= 5:
                    when += 1
                pending.setdefault(when, []).append(c)
        if weekday_of(start, d) >= 5:
            out.append([])
            continue
        out.append(attend(managers, 0.95, rng) + pending.pop(d, []))
    return out


def tiny_team(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A team of 3-9 on a free-ish plan: each person meets on 10-60% of weekdays (their own
    rate); a guest or two a month (one sighting each)."""
    people = [(f"tn-{i}", rng.uniform(0.1, 0.6)) for i in range(rng.randint(3, 9))]
    out: list[Day] = []
    for d in range(days):
        if weekday_of(start, d) >= 5:
            out.append([])
            continue
        today = [p for p, rate in people if rng.random() < rate]
        if rng.random() < 0.07:
            today.append(f"tn-guest-{d}")
        out.append(today)
    return out


def holiday_shopping(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A shop's app (custom events, calendar month) with a pool of 20,000-60,000 customers
    of skewed popularity; sightings a day (400-1,200 at rest) climb through the last cycle to
    2.5-4 times that by day 22-26 of it, then fall back to rest for what is left."""
    pool = rng.randint(20000, 60000)
    rest = rng.randint(400, 1200)
    peak, top = rng.uniform(2.5, 4.0), rng.randint(22, 26)
    out: list[Day] = []
    for d in range(days):
        into = d - (days - 30)
        level = rest * (1 + (peak - 1) * into / top) if 0 <= into < top else rest
        picks = {f"hs-{int(pool ** rng.random()) - 1}" for _ in range(int(level))}
        out.append(sorted(picks))
    return out


def random_walk_signups(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Sign-ups a day start at 20-80 and wander: each day multiplied by e^N(0, 0.12), kept
    within 5-250; a new user meets on 60% of weekdays for two weeks, then 15%."""
    level = float(rng.randint(20, 80))
    users: list[tuple[str, int]] = []
    out: list[Day] = []
    for d in range(days):
        level = min(250.0, max(5.0, level * math.exp(rng.gauss(0, 0.12))))
        users += [(f"rw-{d}-{i}", d) for i in range(int(level))]
        if weekday_of(start, d) >= 5:
            out.append([u for u, j in users if j == d])
            continue
        out.append([u for u, j in users if j == d or rng.random() < (0.6 if d - j < 14 else 0.15)])
    return out


def power_law_retention(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A social app (CometChat): 40-160 sign-ups a day; a user of age ``a`` days chats with
    chance 0.7 * (a + 1) ** -0.6 (a few stay for months, most fade in days)."""
    daily = rng.randint(40, 160)
    decay = rng.uniform(0.5, 0.8)
    users: list[tuple[str, int]] = []
    out: list[Day] = []
    for d in range(days):
        users += [(f"pl-{d}-{i}", d) for i in range(rng.randint(daily // 2, daily * 3 // 2))]
        out.append([u for u, j in users if rng.random() < 0.7 * (d - j + 1) ** -decay])
    return out


def marketplace_chat(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A marketplace (CometChat): 100-400 sellers chat on 70% of days (40% at weekends);
    50-300 buyers a day, each chatting on arrival and then with 50% on each of the next
    three days; 5% of buyers come back a month later."""
    sellers = [f"mk-s-{i}" for i in range(rng.randint(100, 400))]
    daily = rng.randint(50, 300)
    follow: dict[int, list[str]] = {}
    out: list[Day] = []
    for d in range(days):
        weekend = weekday_of(start, d) >= 5
        buyers = [f"mk-b-{d}-{i}" for i in range(int(rng.gauss(daily, daily**0.5)))]
        for b in buyers:
            for k in (1, 2, 3):
                if rng.random() < 0.5:
                    follow.setdefault(d + k, []).append(b)
            if rng.random() < 0.05:
                follow.setdefault(d + rng.randint(25, 35), []).append(b)
        today = attend(sellers, 0.4 if weekend else 0.7, rng) + buyers
        out.append(today + sorted(set(follow.pop(d, []))))
    return out


def device_fleet(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Connected devices (custom events, calendar month): a fleet of 500-3,000 reports every
    day; every 7-21 days a batch of 5-30% of the fleet's size is installed; each device goes
    offline for good with a 0.2-1% chance a day, and reports on 95% of its days."""
    fleet = [f"df-{i}" for i in range(rng.randint(500, 3000))]
    loss = rng.uniform(0.002, 0.01)
    next_batch = rng.randint(7, 21)
    out: list[Day] = []
    for d in range(days):
        if d == next_batch:
            size = int(len(fleet) * rng.uniform(0.05, 0.3))
            fleet += [f"df-{d}-{i}" for i in range(size)]
            next_batch = d + rng.randint(7, 21)
        fleet = [x for x in fleet if rng.random() >= loss]
        out.append(attend(fleet, 0.95, rng))
    return out


def gym_members(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A gym's classes app: 800-3,000 members whose visit rates are very unequal (a share of
    days drawn from a gamma with shape 0.5: most come rarely, a few daily), fewer at weekends;
    each member cancels with a 0.2% chance a day and as many new members join."""

    def member(tag: str) -> tuple[str, float]:
        return tag, min(0.9, rng.gammavariate(0.5, 0.2))

    members = [member(f"gm-{i}") for i in range(rng.randint(800, 3000))]
    out: list[Day] = []
    for d in range(days):
        cut = [m for m in members if rng.random() >= 0.002]
        members = cut + [member(f"gm-{d}-{i}") for i in range(len(members) - len(cut))]
        scale = 0.6 if weekday_of(start, d) >= 5 else 1.0
        out.append([m for m, rate in members if rng.random() < rate * scale])
    return out


def term_start(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A school of 300-1,200 students and 20-60 teachers with lessons on weekdays (students
    80%, teachers 95%); the terms begin every 60 days and the holidays between them last
    10-20 days, so the last cycle may open in a holiday; 20-50 staff meet in holidays."""
    students = [f"ts7-{i}" for i in range(rng.randint(300, 1200))]
    teachers = [f"ts7-t-{i}" for i in range(rng.randint(20, 60))]
    staff = teachers[: rng.randint(5, len(teachers) // 2 + 5)]
    holiday = rng.randint(10, 20)
    begins = days - 30 + rng.randint(-5, 15)  # the day the last holiday ends
    out: list[Day] = []
    for d in range(days):
        into = (d - begins) % 60  # days since a term began; the holiday is its last days
        if weekday_of(start, d) >= 5:
            out.append([])
        elif into >= 60 - holiday:
            out.append(attend(staff, 0.5, rng))
        else:
            out.append(attend(teachers, 0.95, rng) + attend(students, 0.8, rng))
    return out
