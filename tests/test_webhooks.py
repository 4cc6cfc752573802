"""The JaaS endpoint over real HTTP with a real SQLite file."""

from __future__ import annotations

import json
import threading
import time

import pytest

from meterwise.receiver.testing import APP_ID, CUSTOMER_ID, envelope, signed
from tests.conftest import SECOND_SECRET, SECRET
from tests.test_verify import VECTOR_BODY, VECTOR_HEADER, VECTOR_SECRET

ENGINES = ("sqlite", "postgresql")  # the tests using `settings`/`live` run on both engines

NOW_MS = int(time.time() * 1000)


def usage(*devices, ts=NOW_MS, key=None, session="s1"):
    data = [
        {
            "customerId": CUSTOMER_ID,
            "deviceId": d,
            "userId": None,
            "email": None,
            "kid": f"{APP_ID}/k",
        }
        for d in devices
    ]
    return envelope("USAGE", ts, data, key=key, session_id=session)


def test_documentation_vector_is_stored_over_http(live, clock, settings):
    from meterwise.config.settings import parse_settings
    from tests.conftest import config_like

    clock.fixed = 1632490062.0
    live.app.config["SETTINGS"] = parse_settings(
        config_like(
            settings,
            webhook_secrets=[VECTOR_SECRET],
            app_id="vpaas-magic-cookie-96f0941768964ab380ed0fbada7a502f",
        ),
        {},
        "t",
    )
    headers = {"Content-Type": "application/json", "X-Jaas-Signature": VECTOR_HEADER}
    response = live.post("/webhooks/jaas/acme", VECTOR_BODY, headers)
    assert (response.status_code, response.json()) == (200, {"status": "stored", "events": 1})
    assert live.query("SELECT body FROM events")[0][0] == VECTOR_BODY
    assert live.query("SELECT user_id, moderator, email FROM participants") == [
        ("auth0|5f903d7a77f3b4006eb8e67d", 1, "test.user@company.com")
    ]


def test_envelope_columns_are_stored(live):
    doc = usage("dev-1", key="key-1")
    assert live.send(doc).status_code == 200
    row = live.query(
        "SELECT account, provider, idempotency_key, event_type, session_id, ts_ms,"
        " fqn, app_id, received_at_ms FROM events"
    )[0]
    assert row[:8] == ("acme", "jaas", "key-1", "USAGE", "s1", NOW_MS, doc["fqn"], APP_ID)
    assert abs(row[8] - time.time() * 1000) < 60_000


def test_second_secret_matches_during_rotation(live):
    assert live.send(usage("d"), secret=SECOND_SECRET).json() == {"status": "stored", "events": 1}


def test_bogus_v1_alongside_good_one_is_accepted(live):
    body, headers = signed(usage("d"), SECRET, int(time.time()))
    headers["X-Jaas-Signature"] = headers["X-Jaas-Signature"].replace(",v1=", ",v1=AAAA=,v1=")
    assert live.post("/webhooks/jaas/acme", body, headers).status_code == 200


@pytest.mark.parametrize("offset", [-301, 301], ids=["stale", "future"])
def test_timestamp_outside_tolerance_is_401_and_says_so(live, offset):
    response = live.send(usage("d"), t=int(time.time()) + offset)
    assert response.status_code == 401
    assert response.json()["error"] == "signature_stale"
    assert "tolerance is 300 s" in response.json()["detail"]
    assert live.count() == 0


def test_tampered_body_is_rejected(live):
    body, headers = signed(usage("d"), SECRET, int(time.time()))
    tampered = body.replace(b'"d"', b'"e"')
    response = live.post("/webhooks/jaas/acme", tampered, headers)
    assert (response.status_code, response.json()["error"]) == (401, "signature_mismatch")
    assert live.count() == 0


def test_wrong_secret_is_rejected(live):
    response = live.send(usage("d"), secret="whsec_wrong")
    assert (response.status_code, response.json()["error"]) == (401, "signature_mismatch")


def _raw(live, body, headers, path="/webhooks/jaas/acme", method="POST"):
    return live.session.request(method, live.url + path, data=body, headers=headers, timeout=10)


def _signed_raw(body: bytes):
    return signed(body, SECRET, int(time.time()))


