"""Signature checks against the providers' published vectors."""

from __future__ import annotations

import pytest

from meterwise.receiver.verify import (
    parse_jaas_header,
    standard_signature,
    verify_jaas,
    verify_standard,
)

VECTOR_SECRET = "whsec_9635df66714a4cf088ee9d0979dd3bf6"
VECTOR_BODY = (
    b'{"eventType":"PARTICIPANT_JOINED","sessionId":"9a441d60-ceaf-4eba-b0a8-a7d940a76e1b",'
    b'"timestamp":1632490058278,"fqn":"vpaas-magic-cookie-96f0941768964ab380ed0fbada7a502f/'
    b'sampleappromanticshiftsstripas","idempotencyKey":"9e9e7420-562d-4659-8e22-44b9b22aaa49",'
    b'"customerId":"96f0941768964ab380ed0fbada7a502f","appId":"vpaas-magic-cookie-'
    b'96f0941768964ab380ed0fbada7a502f","data":{"avatar":"","name":"Test User","id":'
    b'"auth0|5f903d7a77f3b4006eb8e67d","participantJid":"fc1ea14a-9bca-4218-a563-8c627e803d56'
    b'@8x8.vc","moderator":true,"email":"test.user@company.com"}}'
)
VECTOR_HEADER = "t=1632490060,v1=xlzqEojlh4qb21sQpXYsWgyK8x9HVpz+RQldsv18rV0="
VECTOR_NOW = 1632490062.0


def test_jaas_documentation_vector_verifies():
    assert verify_jaas(VECTOR_HEADER, VECTOR_BODY, (VECTOR_SECRET,), VECTOR_NOW, 300).ok


def test_jaas_secret_without_prefix_does_not_verify():
    verdict = verify_jaas(VECTOR_HEADER, VECTOR_BODY, (VECTOR_SECRET[6:],), VECTOR_NOW, 300)
    assert (verdict.ok, verdict.reason) == (False, "signature_mismatch")


@pytest.mark.parametrize(
    "now,ok",
    [(1632490060 + 300, True), (1632490060 + 301, False), (1632490060 - 301, False)],
    ids=["edge", "old", "future"],
)
def test_jaas_tolerance_is_inclusive_both_ways(now, ok):
    verdict = verify_jaas(VECTOR_HEADER, VECTOR_BODY, (VECTOR_SECRET,), now, 300)
    assert verdict.ok is ok
    if not ok:
        assert verdict.reason == "signature_stale"


def test_jaas_header_splits_on_first_equals_only():
    assert parse_jaas_header("t=1,v1=ab==,v0=zz=,v1=cd=") == ("1", ["ab==", "cd="])


def test_jaas_any_v1_may_match_and_other_schemes_are_ignored():
    header = "t=1632490060,v1=bogus=,v0=" + VECTOR_HEADER.split("v1=")[1]
    assert not verify_jaas(header, VECTOR_BODY, (VECTOR_SECRET,), VECTOR_NOW, 300).ok
    header = "t=1632490060,v1=bogus=," + VECTOR_HEADER.split(",")[1]
    assert verify_jaas(header, VECTOR_BODY, (VECTOR_SECRET,), VECTOR_NOW, 300).ok


@pytest.mark.parametrize(
    "header,reason",
    [
        (None, "signature_missing"),
        ("", "signature_missing"),
        ("garbage", "signature_malformed"),
        ("t=abc,v1=x", "signature_malformed"),
        ("t=1632490060", "signature_malformed"),
        ("v1=abc", "signature_malformed"),
    ],
)
def test_jaas_bad_headers_say_why(header, reason):
    assert verify_jaas(header, VECTOR_BODY, (VECTOR_SECRET,), VECTOR_NOW, 300).reason == reason


SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID, SW_TS, SW_BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", b'{"test": 2432232314}'
SW_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_standard_webhooks_vector():
    assert standard_signature(SW_SECRET, SW_ID, SW_TS, SW_BODY) == SW_SIG
    assert verify_standard(
        SW_ID, SW_TS, f"v1,bogus {SW_SIG}", SW_BODY, (SW_SECRET,), 1614265330.0
    ).ok


@pytest.mark.parametrize("header", ["v1", "v1,", "v2,abc", "", "v1,@@@"])
def test_standard_webhooks_malformed_header_is_rejected_not_raised(header):
    assert not verify_standard(SW_ID, SW_TS, header, SW_BODY, (SW_SECRET,), 1614265330.0).ok
