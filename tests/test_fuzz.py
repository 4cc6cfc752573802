"""No input makes the receiver answer 500 (property-based, hypothesis)."""

from __future__ import annotations

import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receiver import create_app
from receiver.testing import signed
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


def _app(tmp_path_factory):
    from config.settings import parse_settings
    from tests.conftest import base_config

    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    return create_app(parse_settings(base_config(path, app_id=None), {"ACME_WHSEC_2": "x"}, "t"))


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(doc=envelopes)
def test_signed_envelopes_never_get_a_500(tmp_path_factory, doc):
    client = _app(tmp_path_factory).test_client()
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
    tmp_path_factory, body, signature, content_type
):
    client = _app(tmp_path_factory).test_client()
    headers = {"Content-Type": content_type}
    try:
        headers["X-Jaas-Signature"] = signature.encode("latin-1").decode("latin-1")
    except UnicodeEncodeError:
        pass
    response = client.post("/webhooks/jaas/acme", data=body, headers=headers)
    assert response.status_code in (200, 401, 415), response.get_json()
