"""The fifth traffic set: models written after the fourth set was judged, fixed (2026-12-03,
eighth session, its own commit) before any tuning against them, and only evaluated.

Mechanisms no earlier set has: loyalty members who buy at their own gamma-distributed
rates until they silently lapse (the Pareto/NBD "buy till you die" process), tenants who
sign up at random and whose members start one by one over the following weeks, a big
customer that leaves mid-cycle (a step down), the tail of a viral moment in the previous
cycle, a quarter whose client calls climb towards its end, a marketing push that starts
on a random day of the cycle and keeps accelerating, a call centre whose callers ring
back when their problem is not solved, seasonal visitors whose arrivals follow a slow
wave of random period and phase, online course cohorts chatting on CometChat, and an app
whose weekly release brings lapsed users back. Same conventions as `traffic_models.py`:
continuous from ``start``, events inside "the cycle" placed relative to the last 30 days,
deterministic for a seed.
"""

from __future__ import annotations

import math
import random
from datetime import datetime

from meterwise.reconciler.traffic_models import Day, weekday_of


def loyalty_buyers(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A loyalty programme (custom events, calendar month): 1,500-5,000 members, each
    buying at a rate drawn from a gamma distribution (mean one purchase in 8-25 days,
    shape 0.4-0.9) and lapsing for good after any purchase with a 3-8% chance; 10-40
    members join a day."""
    shape = rng.uniform(0.4, 0.9)
    mean_gap = rng.uniform(8, 25)
    lapse = rng.uniform(0.03, 0.08)
    joining = rng.randint(10, 40)
    rates: dict[str, float] = {}

    def join(name: str) -> None:
        rates[name] = rng.gammavariate(shape, 1 / (shape * mean_gap))

    for i in range(rng.randint(1500, 5000)):
        join(f"ly-{i}")
    out = []
    for d in range(days):
        for i in range(joining):
            join(f"ly-{d}-{i}")
        today = [m for m, rate in rates.items() if rng.random() < rate]
        for m in today:
            if rng.random() < lapse:
                del rates[m]
        out.append(today)
    return out


def tenant_ramp(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A reseller's tenants: one signs up with a 25-60% chance each weekday, with a team
    of log-normal size (median 25); each member starts after an exponential delay (mean 4-12
    days) and then meets on 70% of weekdays."""
    chance = rng.uniform(0.25, 0.6)
    delay = rng.uniform(4, 12)
    starts: list[tuple[str, int]] = [(f"tr-0-{i}", 0) for i in range(rng.randint(20, 60))]
    out: list[Day] = []
    for d in range(days):
        weekday = weekday_of(start, d) < 5
        if weekday and rng.random() < chance:
            size = max(2, int(math.exp(rng.gauss(math.log(25), 0.8))))
            starts += [(f"tr-{d}-{i}", d + int(rng.expovariate(1 / delay))) for i in range(size)]
        out.append([m for m, s in starts if s <= d and rng.random() < 0.7] if weekday else [])
    return out


def offboarding(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A big customer leaves: 200-600 of its people and 50-150 others meet on weekdays
    (85%); on day 6-20 of the last cycle the big customer's people stop coming."""
    big = [f"ob-big-{i}" for i in range(rng.randint(200, 600))]
    rest = [f"ob-{i}" for i in range(rng.randint(50, 150))]
    leaves = days - 30 + rng.randint(6, 20)
    out: list[Day] = []
    for d in range(days):
        if weekday_of(start, d) >= 5:
            out.append([])
            continue
        people = rest + (big if d < leaves else [])
        out.append([p for p in people if rng.random() < 0.85])
    return out


def viral_aftermath(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A post went viral 35-55 days before the last cycle ends: first visits jump to
    800-3,000 that day and fall off as a power law (exponent 0.8-1.4) towards a floor of
    10-30 a day; a visitor returns on a later day with a 5% chance a day, fading."""
    peak_day = days - rng.randint(35, 55)
    peak, power = rng.randint(800, 3000), rng.uniform(0.8, 1.4)
    floor = rng.randint(10, 30)
    visitors: list[tuple[str, int]] = []
    out = []
    for d in range(days):
        new = floor if d < peak_day else max(floor, int(peak / (1 + d - peak_day) ** power))
        fresh = [(f"vr-{d}-{i}", d) for i in range(new)]
        back = [v for v, first in visitors if rng.random() < 0.05 / (1 + (d - first) / 7)]
        visitors += fresh
        out.append([v for v, _ in fresh] + back)
    return out


def quarter_end(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """An advisory firm: 30-80 advisers every weekday, and client calls (each client once
    a quarter, one-time within it) whose daily number climbs from 5-15 at the start of a
    91-day quarter to 4-8 times that at its end; the quarter's phase is random."""
    advisers = [f"ad-{i}" for i in range(rng.randint(30, 80))]
    phase = rng.randrange(91)
    base, climb = rng.randint(5, 15), rng.uniform(4, 8)
    out: list[Day] = []
    for d in range(days):
        if weekday_of(start, d) >= 5:
            out.append([])
            continue
        q, into = divmod(d + phase, 91)
        calls = int(base * climb ** (into / 90))
        today = [a for a in advisers if rng.random() < 0.9]
        today += [f"cl-{q}-{rng.randint(0, 20 * base * 91)}" for _ in range(calls)]
        out.append(today)
    return out


def marketing_push(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """An app with 20-60 first visits a day; a campaign starts on day 8-18 of the last
    cycle and multiplies them by 2-4 at once, then by another 4-10% a day; a visitor comes
    back on 20% of the next fortnight's days."""
    base = rng.randint(20, 60)
    begins = days - 30 + rng.randint(8, 18)
    jump, growth = rng.uniform(2, 4), rng.uniform(0.04, 0.10)
    recent: list[tuple[str, int]] = []
    out = []
    for d in range(days):
        new = base if d < begins else int(base * jump * (1 + growth) ** (d - begins))
        fresh = [(f"mp-{d}-{i}", d) for i in range(new)]
        recent = [(v, first) for v, first in recent if d - first <= 14]
        today = [v for v, _ in recent if rng.random() < 0.2]
        recent += fresh
        out.append(today + [v for v, _ in fresh])
    return out


def callbacks(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A call centre: 20-60 agents on weekdays; 80-300 new callers a weekday (Monday 1.6
    times that, Friday 0.7); a caller whose problem is not solved (30-50%) rings back 1-3
    working days later, at most twice."""
    agents = [f"ag-{i}" for i in range(rng.randint(20, 60))]
    daily = rng.randint(80, 300)
    unsolved = rng.uniform(0.3, 0.5)
    due: dict[int, list[tuple[str, int]]] = {}
    out: list[Day] = []
    for d in range(days):
        wd = weekday_of(start, d)
        if wd >= 5:
            out.append([])
            due.setdefault(d + 1, []).extend(due.pop(d, []))  # rings back after the weekend
            continue
        n = int(daily * {0: 1.6, 4: 0.7}.get(wd, 1.0))
        calls = due.pop(d, []) + [(f"cr-{d}-{i}", 0) for i in range(n)]
        for caller, times in calls:
            if times < 2 and rng.random() < unsolved:
                due.setdefault(d + rng.randint(1, 3), []).append((caller, times + 1))
        out.append([a for a in agents if rng.random() < 0.9] + [c for c, _ in calls])
    return out


def seasonal_visitors(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A holiday-rental host's guests: first visits a day follow a wave of period 60-150
    days and random phase between 10-40 and 3-6 times that; a guest is back on 30% of the
    next week's days; 5-15 staff on weekdays."""
    period, phase = rng.uniform(60, 150), rng.uniform(0, 2 * math.pi)
    low = rng.randint(10, 40)
    high = low * rng.uniform(3, 6)
    staff = [f"sv-staff-{i}" for i in range(rng.randint(5, 15))]
    guests: list[tuple[str, int]] = []
    out = []
    for d in range(days):
        level = low + (high - low) * (1 + math.sin(2 * math.pi * d / period + phase)) / 2
        fresh = [(f"sv-{d}-{i}", d) for i in range(int(rng.gauss(level, level**0.5)))]
        guests = [(g, first) for g, first in guests if d - first <= 7]
        today = [g for g, _ in guests if rng.random() < 0.3] + [g for g, _ in fresh]
        guests += fresh
        out.append(today + (staff if weekday_of(start, d) < 5 else []))
    return out


def course_cohorts(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Online courses (CometChat): a cohort of 50-200 learners starts every 14 days (phase
    random) and chats for 4-6 weeks, each learner on 60% of days at first, fading to 10%;
    10-20 tutors every day."""
    phase = rng.randrange(14)
    tutors = [f"tu-{i}" for i in range(rng.randint(10, 20))]
    cohorts: list[tuple[list[str], int, int]] = []  # learners, start day, length
    out = []
    for d in range(days):
        if (d + phase) % 14 == 0:
            size = rng.randint(50, 200)
            cohorts.append(([f"lc-{d}-{i}" for i in range(size)], d, 7 * rng.randint(4, 6)))
        today = [t for t in tutors if rng.random() < 0.8]
        for learners, began, length in cohorts:
            age = d - began
            if age < length:
                share = 0.6 - 0.5 * age / length
                today += [learner for learner in learners if rng.random() < share]
        out.append(today)
    return out


def release_returns(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A mobile app (custom events, calendar month): a pool of 3,000-10,000 installs, each
    opening it on 3% of days (skewed: a few daily users); each week's release day sends a
    notification that brings back 10-25% of the pool; 15-50 installs a day."""
    pool = [f"ap-{i}" for i in range(rng.randint(3000, 10000))]
    daily = {p for p in pool if rng.random() < 0.05}
    release = rng.randrange(7)
    pull = rng.uniform(0.10, 0.25)
    out = []
    for d in range(days):
        pool += [f"ap-{d}-{i}" for i in range(rng.randint(15, 50))]
        share = pull if d % 7 == release else 0.03
        out.append([p for p in pool if p in daily or rng.random() < share])
    return out
