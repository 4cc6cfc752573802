"""The fourth traffic set: models written after the third set was spent, fixed (2026-12-02,
seventh session, its own commit) before any tuning against them, and only evaluated.

Mechanisms no earlier set has: a deadline rush whose one-time visitors come faster and
faster until the cycle's last days, referrals that spread through a community (a branching
process that saturates), tools migrated in from elsewhere in batches of random size at
random moments, school holidays that stop a closed population for two weeks, an
integration bug that gives every meeting fresh device ids, a freemium funnel whose
visitors return after Weibull-distributed gaps, a shrinking core team with contractors
hired week by week, a streaming platform's chat whose shows draw overlapping audiences
from a pool of fans, and a reporting app whose users all come in the first working days of
the month. Same conventions as `traffic_models.py`: continuous from ``start``, events
inside "the cycle" placed relative to the last 30 days, deterministic for a seed.
"""

from __future__ import annotations

import math
import random
from datetime import datetime

from meterwise.reconciler.traffic_models import Day, weekday_of


def deadline_rush(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A filing service before a deadline on day 26-29 of the last cycle: 15-40 staff on
    weekdays, and one-time filers whose daily number grows from 5-15 to 20-40 times that
    by the deadline (exponentially), then falls to a trickle."""
    staff = [f"fs-{i}" for i in range(rng.randint(15, 40))]
    deadline = days - 30 + rng.randint(26, 29)
    base, peak = rng.randint(5, 15), rng.uniform(20, 40)
    out = []
    for d in range(days):
        today = [s for s in staff if rng.random() < 0.9] if weekday_of(start, d) < 5 else []
        if d <= deadline:
            ahead = max(0, deadline - d)
            filers = int(base * peak ** max(0.0, 1 - ahead / 30))
        else:
            filers = rng.randint(0, base)
        today += [f"filer-{d}-{i}" for i in range(filers)]
        out.append(today)
    return out


def referral_spread(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A community of 2,000-6,000 where each new member invites others: every active
    member brings one more with a chance of 2-6% a day while the community is unsaturated
    (the chance falls as it fills); members come back on 40% of days."""
    size = rng.randint(2000, 6000)
    rate = rng.uniform(0.02, 0.06)
    members = [f"rf-{i}" for i in range(rng.randint(20, 60))]
    out = []
    for _ in range(days):
        today = [m for m in members if rng.random() < 0.4]
        room = max(0.0, 1 - len(members) / size)
        invited = sum(1 for _ in today if rng.random() < rate * room * 2.5)
        fresh = [f"rf-{len(members) + i}" for i in range(invited)]
        members += fresh
        out.append(today + fresh)
    return out


def batch_migration(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Teams moved over from another tool: on each weekday a batch arrives with a 15%
    chance, its size log-normal (median 30, some in the hundreds); migrated people meet on
    65% of weekdays; 60-150 people were there from the start."""
    people = [f"bm-{i}" for i in range(rng.randint(60, 150))]
    out = []
    for d in range(days):
        weekday = weekday_of(start, d) < 5
        if weekday and rng.random() < 0.15:
            size = int(math.exp(rng.gauss(math.log(30), 0.9)))
            people += [f"bm-{d}-{i}" for i in range(size)]
        out.append([p for p in people if rng.random() < 0.65] if weekday else [])
    return out


def school_holidays(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A school of 300-900 pupils and 30-70 teachers, weekdays only, with a two-week
    holiday starting on day 5-18 of the last cycle; during it only a few teachers and
    10% of pupils (on 10% of days) come."""
    pupils = [f"pu-{i}" for i in range(rng.randint(300, 900))]
    teachers = [f"te-{i}" for i in range(rng.randint(30, 70))]
    off = days - 30 + rng.randint(5, 18)
    keen = rng.sample(pupils, len(pupils) // 10)  # a list: a set's order changes per process
    out: list[Day] = []
    for d in range(days):
        if weekday_of(start, d) >= 5:
            out.append([])
        elif off <= d < off + 14:
            out.append([t for t in teachers[:5] if rng.random() < 0.5])
            out[-1] += [p for p in keen if rng.random() < 0.1]
        else:
            out.append([p for p in pupils if rng.random() < 0.85] + teachers)
    return out


def device_churn(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """An integration bug: 40-120 staff meet every weekday, and each time a person joins
    they come with a fresh device id with a 30-70% chance (private windows, a new kiosk
    browser), so the distinct devices grow linearly while the people do not."""
    staff = list(range(rng.randint(40, 120)))
    fresh = rng.uniform(0.3, 0.7)
    device = {s: f"dc-{s}-0" for s in staff}
    out: list[Day] = []
    for d in range(days):
        if weekday_of(start, d) >= 5:
            out.append([])
            continue
        today = []
        for s in staff:
            if rng.random() < 0.8:
                if rng.random() < fresh:
                    device[s] = f"dc-{s}-{d}"
                today.append(device[s])
        out.append(today)
    return out


def freemium_funnel(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A free tier: 60-200 first visits a day; a visitor comes back after a Weibull gap
    (shape 0.6-0.9, scale 3-12 days) and after each visit is lost with a 35% chance."""
    shape, scale = rng.uniform(0.6, 0.9), rng.uniform(3, 12)
    daily = rng.randint(60, 200)
    due: dict[int, list[str]] = {}
    out = []
    for d in range(days):
        today = due.pop(d, []) + [f"fr-{d}-{i}" for i in range(daily)]
        for v in today:
            if rng.random() >= 0.35:
                gap = max(1, round(rng.weibullvariate(scale, shape)))
                due.setdefault(d + gap, []).append(v)
        out.append(today)
    return out


def contractors(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A shrinking agency: a core of 80-200 that loses 1-3% of its people a week, and
    each Monday 5-20 contractors hired for two to six weeks; weekdays only."""
    core = [f"ag-{i}" for i in range(rng.randint(80, 200))]
    loss = rng.uniform(0.01, 0.03)
    hired: list[tuple[str, int]] = []
    out = []
    for d in range(days):
        wd = weekday_of(start, d)
        if wd == 0:
            core = [c for c in core if rng.random() >= loss]
            hired += [(f"ct-{d}-{i}", d + 7 * rng.randint(2, 6)) for i in range(rng.randint(5, 20))]
        hired = [(c, until) for c, until in hired if until > d]
        out.append(
            [p for p in core + [c for c, _ in hired] if rng.random() < 0.85] if wd < 5 else []
        )
    return out


def stream_shows(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A streaming platform's chat (CometChat): a pool of 3,000-9,000 fans with Zipf-like
    popularity; 1-3 shows a day, each with its own draw (a show reaches 2-10% of the pool,
    the popular fans far more often); 20-80 new fans join the pool each day."""
    pool = rng.randint(3000, 9000)
    weight = [1 / (i + 1) ** 0.8 for i in range(pool)]
    total = sum(weight)
    out = []
    for _ in range(days):
        today: set[str] = set()
        for _ in range(rng.randint(1, 3)):
            scale = rng.uniform(0.02, 0.10) * pool / total  # the show's expected reach
            today |= {f"fan-{i}" for i, w in enumerate(weight) if rng.random() < scale * w}
        joined = rng.randint(20, 80)
        today |= {f"fan-{pool + i}" for i in range(joined)}
        fresh = [rng.choice(weight) for _ in range(joined)]
        weight += fresh
        total += sum(fresh)
        pool += joined
        out.append(sorted(today))
    return out


def month_start_reports(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A reporting app (custom events, calendar month): 400-1,500 users each open the
    month's report on one of the first 2-5 working days of the month, a few again later;
    10-30 analysts use it every weekday."""
    users = [f"rp-{i}" for i in range(rng.randint(400, 1500))]
    analysts = [f"an-{i}" for i in range(rng.randint(10, 30))]
    window = rng.randint(2, 5)
    out: list[Day] = []
    working = 0
    for d in range(days):
        weekday = weekday_of(start, d) < 5
        if (d - days) % 30 == 0:
            working = 0
        today = [a for a in analysts if rng.random() < 0.9] if weekday else []
        if weekday:
            working += 1
            if working <= window:
                today += [u for u in users if rng.random() < 1 / window]
            else:
                today += [u for u in users if rng.random() < 0.01]
        out.append(today)
    return out


def hybrid_office(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A hybrid office of 150-500: each person works from home on two to four fixed
    weekdays and meets only on those; 2-8 visitors a day from partner firms, each seen
    once or twice."""
    people = [
        (f"ho-{i}", set(rng.sample(range(5), rng.randint(2, 4))))
        for i in range(rng.randint(150, 500))
    ]
    out = []
    for d in range(days):
        wd = weekday_of(start, d)
        today = [p for p, home in people if wd in home and rng.random() < 0.9]
        if wd < 5:
            today += [f"pv-{rng.randint(0, 60 * days)}" for _ in range(rng.randint(2, 8))]
        out.append(today)
    return out
