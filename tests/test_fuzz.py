"""No input makes the receiver answer 500 (property-based, hypothesis)."""

from __future__ import annotations

import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterwise.receiver import create_app
from meterwise.receiver.testing import signed
from tests.conftest import SECRET

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
EVENT_TYPES = [
    "USAGE",
    "PARTICIPANT_JOINED",
    "PARTICIPANT_LEFT_LOBBY",
    "RECORDING_UPLOADED",
    "TRANSCRIPTION_UPLOADED",
    "ROOM_CREATED",
    "DIAL_OUT_STARTED",
    "SIP_CALL_IN_ENDED",
    "LIVE_STREAM_STARTED",
    "SPEAKER_STATS",
    "NEW_THING",
]
envelopes = st.fixed_dictionaries(
    {
        "idempotencyKey": st.text(min_size=1, max_size=40) | json_values,
        "eventType": st.sampled_from(EVENT_TYPES) | json_values,
        "sessionId": st.text(min_size=1, max_size=20) | json_values,
        "timestamp": st.integers(min_value=-(10**20), max_value=10**20) | json_values,
        "fqn": st.text(max_size=20),
        "customerId": st.text(max_size=40),
        "data": json_values
        | st.lists(
            st.dictionaries(
                st.sampled_from(
                    [
                        "deviceId",
                        "userId",
                        "email",
                        "durationSec",
                        "moderator",
                        "participantId",
                        "startTimestamp",
                    ]
                ),
                json_values,
            ),
            max_size=3,
        ),
    },
    optional={"appId": st.text(max_size=40)},
)


_APPS: dict[object, object] = {}
ENGINES = ("sqlite", "postgresql")  # every input, on both engines: never a 500


def _storage(request, engine: str, name: str) -> dict[str, str]:
    """The `[storage]` table of a database of its own for this run's ``name`` app."""
    if engine == "postgresql":
        return {"url": request.getfixturevalue("pg_server").create_database(f"fuzz_{name}")}
    folder = request.getfixturevalue("tmp_path_factory").mktemp(f"fuzz-{name}")
    return {"path": str(folder / "fuzz.db")}


def _app(request, engine: str):
    """One app (and database) per engine and test run: a fresh migrated database per example
    made the fuzzing slow, and a status check needs no empty database (duplicates answer
    200)."""
    from meterwise.config.settings import parse_settings
    from tests.conftest import base_config

    key = ("jaas", engine)
    if key not in _APPS:
        store = _storage(request, engine, "jaas")
        settings = parse_settings(base_config(store, app_id=None), {"ACME_WHSEC_2": "x"}, "t")
        _APPS[key] = create_app(settings)
    return _APPS[key]


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(doc=envelopes)
def test_signed_envelopes_never_get_a_500(request, engine, doc):
    client = _app(request, engine).test_client()
    body, headers = signed(json.dumps(doc).encode(), SECRET, int(time.time()))
    response = client.post("/webhooks/jaas/acme", data=body, headers=headers)
    assert response.status_code < 500, response.get_json()
    assert response.status_code in (200, 400, 422)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    body=st.binary(max_size=300),
    signature=st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=80),
    content_type=st.sampled_from(
        ["application/json", "Application/JSON", "text/plain", "application/cloudevents+json", ""]
    ),
)
def test_arbitrary_bytes_and_headers_never_get_a_500(
    request, engine, body, signature, content_type
):
    client = _app(request, engine).test_client()
    headers = {"Content-Type": content_type}
    try:
        headers["X-Jaas-Signature"] = signature.encode("latin-1").decode("latin-1")
    except UnicodeEncodeError:
        pass
    response = client.post("/webhooks/jaas/acme", data=body, headers=headers)
    assert response.status_code in (200, 401, 415), response.get_json()


def _providers_app(request, engine: str):
    key = ("providers", engine)
    if key not in _APPS:
        _APPS[key] = _make_providers_app(_storage(request, engine, "providers"))
    return _APPS[key]


def _make_providers_app(store: dict[str, str]):
    from meterwise.config.settings import parse_settings
    from tests.traffic import EVENTS_SECRET

    accounts = [
        {
            "id": "cc",
            "provider": "cometchat",
            "plan": "cometchat-1k",
            "cycle_anchor": "2026-03-08",
            "options": {"basic_auth_user": "meterwise", "basic_auth_password": "cc-pass-000001"},
        },
        {
            "id": "wl",
            "provider": "wll",
            "plan": "wll-standard",
            "cycle_anchor": "2026-03-01",
            "options": {"secret": "s" * 16},
        },
        {
            "id": "ev",
            "provider": "events",
            "plan": "events-standard",
            "cycle_anchor": "2026-03-01",
            "webhook_secrets": [EVENTS_SECRET],
            "options": {"pseudonymize": True, "pseudonymize_key": "k" * 16},
        },
    ]
    doc = {"storage": store, "accounts": accounts}
    return create_app(parse_settings(doc, {}, "t"))


COMETCHAT_TRIGGERS = [
    "message_sent",
    "user_connection_status_changed",
    "after_connection_status_changed",
    "call_ended",
    "meeting_ended",
    "call_initiated",
    "other",
]
provider_docs = st.one_of(
    st.tuples(
        st.just("cometchat/cc"),
        st.fixed_dictionaries(
            {"trigger": st.sampled_from(COMETCHAT_TRIGGERS) | json_values, "data": json_values},
            optional={"webhook": json_values, "type": json_values},
        ),
    ),
    st.tuples(
        st.just("wll/wl"),
        st.fixed_dictionaries(
            {"type": json_values, "subject": json_values, "reportedAt": json_values},
            optional={"payload": json_values},
        ),
    ),
    st.tuples(
        st.just("events/ev"),
        json_values
        | st.lists(
            st.fixed_dictionaries(
                {"user": json_values, "event": json_values, "timestamp": json_values},
                optional={"properties": json_values},
            ),
            max_size=3,
        ),
    ),
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=provider_docs)
def test_other_providers_never_get_a_500(request, engine, case):
    from tests.traffic import basic, standard_headers

    path, doc = case
    body = json.dumps(doc).encode()
    headers = {
        "cometchat/cc": basic(),
        "wll/wl": {"Content-Type": "application/json", "X-Meterwise-Secret": "s" * 16},
        "events/ev": standard_headers(body, "msg_fuzz", int(time.time())),
    }[path]
    client = _providers_app(request, engine).test_client()
    response = client.post(f"/webhooks/{path}", data=body, headers=headers)
    assert response.status_code in (200, 400, 422), (response.status_code, response.get_json())
