"""The read API over HTTP: JWT failures with reasons, account limits, the same JSON as the CLI."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from click.testing import CliRunner

from meterwise.config.settings import parse_settings
from meterwise.receiver.auth import mint
from meterwise.receiver.cli import cli
from meterwise.receiver.testing import Meeting
from meterwise.reconciler.reconcile import compute_report
from meterwise.reconciler.report import report_to_dict
from meterwise.storage import open_storage
from tests.conftest import SECOND_SECRET, LiveServer, base_config, config_like, storage_toml

ENGINES = ("sqlite", "postgresql")  # the tests using `settings`/`live` run on both engines

JWT_SECRET = "test-jwt-secret-0123456789abcdef0123"
START = datetime(2026, 3, 8, tzinfo=UTC)


def api_config(db_path, **extra):
    doc = base_config(db_path)
    doc["accounts"].append({**doc["accounts"][0], "id": "other"})
    doc["api"] = {"jwt_secret": "env:MW_JWT"}
    doc.update(extra)
    return doc


@pytest.fixture
def api(settings, clock):
    env = {"ACME_WHSEC_2": SECOND_SECRET, "MW_JWT": JWT_SECRET}
    doc = api_config(settings.storage_path)
    doc["storage"] = config_like(settings)["storage"]  # the engine under test
    server = LiveServer(parse_settings(doc, env, "t"), clock)
    server.thread.start()
    meeting = Meeting("m1", int((START + timedelta(days=1)).timestamp() * 1000))
    for i in range(3):
        meeting.join(f"dev-{i}", "alice" if i == 0 else None, moderator=i == 0, name="Alice")
    for doc in meeting.events:  # webhooks need no JWT: they have their signatures
        assert server.send(doc).status_code == 200
    yield server
    server.server.shutdown()


def get(live, path, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return live.session.get(live.url + path, headers=headers, params=params, timeout=30)


def token(**claims):
    body = {"aud": "meterwise", "exp": int(time.time()) + 600, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, JWT_SECRET, "HS256")


@pytest.mark.parametrize(
    "bad,reason",
    [
        (None, "token_missing"),
        ("not-a-jwt", "token_malformed"),
        (token(exp=int(time.time()) - 10), "token_expired"),
        (token(aud="someone-else"), "token_wrong_audience"),
        (token(exp=None), "token_missing_claim"),
        (token(aud=None), "token_missing_claim"),
        (
            jwt.encode({"aud": "meterwise", "exp": 2**40}, "another-secret-" + "x" * 24, "HS256"),
            "token_bad_signature",
        ),
        (
            jwt.encode({"aud": "meterwise", "exp": 2**40}, JWT_SECRET + "x" * 40, "HS512"),
            "token_bad_algorithm",
        ),
        (token(accounts="acme"), "token_invalid"),
    ],
)
def test_bad_tokens_get_401_with_the_reason(api, bad, reason):
    for path in ("/api/accounts", "/api/accounts/acme/report", "/reports/acme"):
        answer = get(api, path, bad)
        assert answer.status_code == 401, (path, answer.text)
        assert answer.json()["error"] == reason
        assert answer.headers["WWW-Authenticate"] == f'Bearer error="{reason}"'


def test_a_token_limited_to_one_account_reads_only_it(api):
    limited = token(accounts=["acme"])
    listed = get(api, "/api/accounts", limited).json()["accounts"]
    assert [a["id"] for a in listed] == ["acme"]
    assert listed[0]["webhook_path"] == "/webhooks/jaas/acme"
    assert get(api, "/api/accounts/acme/checks", limited).status_code == 200
    other = get(api, "/api/accounts/other/report", limited)
    assert (other.status_code, other.json()["error"]) == (403, "account_forbidden")
    assert get(api, "/api/accounts/nobody/report", token()).status_code == 404
    full = get(api, "/api/accounts", token()).json()["accounts"]
    assert [a["id"] for a in full] == ["acme", "other"]


def test_the_report_is_the_same_json_as_the_cli(api):
    at = (START + timedelta(days=3)).isoformat()
    answer = get(
        api, "/api/accounts/acme/report", token(), cycle="2026-03-10", at=at, event_time="true"
    )
    assert answer.status_code == 200
    settings = api.settings
    expected = report_to_dict(
        compute_report(open_storage(settings), settings, "acme", START + timedelta(days=3))
    )
    assert answer.json() == expected
    assert answer.json()["metrics"]["mau"]["used"] == "3"
    checks = get(api, "/api/accounts/acme/checks", token(), at=at, event_time="true").json()
    assert {c["code"] for c in checks["checks"]} >= {"usage_missing", "silence", "duplicates"}
    assert checks["provider_figures"] is None


@pytest.mark.parametrize(
    "params",
    [{"cycle": "March"}, {"at": "yesterday"}, {"cycle": "9999-12-31"}, {"at": "0001-01-01"}],
)
def test_bad_parameters_are_400(api, params):
    answer = get(api, "/api/accounts/acme/report", token(), **params)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_parameter")


def test_the_page_takes_the_token_as_header_or_query(api):
    at = (START + timedelta(days=3)).isoformat()
    by_query = api.session.get(
        api.url + "/reports/acme",
        params={"token": token(), "at": at, "event_time": "true"},
        timeout=30,
    )
    assert by_query.status_code == 200
    assert by_query.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in by_query.headers["Content-Security-Policy"]
    assert "<svg" in by_query.text and "<script" not in by_query.text
    by_header = get(api, "/reports/acme", token(), at=at, event_time="true")
    assert by_header.text == by_query.text


def test_without_a_jwt_secret_the_api_is_503(db_path, clock):
    settings = parse_settings(base_config(db_path), {"ACME_WHSEC_2": SECOND_SECRET}, "t")
    server = LiveServer(settings, clock)
    server.thread.start()
    try:
        answer = get(server, "/api/accounts", token())
        assert (answer.status_code, answer.json()["error"]) == (503, "api_not_configured")
    finally:
        server.server.shutdown()


def test_meterwise_token_mints_what_the_api_accepts(api, tmp_path, monkeypatch):
    config = tmp_path / "meterwise.toml"
    config.write_text(
        f"[storage]\n{storage_toml(api.settings)}\n"
        '[api]\njwt_secret = "env:MW_JWT"\n'
        '[[accounts]]\nid = "acme"\nprovider = "jaas"\nplan = "jaas-basic"\n'
        'cycle_anchor = "2026-03-08"\nwebhook_secrets = ["whsec_x"]\n'
    )
    env = {"MW_JWT": JWT_SECRET}
    run = CliRunner().invoke(
        cli, ["token", "--account", "acme", "--ttl", "60", "--config", str(config)], env=env
    )
    assert run.exit_code == 0, run.output
    minted = run.output.strip()
    claims = jwt.decode(minted, JWT_SECRET, algorithms=["HS256"], audience="meterwise")
    assert claims["accounts"] == ["acme"] and 55 <= claims["exp"] - time.time() <= 60
    assert get(api, "/api/accounts/acme/report", minted).status_code == 200
    assert get(api, "/api/accounts/other/report", minted).status_code == 403
    unknown = CliRunner().invoke(
        cli, ["token", "--account", "nope", "--config", str(config)], env=env
    )
    assert unknown.exit_code == 1 and "no account 'nope'" in unknown.output
    assert mint(JWT_SECRET, [], 10, 0).count(".") == 2
