"""The second traffic set: models written after the first set's held-out half was spent,
fixed (2026-12-02, its own commit) before any tuning against them, and only evaluated.

Different mechanisms from the first set, not new seeds of the same ones: attendance that
varies by person, visitors who come back after a delay, trials that expire, recurring
cycle-end crowds, a launch that accelerates then slows, an outage, weekend-heavy use.
Same conventions as `traffic_models.py`: continuous from ``start``, events inside "the
cycle" placed relative to the last 30 days, deterministic for a seed.
"""

from __future__ import annotations

import math
import random
from datetime import datetime

from meterwise.reconciler.traffic_models import Day, weekday_of


def university_term(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """200-600 enrolled students, lectures Monday, Wednesday and Friday; each student's own
    attendance chance is Beta(2, 1.2), so a tail of rare attenders is found slowly."""
    students = [f"stu-{i}" for i in range(rng.randint(200, 600))]
    chance = {s: rng.betavariate(2.0, 1.2) for s in students}
    lectures = {d for d in range(days) if weekday_of(start, d) in (0, 2, 4)}
    return [
        [s for s in students if rng.random() < chance[s]] if d in lectures else []
        for d in range(days)
    ]


def clinic_follow_ups(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A telehealth clinic: 8-15 doctors each weekday, 15-45 new patients a weekday, and
    35% of patients come back once for a follow-up 7-14 days later."""
    doctors = [f"doc-{i}" for i in range(rng.randint(8, 15))]
    out: list[Day] = [[] for _ in range(days)]
    for d in range(days):
        if weekday_of(start, d) >= 5:
            continue
        out[d] += [x for x in doctors if rng.random() < 0.9]
        for i in range(rng.randint(15, 45)):
            patient = f"pat-{d}-{i}"
            out[d].append(patient)
            back = d + rng.randint(7, 14)
            if rng.random() < 0.35 and back < days and weekday_of(start, back) < 5:
                out[back].append(patient)
    return out


def launch_curve(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A product launch inside the cycle: sign-ups a day follow a bell around day 12-20 of
    the last cycle (peak 20-60 a day, width 3-6 days); users return 35% of days."""
    peak_day = days - 30 + rng.uniform(12, 20)
    height, width = rng.uniform(20, 60), rng.uniform(3, 6)
    users: list[str] = [f"beta-{i}" for i in range(rng.randint(10, 30))]
    out = []
    for d in range(days):
        rate = 1 + height * math.exp(-(((d - peak_day) / width) ** 2) / 2)
        fresh = [f"l-{d}-{i}" for i in range(int(rate + rng.random()))]
        out.append([u for u in users if rng.random() < 0.35] + fresh)
        users += fresh
    return out


def weekend_community(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A hobby community, busiest at weekends: 300-700 members (log-normal chances, five
    times higher on Saturday and Sunday) and 2-6 new members on a weekend day."""
    members = [f"mem-{i}" for i in range(rng.randint(300, 700))]
    chance = {m: min(0.15, math.exp(rng.gauss(-3.6, 0.9))) for m in members}
    out = []
    for d in range(days):
        weekend = weekday_of(start, d) >= 5
        boost = 5.0 if weekend else 1.0
        fresh = [f"nm-{d}-{i}" for i in range(rng.randint(2, 6) if weekend else 0)]
        for m in fresh:
            chance[m] = min(0.15, math.exp(rng.gauss(-3.6, 0.9)))
        out.append([m for m in members if rng.random() < min(0.95, chance[m] * boost)] + fresh)
        members += fresh
    return out


def month_end_close(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A finance team of 15-30 every weekday, and in the last 4 days of every 30 a crowd of
    40-120 auditors and contractors, 60% of them the same people each month."""
    team = [f"fin-{i}" for i in range(rng.randint(15, 30))]
    regulars = [f"aud-{i}" for i in range(rng.randint(30, 80))]
    out = []
    crowd: list[str] = []
    for d in range(days):
        today = [t for t in team if rng.random() < 0.9] if weekday_of(start, d) < 5 else []
        if (d - days) % 30 >= 26:
            if (d - days) % 30 == 26:
                size = rng.randint(40, 120)
                keep = [r for r in regulars if rng.random() < 0.6]
                crowd = keep + [f"tmp-{d}-{i}" for i in range(max(0, size - len(keep)))]
            today += [c for c in crowd if rng.random() < 0.8]
        out.append(today)
    return out


def expiring_trials(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Free trials: 15-40 sign-ups a day, falling by 1-2% a day; a trial user is active on
    60% of the 3-7 days their trial lasts, then gone; 10% convert and stay (50% of days)."""
    rate, fall = rng.uniform(15, 40), rng.uniform(0.01, 0.02)
    out: list[Day] = [[] for _ in range(days)]
    for d in range(days):
        for i in range(int(rate * (1 - fall) ** d + rng.random())):
            user = f"t-{d}-{i}"
            stays = rng.random() < 0.1
            last = days if stays else min(days, d + rng.randint(3, 7))
            out[d].append(user)
            for e in range(d + 1, last):
                if rng.random() < (0.5 if stays and e >= d + 7 else 0.6):
                    out[e].append(user)
    return out


def sprint_reviews(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A team of 20-40 every weekday; every second Friday a review with 40-80 stakeholders,
    80% of them from a fixed pool and the rest new each time."""
    team = [f"dev-{i}" for i in range(rng.randint(20, 40))]
    pool = [f"sh-{i}" for i in range(rng.randint(50, 90))]
    fridays = 0
    out = []
    for d in range(days):
        wd = weekday_of(start, d)
        today = [t for t in team if rng.random() < 0.88] if wd < 5 else []
        if wd == 4:
            fridays += 1
            if fridays % 2 == 0:
                size = rng.randint(40, 80)
                known = rng.sample(pool, min(len(pool), int(size * 0.8)))
                today += known + [f"guest-{d}-{i}" for i in range(size - len(known))]
        out.append(today)
    return out


def outage_and_recovery(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """1,000-3,000 users with log-normal daily chances; a 3-5 day outage starting between
    day 3 and day 7 of the last cycle (no traffic), then a day of catch-up at double use."""
    users = [f"o-{i}" for i in range(rng.randint(1000, 3000))]
    chance = [min(0.8, math.exp(rng.gauss(-3.2, 1.2))) for _ in users]
    down = days - 30 + rng.randint(3, 7)
    length = rng.randint(3, 5)
    out: list[Day] = []
    for d in range(days):
        if down <= d < down + length:
            out.append([])
            continue
        boost = 2.0 if d == down + length else 1.0
        out.append([u for u, c in zip(users, chance, strict=True) if rng.random() < c * boost])
    return out


def campaign_signups(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """An app (custom events, calendar month): 600-1,500 users in a weekly rhythm and 3-8
    sign-ups a day, plus a marketing campaign bringing 150-500 sign-ups over three days
    at a random point of the last cycle; campaign users come back 25% of days."""
    users = [f"cu-{i}" for i in range(rng.randint(600, 1500))]
    chance = {u: min(0.5, rng.expovariate(1 / 0.1)) for u in users}
    campaign = days - 30 + rng.randint(2, 25)
    size = rng.randint(150, 500)
    out = []
    for d in range(days):
        busy = 1.0 if weekday_of(start, d) < 5 else 0.6
        n = rng.randint(3, 8) + (size // 3 if campaign <= d < campaign + 3 else 0)
        fresh = [f"su-{d}-{i}" for i in range(n)]
        for u in fresh:
            chance[u] = 0.25 if n > 8 else min(0.5, rng.expovariate(1 / 0.1))
        out.append([u for u in users if rng.random() < chance[u] * busy] + fresh)
        users += fresh
    return out


def support_chat(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A support chat (CometChat): 6-12 agents each weekday, 20-60 customers a weekday and
    a third of that at weekends; 80% are first contacts, the rest come back from earlier."""
    agents = [f"agent-{i}" for i in range(rng.randint(6, 12))]
    seen: list[str] = []
    out = []
    for d in range(days):
        weekend = weekday_of(start, d) >= 5
        n = rng.randint(20, 60) // (3 if weekend else 1)
        fresh = [f"cust-{d}-{i}" for i in range(int(n * 0.8))]
        back = rng.sample(seen, min(len(seen), n - len(fresh)))
        today = ([] if weekend else [a for a in agents if rng.random() < 0.9]) + fresh + back
        seen += fresh
        out.append(today)
    return out


def fading_cohort(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A closed cohort (a course that has ended) of 300-800: each member's daily chance
    starts at 5-40% and fades by 2-5% a day; nobody new joins."""
    cohort = [f"co-{i}" for i in range(rng.randint(300, 800))]
    chance = {c: rng.uniform(0.05, 0.4) for c in cohort}
    fade = rng.uniform(0.02, 0.05)
    return [[c for c in cohort if rng.random() < chance[c] * (1 - fade) ** d] for d in range(days)]