BAD_INPUTS = {
    "not_json": (lambda: _signed_raw(b"{nope"), 400, "invalid_json"),
    "not_utf8": (lambda: _signed_raw(b"\xff\xfe"), 400, "invalid_json"),
    "array": (lambda: _signed_raw(b"[1, 2]"), 422, "not_an_object"),
    "missing_fields": (lambda: _signed_raw(b'{"eventType": "USAGE"}'), 422, "missing_fields"),
    "no_app_or_customer": (
        lambda: signed(
            {k: v for k, v in usage("d").items() if k not in ("appId", "customerId")},
            SECRET,
            int(time.time()),
        ),
        422,
        "missing_fields",
    ),
    "seconds_timestamp": (
        lambda: signed(usage("d", ts=1632490058), SECRET, int(time.time())),
        422,
        "timestamp_out_of_range",
    ),
    "usage_without_device": (
        lambda: signed(envelope("USAGE", NOW_MS, [{"userId": "u"}]), SECRET, int(time.time())),
        422,
        "invalid_fields",
    ),
    "usage_data_object": (
        lambda: signed(envelope("USAGE", NOW_MS, {"deviceId": "x"}), SECRET, int(time.time())),
        422,
        "invalid_fields",
    ),
    "other_app": (
        lambda: signed(
            envelope("USAGE", NOW_MS, [], app_id="vpaas-magic-cookie-x"), SECRET, int(time.time())
        ),
        422,
        "app_id_mismatch",
    ),
    "no_signature": (
        lambda: (json.dumps(usage("d")).encode(), {"Content-Type": "application/json"}),
        401,
        "signature_missing",
    ),
    "garbled_signature": (
        lambda: (
            json.dumps(usage("d")).encode(),
            {"Content-Type": "application/json", "X-Jaas-Signature": "v1"},
        ),
        401,
        "signature_malformed",
    ),
    "wrong_content_type": (
        lambda: (lambda b, h: (b, {**h, "Content-Type": "text/plain"}))(
            *_signed_raw(json.dumps(usage("d")).encode())
        ),
        415,
        "unsupported_media_type",
    ),
    "too_large": (lambda: _signed_raw(b'{"x": "' + b"a" * 70000 + b'"}'), 413, "body_too_large"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gets_its_own_status_and_changes_nothing(live, case):
    build, status, code = BAD_INPUTS[case]
    body, headers = build()
    response = _raw(live, body, headers)
    assert response.status_code == status
    assert response.json()["error"] == code
    assert response.json()["detail"]
    assert live.count() == 0 and live.count("usage_devices") == 0
    assert live.query("SELECT reason, count FROM delivery_counts") == [(code, 1)]


def test_missing_fields_are_named(live):
    body, headers = _signed_raw(b'{"eventType": "USAGE", "timestamp": 1}')
    detail = _raw(live, body, headers).json()["detail"]
    assert "idempotencyKey" in detail and "sessionId" in detail and "appId or customerId" in detail


def test_unknown_account_is_404(live):
    response = live.send(usage("d"), account="nobody")
    assert (response.status_code, response.json()["error"]) == (404, "unknown_account")
    assert live.count() == 0


def test_wrong_method_is_405_json(live):
    response = _raw(live, b"", {}, method="GET")
    assert (response.status_code, response.json()["error"]) == (405, "method_not_allowed")


def test_app_id_is_derived_from_customer_id_when_absent(live):
    doc = usage("d")
    del doc["appId"]
    assert live.send(doc).status_code == 200
    assert live.query("SELECT app_id FROM events") == [(APP_ID,)]


def test_duplicate_is_stored_once_and_answered_200(live):
    doc = usage("d1", "d2", key="same")
    first, second = live.send(doc), live.send(doc)
    assert first.json() == {"status": "stored", "events": 1}
    assert (second.status_code, second.json()) == (200, {"status": "duplicate"})
    assert (live.count(), live.count("usage_devices"), live.count("entity_first_seen")) == (1, 2, 2)
    assert live.query("SELECT reason, count FROM delivery_counts") == [("duplicate", 1)]


def test_changed_body_under_old_signature_for_stored_key_is_a_duplicate(live):
    doc = usage("d1", key="k-resent")
    body, headers = signed(doc, SECRET, int(time.time()))
    assert live.post("/webhooks/jaas/acme", body, headers).status_code == 200
    changed = json.dumps({**doc, "data": [{"deviceId": "other"}]}).encode()
    response = live.post("/webhooks/jaas/acme", changed, headers)
    assert (response.status_code, response.json()) == (200, {"status": "duplicate"})
    assert live.query("SELECT body FROM events") == [(body,)]
    assert live.query("SELECT device_id FROM usage_devices") == [("d1",)]


def test_bad_signature_for_unknown_key_stays_401(live):
    body = json.dumps(usage("d1", key="never-seen")).encode()
    response = _raw(
        live, body, {"Content-Type": "application/json", "X-Jaas-Signature": "t=1,v1=AAAA"}
    )
    assert response.status_code == 401


def test_out_of_order_arrival_keeps_the_earliest_sighting(live):
    late = usage("dev", ts=NOW_MS + 60_000, session="later-meeting")
    early = usage("dev", ts=NOW_MS, session="first-meeting")
    assert live.send(late).status_code == live.send(early).status_code == 200
    assert live.query("SELECT first_ts_ms, session_id FROM entity_first_seen") == [
        (NOW_MS, "first-meeting")
    ]


def test_same_key_posted_concurrently_is_stored_once(live):
    body, headers = signed(usage("d1", "d2", key="race"), SECRET, int(time.time()))
    results: list[tuple[int, str]] = []
    barrier = threading.Barrier(8)

    def post():
        import requests

        barrier.wait()
        r = requests.post(live.url + "/webhooks/jaas/acme", data=body, headers=headers, timeout=30)
        results.append((r.status_code, r.json()["status"]))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [(200, "duplicate")] * 7 + [(200, "stored")]
    assert (live.count(), live.count("usage_devices")) == (1, 2)


def test_unknown_event_type_is_stored_raw(live):
    response = live.send(envelope("SOMETHING_NEW", NOW_MS, {"x": 1}))
    assert response.json() == {"status": "stored", "events": 1}
    assert live.query("SELECT event_type FROM events") == [("SOMETHING_NEW",)]
    assert (
        sum(
            live.count(t)
            for t in ("usage_devices", "participants", "recordings", "uploads", "rooms", "calls")
        )
        == 0
    )


def test_each_billing_relevant_event_is_normalized(live):
    s = {"session_id": "m1"}
    docs = [
        envelope(
            "RECORDING_UPLOADED",
            NOW_MS,
            {
                "durationSec": 125,
                "startTimestamp": NOW_MS - 125_000,
                "endTimestamp": NOW_MS,
                "recordingSessionId": "r1",
                "initiatorId": "u1",
                "preAuthenticatedLink": "https://x/r.mp4",
                "participants": [],
            },
            **s,
        ),
        envelope("RECORDING_STARTED", NOW_MS - 125_000, {"conference": "c"}, **s),
        envelope("TRANSCRIPTION_UPLOADED", NOW_MS, {"preAuthenticatedLink": "https://x/t"}, **s),
        envelope("CHAT_UPLOADED", NOW_MS, {"preAuthenticatedLink": "https://x/c"}, **s),
        envelope(
            "PARTICIPANT_LEFT_LOBBY",
            NOW_MS,
            {"id": "u2", "moderator": "false", "disconnectReason": "kicked"},
            **s,
        ),
        envelope("ROOM_CREATED", NOW_MS, {"conference": "c@x", "isBreakout": False}, **s),
        envelope(
            "DIAL_OUT_STARTED",
            NOW_MS,
            {"participantId": "p1", "nick": "+1555", "direction": "out"},
            **s,
        ),
        envelope("SIP_CALL_IN_ENDED", NOW_MS, {"participantId": "p2"}, **s),
        envelope("LIVE_STREAM_ENDED", NOW_MS, {"conference": "c"}, app_id=None, **s),
    ]
    for doc in docs:
        assert live.send(doc).status_code == 200, doc["eventType"]
    assert live.query(
        "SELECT event_type, duration_sec, recording_session_id, initiator_id, link"
        " FROM recordings ORDER BY ts_ms DESC"
    ) == [
        ("RECORDING_UPLOADED", 125, "r1", "u1", "https://x/r.mp4"),
        ("RECORDING_STARTED", None, None, None, None),
    ]
    assert live.query("SELECT event_type, link FROM uploads ORDER BY event_type") == [
        ("CHAT_UPLOADED", "https://x/c"),
        ("TRANSCRIPTION_UPLOADED", "https://x/t"),
    ]
    assert live.query("SELECT lobby, joined, moderator, disconnect_reason FROM participants") == [
        (1, 0, 0, "kicked")
    ]
    assert live.query("SELECT event_type, conference, is_breakout FROM rooms") == [
        ("ROOM_CREATED", "c@x", 0)
    ]
    assert live.query("SELECT kind, phase, participant_id, nick FROM calls ORDER BY kind") == [
        ("dial_out", "started", "p1", "+1555"),
        ("sip_in", "ended", "p2", None),
        ("streaming", "ended", None, None),
    ]


def test_healthz_is_200_when_writable(live):
    assert live.session.get(live.url + "/healthz").json() == {"status": "ok"}


def test_healthz_is_503_when_database_cannot_be_opened(tmp_path, clock):
    from meterwise.config.settings import parse_settings
    from tests.conftest import LiveServer, base_config

    (tmp_path / "file").write_text("not a directory")
    bad = parse_settings(base_config(tmp_path / "file" / "db.sqlite"), {"ACME_WHSEC_2": "x"}, "t")
    server = LiveServer(bad, clock)
    server.thread.start()
    try:
        response = server.session.get(server.url + "/healthz")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
    finally:
        server.server.shutdown()


def test_metrics_count_outcomes_by_reason(live):
    live.send(usage("d", key="m1"))
    live.send(usage("d", key="m1"))
    live.send(usage("d"), secret="whsec_wrong")
    text = live.session.get(live.url + "/metrics").text

    def value(name: str) -> float:
        line = next(
            ln
            for ln in text.splitlines()
            if ln.startswith(name + " ") or ln.startswith(name + "{") and not ln.startswith("#")
        )
        return float(line.rsplit(" ", 1)[1])

    # The registry is process-wide, so compare with at least what this test sent.
    assert value('meterwise_webhooks_stored_total{provider="jaas"}') >= 1
    assert value('meterwise_webhooks_duplicate_total{provider="jaas"}') >= 1
    assert (
        value('meterwise_webhooks_rejected_total{provider="jaas",reason="signature_mismatch"}') >= 1
    )
    assert "meterwise_webhook_seconds_bucket" in text


def test_the_intake_answers_as_the_flask_view_would(tmp_path):
    """`WebhookIntake` answers POSTs before Flask's dispatch; the route's Flask view runs
    the same intake. Both give the same status, body and headers for every kind of answer."""
    from flask import Flask

    from meterwise.config.settings import parse_settings
    from meterwise.receiver import create_app
    from meterwise.receiver.verify import jaas_signature
    from tests.conftest import base_config

    t = str(int(time.time()))
    body, headers = signed(usage("dev-1", key="same"), SECRET, int(t))
    json_type = {"Content-Type": "application/json"}
    cases = [
        (body, headers),  # stored
        (body, headers),  # duplicate
        (body, {**headers, "X-Jaas-Signature": "t=1,v1=bad"}),  # known key, unsigned
        (b"{}", {**headers, "X-Jaas-Signature": "t=1,v1=bad"}),  # 401
        (body, {**headers, "Content-Type": "text/plain"}),  # 415
        (b"x" * 2_000_000, json_type),  # 413
        (b"[", {**json_type, "X-Jaas-Signature": f"t={t},v1={jaas_signature(SECRET, t, b'[')}"}),
    ]
    answers = {}
    for way in ("intake", "flask view"):
        env = {"ACME_WHSEC_2": SECOND_SECRET}
        app = create_app(parse_settings(base_config(tmp_path / f"{way}.db"), env, "t"))
        if way == "flask view":  # Flask's own dispatch, without the layer in front
            app.wsgi_app = Flask.wsgi_app.__get__(app)  # type: ignore[method-assign]
        client = app.test_client()
        got = []
        for data, sent in cases + [(body, headers)]:
            for path in ("/webhooks/jaas/acme", "/webhooks/jaas/nobody"):
                r = client.post(path, data=data, headers=sent)
                kept = {k: v for k, v in r.headers.items() if k != "Content-Length"}
                got.append((r.status_code, r.get_json(), kept))
        answers[way] = got
    assert answers["intake"] == answers["flask view"]
    statuses = {status for status, _, _ in answers["intake"]}
    assert {200, 401, 404, 413, 415} <= statuses
