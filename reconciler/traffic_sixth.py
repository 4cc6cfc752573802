"""The sixth traffic set: models written after the fifth set was judged, fixed (2026-12-03,
tenth session, its own commit) before any tuning against them, and only evaluated.

Mechanisms no earlier set has: a monthly all-hands on a fixed week of the cycle, a closed
beta that invites growing waves every Monday, a hackathon whose participants partly stay,
a flu season of telehealth patients who come back once, loyalty points that expire at the
end of each calendar month, a dating app whose sign-ups churn after their first weeks, a
business audience on weekdays and a different, open consumer audience at weekends,
tutoring students who buy a package of sessions and leave when it is used, a new region
launched with a logistic uptake, and an app-store feature that multiplies installs for a
few days. Same conventions as `traffic_models.py`: continuous from ``start``, events
inside "the cycle" placed relative to the last 30 days, deterministic for a seed.
"""

from __future__ import annotations

import math
import random
from datetime import datetime

from meterwise.reconciler.traffic_models import Day, attend, weekday_of


def monthly_all_hands(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A company of 400-1,500: 15-30% of it meets on any weekday; once a cycle, on a fixed
    weekday of a fixed week (the same each cycle), an all-hands draws 70-90% of everyone."""
    staff = [f"ah-{i}" for i in range(rng.randint(400, 1500))]
    daily = rng.uniform(0.15, 0.30)
    turnout = rng.uniform(0.7, 0.9)
    offset = rng.randint(0, 27)  # the all-hands' day within each 30-day cycle, weekday-adjusted
    out: list[Day] = []
    for d in range(days):
        if weekday_of(start, d) >= 5:
            out.append([])
            continue
        into = (d - days) % 30
        big = offset <= into < offset + 3 and all(
            weekday_of(start, d - k) >= 5 for k in range(1, into - offset + 1)
        )
        out.append(attend(staff, turnout if big else daily, rng))
    return out


def waitlist_waves(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A closed beta with a waitlist of 3,000-12,000: every Monday a wave of invites goes
    out, 1.2-1.6 times the last one (the first 20-60), until the waitlist is empty; an
    invitee joins with a 60% chance within three days and then meets on 40% of weekdays."""
    waiting, size, factor = (
        rng.randint(3000, 12000),
        float(rng.randint(20, 60)),
        rng.uniform(1.2, 1.6),
    )
    members: list[tuple[str, int]] = []
    out: list[Day] = []
    for d in range(days):
        wd = weekday_of(start, d)
        if wd == 0:
            wave = min(waiting, int(size))
            waiting -= wave
            members += [
                (f"ww-{d}-{i}", d + rng.randint(0, 2)) for i in range(wave) if rng.random() < 0.6
            ]
            size *= factor
        if wd >= 5:
            out.append([])
            continue
        out.append([m for m, s in members if s == d or (s < d and rng.random() < 0.4)])
    return out


def hackathon(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A developer platform: 40-120 regulars on weekdays; a hackathon on day 3-26 of the
    last cycle brings 300-1,500 people for 2 days; 10-20% of them stay as weekly users."""
    regulars = [f"hk-{i}" for i in range(rng.randint(40, 120))]
    begins = days - 30 + rng.randint(3, 26)
    crowd = [f"hk-hack-{i}" for i in range(rng.randint(300, 1500))]
    stay = crowd[: int(len(crowd) * rng.uniform(0.1, 0.2))]
    out: list[Day] = []
    for d in range(days):
        today = attend(regulars, 0.8, rng) if weekday_of(start, d) < 5 else []
        if begins <= d < begins + 2:
            today += attend(crowd, 0.9, rng)
        elif d >= begins + 2:
            today += attend(stay, 0.2, rng)
        out.append(today)
    return out


def flu_season(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Telehealth: new patients a day follow a bell curve (peak 100-400, width 10-25 days)
    centred 40 days before to 20 days after the last cycle begins, over a floor of 15-40;
    a patient comes back once 5-14 days later with a 40% chance; 10-30 clinicians daily."""
    centre = days - 30 + rng.randint(-40, 20)
    peak, width = rng.randint(100, 400), rng.uniform(10, 25)
    floor = rng.randint(15, 40)
    clinicians = [f"fl-doc-{i}" for i in range(rng.randint(10, 30))]
    back: dict[int, list[str]] = {}
    out = []
    for d in range(days):
        level = floor + peak * math.exp(-(((d - centre) / width) ** 2) / 2)
        fresh = [f"fl-{d}-{i}" for i in range(int(rng.gauss(level, level**0.5)))]
        for p in fresh:
            if rng.random() < 0.4:
                back.setdefault(d + rng.randint(5, 14), []).append(p)
        out.append(attend(clinicians, 0.85, rng) + fresh + back.pop(d, []))
    return out


def points_expiry(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A loyalty scheme (custom events, calendar month): 2,000-8,000 members visit on 1-2%
    of days; in the last 4-6 days of each month, points expire and members rush in with a
    6-15% chance a day; 5-20 members join a day."""
    members = [f"pe-{i}" for i in range(rng.randint(2000, 8000))]
    base, rush = rng.uniform(0.01, 0.02), rng.uniform(0.06, 0.15)
    window = rng.randint(4, 6)
    out = []
    for d in range(days):
        members += [f"pe-{d}-{i}" for i in range(rng.randint(5, 20))]
        into = (d - days) % 30
        out.append(attend(members, rush if into >= 30 - window else base, rng))
    return out


def dating_app(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A dating app (CometChat): 30-150 sign-ups a day (weekends 1.5 times that); a new user
    chats on 80% of days in the first week and 30% in the next two; after three weeks 70%
    leave and the rest chat on 10% of days."""
    daily = rng.randint(30, 150)
    users: list[tuple[str, int, bool]] = []
    out = []
    for d in range(days):
        n = int(daily * (1.5 if weekday_of(start, d) >= 5 else 1.0))
        users += [(f"da-{d}-{i}", d, rng.random() < 0.3) for i in range(n)]
        today = []
        for u, joined, stays in users:
            age = d - joined
            p = 0.8 if age < 7 else 0.3 if age < 21 else (0.1 if stays else 0.0)
            if rng.random() < p:
                today.append(u)
        users = [(u, j, s) for u, j, s in users if s or d - j < 21]
        out.append(today)
    return out


def weekday_and_weekend(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Two audiences: 50-200 staff of business clients meet on weekdays (85%); at weekends
    a consumer audience of skewed popularity (Zipf-like over 5,000-20,000 people, 200-800
    sightings a day) meets instead."""
    staff = [f"wb-{i}" for i in range(rng.randint(50, 200))]
    crowd = rng.randint(5000, 20000)
    per_day = rng.randint(200, 800)
    out = []
    for d in range(days):
        if weekday_of(start, d) < 5:
            out.append(attend(staff, 0.85, rng))
        else:
            picks = {f"wc-{int(crowd ** rng.random()) - 1}" for _ in range(per_day)}
            out.append(sorted(picks))
    return out


def tutoring_packages(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Tutoring: 10-40 tutors every weekday; 3-15 students buy a package a day of 8-12
    sessions, two or three a week, and leave when it is used up."""
    tutors = [f"tt-{i}" for i in range(rng.randint(10, 40))]
    daily = rng.randint(3, 15)
    students: dict[str, list[int]] = {}  # student -> [sessions left, per week]
    out = []
    for d in range(days):
        for i in range(rng.randint(max(0, daily - 3), daily + 3)):
            students[f"ts-{d}-{i}"] = [rng.randint(8, 12), rng.randint(2, 3)]
        today = attend(tutors, 0.9, rng) if weekday_of(start, d) < 5 else []
        for s, plan in list(students.items()):
            if rng.random() < plan[1] / 7:
                today.append(s)
                plan[0] -= 1
                if plan[0] == 0:
                    del students[s]
        out.append(today)
    return out


def regional_launch(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """An app (custom events, calendar month) with 1,000-4,000 users on 10% of days; a new
    region launches 20 days before to 20 days after the last cycle begins, its users
    taking it up on a logistic curve (midpoint 5-15 days after launch, 500-3,000 at full
    size) and then using it on 10% of days."""
    home = [f"rl-{i}" for i in range(rng.randint(1000, 4000))]
    launch = days - 30 + rng.randint(-20, 20)
    mid, full = rng.uniform(5, 15), rng.randint(500, 3000)
    steep = rng.uniform(0.2, 0.5)
    region: list[str] = []
    out = []
    for d in range(days):
        if d >= launch:
            target = int(full / (1 + math.exp(-steep * (d - launch - mid))))
            fresh = [f"rl-new-{i}" for i in range(len(region), target)]
            region += fresh
        else:
            fresh = []
        known = region[: len(region) - len(fresh)]  # the region's users before today
        out.append(attend(home, 0.1, rng) + fresh + attend(known, 0.1, rng))
    return out


def store_feature(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A chat app (CometChat): 20-80 installs a day; the app store features it for 3-7
    days starting 25 days before to 25 days after the last cycle begins, multiplying
    installs by 5-15; a new user chats on 50% of days, falling by half each week."""
    daily = rng.randint(20, 80)
    begins = days - 30 + rng.randint(-25, 25)
    length, boost = rng.randint(3, 7), rng.uniform(5, 15)
    users: list[tuple[str, int]] = []
    out = []
    for d in range(days):
        n = int(daily * (boost if begins <= d < begins + length else 1))
        users += [(f"sf-{d}-{i}", d) for i in range(n)]
        users = [(u, j) for u, j in users if d - j < 56]
        out.append([u for u, j in users if j == d or rng.random() < 0.5 * 0.5 ** ((d - j) / 7)])
    return out
