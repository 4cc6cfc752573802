"""The traffic suite: named models of who is active each day, the provider that carries
them, and the fixed split into models the forecast may be tuned on and held-out models it
is only evaluated on.

Used by `bench/forecast.py` (the evaluation), the tests and `meterwise simulate`.

The first set (`SUITE`) was split by a rule fixed before any tuning: sort the names; the
1st, 3rd, 5th, ... are "tune", the 2nd, 4th, ... were "held-out". That half has been
evaluated and its failures studied, so it is now "spent" (open to tuning). The second set
(`SECOND`, `traffic_second.py`) was the held-out half of the fifth session; run before and
after that session's changes, its failures named, it is now the "calibration" set: the
forecaster is not tuned on it, and the band's calibration (`forecast_calibration.py`) is
measured on it, so its scores are out of sample. The third set (`THIRD`,
`traffic_third.py`) was the held-out half of the sixth session; run three times and its
failures named, it joined the calibration set in the seventh (the band's low side, with
history, held on the second set and not on the third: more kinds of traffic to calibrate
on). The fourth set (`FOURTH`, `traffic_fourth.py`) was the held-out half of the seventh
session; judged once before and after that session's change, its failures named, it joined
the calibration set in the eighth. The fifth set (`FIFTH`, `traffic_fifth.py`) was the
held-out half of the eighth session; judged before and after that session's changes, its
failures named, it joined the calibration set in the tenth. The sixth set (`SIXTH`,
`traffic_sixth.py`) was the held-out half of the tenth session; judged before and after
that session's changes, its failures named, it joined the calibration set in the
eleventh. The seventh set (`SEVENTH`, `traffic_seventh.py`) was the held-out half of the
eleventh session; judged before and after that session's changes, it joined the
calibration set at the end of it. The eighth set (`EIGHTH`, `traffic_eighth.py`) is the
held-out half: written and committed before any tuning against it, and not yet run. A
held-out model is never moved into the tuned half; when the eighth set is spent in turn, a
ninth set comes first, and the README says so.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from meterwise.reconciler import traffic_eighth as t8
from meterwise.reconciler import traffic_fifth as t5
from meterwise.reconciler import traffic_fourth as t4
from meterwise.reconciler import traffic_models as tm
from meterwise.reconciler import traffic_second as ts
from meterwise.reconciler import traffic_seventh as t7
from meterwise.reconciler import traffic_sixth as t6
from meterwise.reconciler import traffic_third as t3
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

# The second set (`traffic_second.py`), fixed before any tuning against it: the band is
# calibrated on it (`bench/calibrate.py`), the forecaster is not tuned on it.
SECOND: tuple[TrafficModel, ...] = (
    TrafficModel("university term", ts.university_term, "jaas", "closed, skewed attendance"),
    TrafficModel("clinic follow-ups", ts.clinic_follow_ups, "jaas", "open, delayed returns"),
    TrafficModel("launch curve", ts.launch_curve, "jaas", "growth then saturation"),
    TrafficModel("weekend community", ts.weekend_community, "jaas", "weekly seasonality"),
    TrafficModel("month-end close", ts.month_end_close, "jaas", "recurring cycle-end crowd"),
    TrafficModel("expiring trials", ts.expiring_trials, "jaas", "decline and churn"),
    TrafficModel("sprint reviews", ts.sprint_reviews, "jaas", "recurring meetings"),
    TrafficModel("outage and recovery", ts.outage_and_recovery, "jaas", "holidays and gaps"),
    TrafficModel("campaign sign-ups", ts.campaign_signups, "events", "calendar month, spike"),
    TrafficModel("support chat", ts.support_chat, "cometchat", "CometChat, open stream"),
    TrafficModel("fading cohort", ts.fading_cohort, "jaas", "closed, fading"),
)

# The third set (`traffic_third.py`), fixed before any tuning against it: held out in the
# sixth session, part of the calibration set since.
THIRD: tuple[TrafficModel, ...] = (
    TrafficModel("department rollout", t3.department_rollout, "jaas", "staircase growth"),
    TrafficModel("s-curve adoption", t3.s_curve_adoption, "jaas", "closed, logistic uptake"),
    TrafficModel("weekly cohorts", t3.weekly_cohorts, "jaas", "recurring arrivals, leavers"),
    TrafficModel("rotating shifts", t3.rotating_shifts, "jaas", "closed, rotating roster"),
    TrafficModel("news bursts", t3.news_bursts, "jaas", "random one-off spikes"),
    TrafficModel("dormant base", t3.dormant_base, "jaas", "open, slow tail"),
    TrafficModel("pay days", t3.pay_days, "jaas", "semi-monthly crowd"),
    TrafficModel("price change", t3.price_change, "jaas", "regime change, churn"),
    TrafficModel("game players", t3.game_players, "cometchat", "CometChat, churning stream"),
    TrafficModel("newsletter readers", t3.newsletter_readers, "events", "calendar month, weekly"),
)

# The fourth set (`traffic_fourth.py`), fixed before any tuning against it: held out in the
# seventh session, part of the calibration set since.
FOURTH: tuple[TrafficModel, ...] = (
    TrafficModel("deadline rush", t4.deadline_rush, "jaas", "accelerating one-time arrivals"),
    TrafficModel("referral spread", t4.referral_spread, "jaas", "branching growth, saturating"),
    TrafficModel("batch migration", t4.batch_migration, "jaas", "random batches of arrivals"),
    TrafficModel("school holidays", t4.school_holidays, "jaas", "closed, two-week gap"),
    TrafficModel("device churn", t4.device_churn, "jaas", "fresh ids for the same people"),
    TrafficModel("freemium funnel", t4.freemium_funnel, "jaas", "open, delayed returns"),
    TrafficModel("contractors", t4.contractors, "jaas", "shrinking core, weekly hires"),
    TrafficModel("hybrid office", t4.hybrid_office, "jaas", "closed, fixed weekdays"),
    TrafficModel("stream shows", t4.stream_shows, "cometchat", "CometChat, overlapping crowds"),
    TrafficModel(
        "month-start reports", t4.month_start_reports, "events", "calendar month, early crowd"
    ),
)

# The fifth set (`traffic_fifth.py`), fixed before any tuning against it: held out in the
# eighth session, part of the calibration set since.
FIFTH: tuple[TrafficModel, ...] = (
    TrafficModel("loyalty buyers", t5.loyalty_buyers, "events", "calendar month, lapsing"),
    TrafficModel("tenant ramp", t5.tenant_ramp, "jaas", "arrivals that start late"),
    TrafficModel("offboarding", t5.offboarding, "jaas", "closed, step down"),
    TrafficModel("viral aftermath", t5.viral_aftermath, "jaas", "decaying arrivals"),
    TrafficModel("quarter end", t5.quarter_end, "jaas", "quarterly climb"),
    TrafficModel("marketing push", t5.marketing_push, "jaas", "accelerating from a day"),
    TrafficModel("callbacks", t5.callbacks, "jaas", "one-time callers, repeats"),
    TrafficModel("seasonal visitors", t5.seasonal_visitors, "jaas", "slow wave"),
    TrafficModel("course cohorts", t5.course_cohorts, "cometchat", "CometChat, cohorts"),
    TrafficModel("release returns", t5.release_returns, "events", "calendar month, weekly pull"),
)

# The sixth set (`traffic_sixth.py`): held out in the tenth session, calibration since.
SIXTH: tuple[TrafficModel, ...] = (
    TrafficModel("monthly all-hands", t6.monthly_all_hands, "jaas", "closed, monthly crowd"),
    TrafficModel("waitlist waves", t6.waitlist_waves, "jaas", "growing weekly waves"),
    TrafficModel("hackathon", t6.hackathon, "jaas", "one-off crowd, some stay"),
    TrafficModel("flu season", t6.flu_season, "jaas", "bell-shaped arrivals, returns"),
    TrafficModel("points expiry", t6.points_expiry, "events", "calendar month, month-end rush"),
    TrafficModel("dating app", t6.dating_app, "cometchat", "CometChat, churning sign-ups"),
    TrafficModel("weekday and weekend", t6.weekday_and_weekend, "jaas", "two audiences"),
    TrafficModel("tutoring packages", t6.tutoring_packages, "jaas", "open, finite stays"),
    TrafficModel("regional launch", t6.regional_launch, "events", "calendar month, logistic"),
    TrafficModel("store feature", t6.store_feature, "cometchat", "CometChat, install burst"),
)

# The seventh set (`traffic_seventh.py`): held out in the eleventh session, calibration since.
SEVENTH: tuple[TrafficModel, ...] = (
    TrafficModel("alternating teams", t7.alternating_teams, "jaas", "closed, fortnightly"),
    TrafficModel("monthly check-ins", t7.monthly_check_ins, "jaas", "closed, once a cycle"),
    TrafficModel("tiny team", t7.tiny_team, "jaas", "closed, a handful"),
    TrafficModel("holiday shopping", t7.holiday_shopping, "events", "calendar month, climb"),
    TrafficModel("random-walk sign-ups", t7.random_walk_signups, "jaas", "wandering arrivals"),
    TrafficModel(
        "power-law retention", t7.power_law_retention, "cometchat", "CometChat, long tail"
    ),
    TrafficModel("marketplace chat", t7.marketplace_chat, "cometchat", "CometChat, two sides"),
    TrafficModel("device fleet", t7.device_fleet, "events", "calendar month, batches"),
    TrafficModel("gym members", t7.gym_members, "jaas", "closed, unequal rates"),
    TrafficModel("term start", t7.term_start, "jaas", "closed, holiday then term"),
)

# The eighth set (`traffic_eighth.py`), fixed before any tuning against it: all held out.
EIGHTH: tuple[TrafficModel, ...] = (
    TrafficModel("four on four off", t8.four_on_four_off, "jaas", "closed, 8-day rota"),
    TrafficModel("ci bots", t8.ci_bots, "jaas", "fresh ids every run"),
    TrafficModel("match days", t8.match_days, "cometchat", "CometChat, weekly crowd"),
    TrafficModel("seat cap", t8.seat_cap, "jaas", "linear growth to a hard cap"),
    TrafficModel("push campaigns", t8.push_campaigns, "events", "calendar month, pushes"),
    TrafficModel("pareto meetings", t8.pareto_meetings, "jaas", "heavy-tailed one-offs"),
    TrafficModel("streak players", t8.streak_players, "events", "calendar month, streaks"),
    TrafficModel("product recall", t8.product_recall, "cometchat", "CometChat, decaying flood"),
    TrafficModel("weekly therapy", t8.weekly_therapy, "jaas", "weekly slots, finite stays"),
    TrafficModel("firmware reset", t8.firmware_reset, "jaas", "closed, ids renewed once"),
)

# Each role's sets, named once: moving a set to the calibration role is one line here.
CALIBRATION: tuple[TrafficModel, ...] = SECOND + THIRD + FOURTH + FIFTH + SIXTH + SEVENTH
HELD_OUT: tuple[TrafficModel, ...] = EIGHTH
EVERY: tuple[TrafficModel, ...] = SUITE + CALIBRATION + HELD_OUT
MODELS: dict[str, Model] = {m.name: m.generate for m in EVERY}


ROLES = ("tune", "spent", "calibration", "held-out")  # what `split()` says of a model


def split() -> dict[str, str]:
    """Model name -> "tune", "spent", "calibration" or "held-out".

    The first set alternates by the rule in the module docstring: "tune", and "spent" (its
    held-out half until 2026-12-02: evaluated for four sessions, its failures known, so it
    no longer tests anything and may be tuned on). The second set (the fifth session's
    held-out set), the third (the sixth session's), the fourth (the seventh's), the fifth
    (the eighth's), the sixth (the tenth's) and the seventh (the eleventh's) are
    "calibration" as a whole; the eighth set is all "held-out"."""
    ranked = sorted(m.name for m in SUITE)
    halves = {name: "tune" if i % 2 == 0 else "spent" for i, name in enumerate(ranked)}
    return (
        halves
        | {m.name: "calibration" for m in CALIBRATION}
        | {m.name: "held-out" for m in HELD_OUT}
    )


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
