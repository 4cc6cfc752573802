"""The eighth traffic set: models written after the seventh set was judged, fixed (2026-12-04,
eleventh session, its own commit) before any tuning against them, and only evaluated.

Mechanisms no earlier set has: a roster of four days on and four off (a period that is not
a week), test bots that come with fresh ids on every run, a sports league's match days
with fans of skewed loyalty, seats that grow until a licence cap, push campaigns on random
days, meetings whose sizes are heavy-tailed, players kept by a daily streak, a product
recall that floods support chat, therapy patients with a weekly slot for a few months, and
kiosks whose firmware update gives a share of them new ids on one day. Same conventions as
`traffic_models.py`: continuous from ``start``, events inside "the cycle" placed relative
to the last 30 days, deterministic for a seed.
"""

from __future__ import annotations

import random
from datetime import datetime

from meterwise.reconciler.traffic_models import Day, attend, weekday_of


def four_on_four_off(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A hospital's staff of 200-800 in four crews: each crew works four days, then has
    four off (an 8-day rota, whatever the weekday); 90% of a crew on duty meets; 10-30
    managers meet on weekdays."""
    crews = [[f"fo-{c}-{i}" for i in range(rng.randint(50, 200))] for c in range(4)]
    managers = [f"fo-m-{i}" for i in range(rng.randint(10, 30))]
    phase = rng.randrange(8)
    out: list[Day] = []
    for d in range(days):
        on = [c for c in range(4) if ((d + phase + 2 * c) % 8) < 4]
        today = [x for c in on for x in attend(crews[c], 0.9, rng)]
        if weekday_of(start, d) < 5:
            today += attend(managers, 0.8, rng)
        out.append(today)
    return out


def ci_bots(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Continuous integration joins test meetings: 20-80 runs a weekday (5-15 at weekends),
    each with 2-5 bot participants that have fresh ids every run; 10-40 engineers watch on
    weekdays."""
    busy, quiet = rng.randint(20, 80), rng.randint(5, 15)
    engineers = [f"ci-e-{i}" for i in range(rng.randint(10, 40))]
    out: list[Day] = []
    for d in range(days):
        weekday = weekday_of(start, d) < 5
        runs = rng.randint(busy // 2, busy) if weekday else rng.randint(0, quiet)
        bots = [f"ci-{d}-{r}-{b}" for r in range(runs) for b in range(rng.randint(2, 5))]
        out.append(bots + (attend(engineers, 0.7, rng) if weekday else []))
    return out


def match_days(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A sports league's chat (CometChat): on Saturdays a match draws its fans, each with
    their own loyalty (Beta(0.7, 1.5)) from a base of 3,000-10,000 growing 1-3% a week;
    on other days 3-8% of the base chats about the league."""
    base = [f"md-{i}" for i in range(rng.randint(3000, 10000))]
    loyalty = {f: rng.betavariate(0.7, 1.5) for f in base}
    growth = rng.uniform(0.01, 0.03)
    talk = rng.uniform(0.03, 0.08)
    out: list[Day] = []
    for d in range(days):
        if d % 7 == 0 and d:
            for i in range(int(len(base) * growth)):
                fan = f"md-{d}-{i}"
                base.append(fan)
                loyalty[fan] = rng.betavariate(0.7, 1.5)
        if weekday_of(start, d) == 5:
            out.append([f for f in base if rng.random() < loyalty[f]])
        else:
            out.append(attend(base, talk, rng))
    return out


def seat_cap(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A licence of 300-1,000 seats: users are added at 5-25 a weekday until the cap is
    reached (then no one new can join); each user meets on 70% of weekdays."""
    cap, rate = rng.randint(300, 1000), rng.randint(5, 25)
    first = rng.randint(20, 200)
    users = [f"sc-{i}" for i in range(min(cap, first))]
    out: list[Day] = []
    for d in range(days):
        if weekday_of(start, d) >= 5:
            out.append([])
            continue
        fresh = [f"sc-{len(users) + i}" for i in range(max(0, min(rate, cap - len(users))))]
        users += fresh
        out.append(attend(users[: len(users) - len(fresh)], 0.7, rng) + fresh)
    return out


def push_campaigns(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A retail app (custom events, calendar month) of 5,000-20,000 members who open it on
    1-2% of days; a push notification on 1-3 random days a week brings 6-15% of members
    that day and half as many the next; 10-40 members join a day."""
    members = [f"pc-{i}" for i in range(rng.randint(5000, 20000))]
    base = rng.uniform(0.01, 0.02)
    pushes = rng.randint(1, 3)
    pull: dict[int, float] = {}
    out: list[Day] = []
    for d in range(days):
        if d % 7 == 0:
            for day in rng.sample(range(d, d + 7), pushes):
                lift = rng.uniform(0.06, 0.15)
                pull[day] = pull.get(day, 0.0) + lift
                pull[day + 1] = pull.get(day + 1, 0.0) + lift / 2
        members += [f"pc-{d}-{i}" for i in range(rng.randint(10, 40))]
        out.append(attend(members, min(0.9, base + pull.pop(d, 0.0)), rng))
    return out


def pareto_meetings(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """An events platform: 5-20 meetings a weekday, each with a size drawn from a Pareto
    (shape 1.1-1.5, at least 3, at most 3,000) of mostly one-time guests; 30-100 hosts
    meet on weekdays."""
    hosts = [f"pm-h-{i}" for i in range(rng.randint(30, 100))]
    per_day, shape = rng.randint(5, 20), rng.uniform(1.1, 1.5)
    out: list[Day] = []
    for d in range(days):
        if weekday_of(start, d) >= 5:
            out.append([])
            continue
        today = attend(hosts, 0.8, rng)
        for m in range(rng.randint(per_day // 2, per_day)):
            size = min(3000, int(3 * rng.paretovariate(shape)))
            today += [f"pm-{d}-{m}-{i}" for i in range(size)]
        out.append(today)
    return out


def streak_players(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A daily puzzle (custom events, calendar month): 50-200 new players a day; a player
    on a streak plays again the next day with a chance that rises with the streak (0.5 on
    day one to 0.95), and one who breaks it comes back with a 2% chance a day."""
    daily = rng.randint(50, 200)
    streak: dict[str, int] = {}
    lapsed: list[str] = []
    out: list[Day] = []
    for d in range(days):
        today = [f"sp-{d}-{i}" for i in range(rng.randint(daily // 2, daily * 3 // 2))]
        keep = {p: n for p, n in streak.items() if rng.random() < min(0.95, 0.45 + 0.05 * n)}
        lapsed += [p for p in streak if p not in keep]
        back = attend(lapsed, 0.02, rng)
        returned = set(back)
        lapsed = [p for p in lapsed if p not in returned]
        streak = {p: n + 1 for p, n in keep.items()} | {p: 1 for p in today + back}
        out.append(list(keep) + today + back)
    return out


def product_recall(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """A manufacturer's support chat (CometChat): 20-60 customers a day and 15-40 agents;
    a recall 25 days before to 25 days after the last cycle begins brings 500-3,000 customers
    on its first day, fewer each day after (halving every 2-5 days); one in three comes
    back once within a week."""
    agents = [f"pr-a-{i}" for i in range(rng.randint(15, 40))]
    daily = rng.randint(20, 60)
    recall = days - 30 + rng.randint(-25, 25)
    flood, half = rng.randint(500, 3000), rng.uniform(2, 5)
    back: dict[int, list[str]] = {}
    out: list[Day] = []
    for d in range(days):
        n = daily + (int(flood * 0.5 ** ((d - recall) / half)) if d >= recall else 0)
        fresh = [f"pr-{d}-{i}" for i in range(n)]
        for c in fresh:
            if rng.random() < 1 / 3:
                back.setdefault(d + rng.randint(1, 7), []).append(c)
        out.append(attend(agents, 0.85, rng) + fresh + back.pop(d, []))
    return out


def weekly_therapy(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Online therapy: 20-80 therapists on weekdays; 5-20 patients start each week, each
    with a weekly slot on one weekday, for 8-16 weeks (missing 10% of sessions)."""
    therapists = [f"wt-t-{i}" for i in range(rng.randint(20, 80))]
    weekly = rng.randint(5, 20)
    patients: list[tuple[str, int, int]] = []  # (id, weekday, last day)
    out: list[Day] = []
    for d in range(days):
        if d % 7 == 0:
            for i in range(rng.randint(weekly // 2, weekly)):
                patients.append((f"wt-{d}-{i}", rng.randrange(5), d + 7 * rng.randint(8, 16)))
        wd = weekday_of(start, d)
        if wd >= 5:
            out.append([])
            continue
        seen = [p for p, slot, end in patients if slot == wd and d <= end and rng.random() < 0.9]
        out.append(attend(therapists, 0.9, rng) + seen)
        patients = [x for x in patients if x[2] >= d]
    return out


def firmware_reset(start: datetime, days: int, rng: random.Random) -> list[Day]:
    """Meeting-room kiosks: 50-300 devices meet every weekday (95%); a firmware update 20
    days before to 25 days after the last cycle begins gives 30-100% of them new device ids
    from that day on."""
    kiosks = [f"fw-{i}" for i in range(rng.randint(50, 300))]
    update = days - 30 + rng.randint(-20, 25)
    share = rng.uniform(0.3, 1.0)
    renamed = set(rng.sample(range(len(kiosks)), int(len(kiosks) * share)))
    out: list[Day] = []
    for d in range(days):
        if weekday_of(start, d) >= 5:
            out.append([])
            continue
        ids = [f"{k}-new" if d >= update and i in renamed else k for i, k in enumerate(kiosks)]
        out.append(attend(ids, 0.95, rng))
    return out
