"""The providers' part of a snapshot: each provider's stored inputs of a cycle (and the
checks'), read into the frozen values its pure hooks compute on."""

from __future__ import annotations

from meterwise.config.settings import Account
from meterwise.reconciler.addons import LOOKBACK_MS, JaasInputs
from meterwise.reconciler.calendar_view import CalendarInputs
from meterwise.reconciler.checks import DAY_MS
from meterwise.reconciler.cometchat import DEFAULT_IDLE_TIMEOUT_S, CometChatInputs
from meterwise.reconciler.concurrency import ConnectionEvent
from meterwise.reconciler.consistency import HISTORY_DAYS, CheckInputs
from meterwise.reconciler.frame import Frame
from meterwise.reconciler.usage import CallEvent
from meterwise.storage import Storage


def jaas_inputs(store: Storage, account: Account, frame: Frame) -> JaasInputs:
    start_ms, eval_ms = frame.start_ms, frame.eval_ms
    sessions = store.transcribed_sessions(account.id, start_ms, eval_ms)
    ids = [s for s, _ in sessions]
    return JaasInputs(
        tuple(store.recordings(account.id, start_ms, eval_ms)),
        tuple(sessions),
        store.room_spans(account.id, ids),
        store.presence_spans(account.id, ids),
        tuple(
            CallEvent(*c) for c in store.call_events(account.id, start_ms - LOOKBACK_MS, eval_ms)
        ),
    )


def cometchat_inputs(store: Storage, account: Account, frame: Frame) -> CometChatInputs:
    timeout_ms = (
        int(account.options.get("connection_idle_timeout_s", DEFAULT_IDLE_TIMEOUT_S)) * 1000
    )
    start_ms, eval_ms = frame.start_ms, frame.eval_ms
    return CometChatInputs(
        tuple(store.call_session_seconds(account.id, start_ms, eval_ms)),
        tuple(
            ConnectionEvent(*e)
            for e in store.connection_events(account.id, start_ms - timeout_ms, eval_ms)
        ),
    )


def calendar_inputs(
    store: Storage, account: Account, frame: Frame, segment: str | None
) -> CalendarInputs:
    start_ms, eval_ms = frame.start_ms, frame.eval_ms
    return CalendarInputs(
        tuple(store.distinct_by_cycle(account.id, "mau")),
        store.segments(account.id, start_ms, eval_ms, segment) if segment else None,
        store.system_only_by_type(account.id, start_ms, start_ms, eval_ms)
        if account.provider == "wll"
        else None,
    )


def checks_inputs(store: Storage, account: Account, frame: Frame) -> CheckInputs:
    acct, start_ms, now_ms = account.id, frame.start_ms, frame.eval_ms
    hourly = store.hourly(acct, "events", start_ms - HISTORY_DAYS * DAY_MS, now_ms)
    counts = store.delivery_counts(acct, start_ms, now_ms)
    if account.provider != "jaas":
        return CheckInputs(hourly, counts)
    joined = store.joined_per_session(acct, start_ms, now_ms)
    return CheckInputs(
        hourly,
        counts,
        joined,
        frozenset(store.sessions_with_usage(acct, [s for s, n in joined.items() if n >= 2])),
        tuple(store.recording_events(acct, start_ms - DAY_MS, now_ms)),
        tuple(store.upload_events(acct, now_ms - DAY_MS, now_ms)),
        tuple(CallEvent(*c) for c in store.call_events(acct, start_ms - DAY_MS, now_ms)),
    )
