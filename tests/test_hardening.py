"""What broke when Meterwise was attacked or run against outside clients, over real HTTP."""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from meterwise.config.errors import ConfigError
from meterwise.config.settings import parse_settings
from meterwise.receiver.testing import envelope, signed
from tests.conftest import SECOND_SECRET, SECRET, Clock, LiveServer, base_config, storage_toml
from tests.traffic import (
    EVENTS_SECRET,
    WLL_SECRET,
    app_event,
    basic,
    cc_message,
    standard_headers,
)

ENGINES = ("sqlite", "postgresql")  # the tests using `settings`/`live` run on both engines

NOW = datetime.now(UTC)


def multi_config(db_path: Path, **receiver: object) -> dict:
    doc = base_config(db_path)
    doc["receiver"].update(receiver)
    doc["accounts"] += [
        {
            "id": "cc",
            "provider": "cometchat",
            "plan": "cometchat-1k",
            "cycle_anchor": "2026-03-01",
            "options": {"basic_auth_user": "meterwise", "basic_auth_password": "cc-pass-000001"},
        },
        {
            "id": "wl",
            "provider": "wll",
            "plan": "wll-standard",
            "cycle_anchor": "2026-03-01",
            "options": {"secret": WLL_SECRET},
        },
        {
            "id": "ev",
            "provider": "events",
            "plan": "events-standard",
            "cycle_anchor": "2026-03-01",
            "webhook_secrets": [EVENTS_SECRET],
        },
    ]
    return doc


@pytest.fixture
def multi(db_path):
    server = LiveServer(
        parse_settings(multi_config(db_path), {"ACME_WHSEC_2": SECOND_SECRET}, "t"), Clock()
    )
    server.thread.start()
    yield server
    server.server.shutdown()


def usage(device: str, ts_ms: int | None = None, key: str | None = None) -> dict:
    ts = int(time.time() * 1000) if ts_ms is None else ts_ms
    return envelope("USAGE", ts, [{"deviceId": device}], key=key)


def assert_json_4xx(response: requests.Response, status: int, code: str) -> None:
    assert (response.status_code, response.json()["error"]) == (status, code), response.text


# 1. Prometheus labels come only from configured providers.
def test_unknown_provider_names_never_become_metric_labels(live):
    names = [f"p{uuid.uuid4().hex[:12]}" for _ in range(50)]
    for name in names:
        response = live.post(f"/webhooks/{name}/acme", b"{}", {"Content-Type": "application/json"})
        assert_json_4xx(response, 404, "unknown_account")
    text = requests.get(live.url + "/metrics", timeout=5).text
    assert not [n for n in names if n in text]
    assert 'provider="other",reason="unknown_account"' in text


# 3. Non-standard JSON and out-of-range values: 4xx everywhere, never a 500.
def test_huge_integer_without_a_signature_is_a_4xx(multi):
    body = b'{"idempotencyKey": "k", "timestamp": ' + b"9" * 5000 + b"}"
    for path in ("jaas/acme", "events/ev", "cometchat/cc", "wll/wl"):
        response = multi.post(f"/webhooks/{path}", body, {"Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert response.json()["error"]
    assert multi.count() == 0


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_not_json(multi, literal):
    doc = usage("d")
    raw = json.dumps(doc).encode().replace(b'"deviceId": "d"', b'"deviceId": "d", "x": ' + literal)
    body, headers = signed(raw, SECRET, int(time.time()))
    assert_json_4xx(multi.post("/webhooks/jaas/acme", body, headers), 400, "invalid_json")
    props = b'{"user": "u", "event": "e", "timestamp": %d, "properties": {"p": %s}}' % (
        int(time.time() * 1000),
        literal,
    )
    answer = multi.post(
        "/webhooks/events/ev", props, standard_headers(props, "m1", int(time.time()))
    )
    assert_json_4xx(answer, 400, "invalid_json")
    assert multi.count() == 0


@pytest.mark.parametrize(
    "data,code",
    [
        ({"message": {"id": "m", "sender": "u", "sentAt": 1e15}}, "timestamp_out_of_range"),
        ({"message": {"id": "m", "sender": "u", "sentAt": 1e300}}, "invalid_fields"),
        ({"message": {"id": "m", "sender": "u", "sentAt": -5}}, "timestamp_out_of_range"),
    ],
)
def test_cometchat_odd_message_times_are_refused(multi, data, code):
    doc = {"trigger": "message_sent", "data": data, "webhook": "w"}
    body = json.dumps(doc).encode()
    assert_json_4xx(multi.post("/webhooks/cometchat/cc", body, basic()), 422, code)
    assert multi.count() == 0


@pytest.mark.parametrize(
    "trigger,data",
    [
        ("user_connection_status_changed", {"timestamp": 9 * 10**18, "user": {"uid": "u"}}),
        ("meeting_ended", {"sessionId": "s", "destroyed_at": 1_700_000_000, "all_occupants": 5}),
        ("after_connection_status_changed", {"user": {"uid": "u"}, "connections": 7}),
        (
            "call_ended",
            {
                "sessionId": "s",
                "destroyed_at": 1_700_000_000,
                "all_occupants": [{"joined_at": 0, "left_at": 2**62}],
            },
        ),
    ],
)
def test_cometchat_odd_shapes_are_422(multi, trigger, data):
    if trigger == "user_connection_status_changed":
        data["currentConnection"] = {"action": "connected", "platform": "web", "connectedAt": 1}
    body = json.dumps({"trigger": trigger, "data": data, "webhook": "w"}).encode()
    response = multi.post("/webhooks/cometchat/cc", body, basic())
    assert response.status_code == 422, response.text
    assert multi.count() == 0


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_extreme_years_are_refused_by_events_and_wll(multi, when):
    event = {"user": "u", "event": "e", "timestamp": when}
    body = json.dumps(event).encode()
    answer = multi.post("/webhooks/events/ev", body, standard_headers(body, "m", int(time.time())))
    assert answer.status_code == 422, answer.text
    wll = json.dumps({"type": "ORDER", "subject": "u", "reportedAt": when}).encode()
    headers = {"Content-Type": "application/json", "X-Meterwise-Secret": WLL_SECRET}
    assert multi.post("/webhooks/wll/wl", wll, headers).status_code == 422
    assert multi.count() == 0


def test_a_nan_property_cannot_break_segment_reports(multi, tmp_path):
    raw = b'{"user": "u", "event": "e", "timestamp": %d, "properties": {"plan": NaN}}' % (
        int(time.time() * 1000)
    )
    answer = multi.post("/webhooks/events/ev", raw, standard_headers(raw, "m", int(time.time())))
    assert answer.status_code == 400
    assert multi.query("SELECT count(*) FROM custom_events") == [(0,)]


# 9. Event times far in the future (or before 2000) are refused on every provider.
@pytest.mark.parametrize("year", [3000, 2099, 1999])
def test_event_times_outside_the_window_are_refused(multi, year):
    ts = int(datetime(year, 6, 1, tzinfo=UTC).timestamp() * 1000)
    assert_json_4xx(multi.send(usage("d", ts)), 422, "timestamp_out_of_range")
    event = json.dumps(app_event("u", "e", datetime(year, 6, 1, tzinfo=UTC))).encode()
    headers = standard_headers(event, f"m{year}", int(time.time()))
    assert_json_4xx(
        multi.post("/webhooks/events/ev", event, headers), 422, "timestamp_out_of_range"
    )
    sent_at = int(datetime(year, 6, 1, tzinfo=UTC).timestamp())
    message = json.dumps(cc_message(f"m{year}", "u", sent_at)).encode()
    assert_json_4xx(
        multi.post("/webhooks/cometchat/cc", message, basic()), 422, "timestamp_out_of_range"
    )
    assert multi.count() == 0


def test_late_and_slightly_early_events_stay_accepted(multi):
    month_ago = int((NOW - timedelta(days=30)).timestamp() * 1000)
    assert multi.send(usage("late", month_ago)).json()["status"] == "stored"
    hour_ahead = int((NOW + timedelta(hours=1)).timestamp() * 1000)
    assert multi.send(usage("clock-skew", hour_ahead)).json()["status"] == "stored"


def test_max_future_s_is_configurable(db_path):
    settings = parse_settings(
        multi_config(db_path, max_future_s=0), {"ACME_WHSEC_2": SECOND_SECRET}, "t"
    )
    server = LiveServer(settings, Clock())
    server.thread.start()
    try:
        # From the clock now, not the module's NOW: a slow run may be minutes past it.
        ahead = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp() * 1000)
        assert_json_4xx(server.send(usage("d", ahead)), 422, "timestamp_out_of_range")
    finally:
        server.server.shutdown()


# 5. Unsigned bodies naming a stored key: 200, counted apart; failures are rate-limited.
def test_unsigned_duplicate_is_counted_apart_and_never_as_a_duplicate(live):
    doc = usage("d", key="stored-key")
    assert live.send(doc).json()["status"] == "stored"
    changed = dict(doc, data=[{"deviceId": "other"}])
    body, headers = signed(changed, SECRET, int(time.time()))
    headers["X-Jaas-Signature"] = headers["X-Jaas-Signature"][:-4] + "AAA="
    for _ in range(3):
        assert live.post("/webhooks/jaas/acme", body, headers).json() == {"status": "duplicate"}
    reasons = dict(live.query("SELECT reason, sum(count) FROM delivery_counts GROUP BY reason"))
    assert reasons == {"duplicate_unverified": 3}
    from meterwise.reconciler.reconcile import compute_report
    from meterwise.storage import open_storage

    db = open_storage(live.settings)
    report = compute_report(db, live.settings, "acme", NOW)
    duplicates = next(c for c in report.checks if c.code == "duplicates")
    assert duplicates.count == 0


def test_failed_authentications_are_limited_per_address_and_account(db_path):
    settings = parse_settings(
        multi_config(db_path, max_auth_failures=3), {"ACME_WHSEC_2": SECOND_SECRET}, "t"
    )
    server = LiveServer(settings, Clock())
    server.thread.start()
    try:
        answers = [server.send(usage("d"), secret="whsec_wrong").status_code for _ in range(5)]
        assert answers[:3] == [401, 401, 401]
        assert answers[3:] == [429, 429]
        blocked = server.send(usage("d"))  # the address is blocked, even with a good signature
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["Retry-After"]) <= 60
        assert server.count() == 0
        failures = server.query("SELECT sum(count) FROM delivery_counts")[0][0]
        assert failures == 3  # over the limit, nothing more is written
    finally:
        server.server.shutdown()


# 6. A batch element never collides with a single event's key.
def test_batch_elements_do_not_collide_with_single_event_keys(multi):
    t = int(time.time())
    single = json.dumps(app_event("u0", "e", NOW)).encode()
    first = multi.post("/webhooks/events/ev", single, standard_headers(single, "X:0", t))
    assert first.json() == {"status": "stored", "events": 1}
    batch = json.dumps([app_event("u1", "e", NOW), app_event("u2", "e", NOW)]).encode()
    second = multi.post("/webhooks/events/ev", batch, standard_headers(batch, "X", t))
    assert second.json() == {"status": "stored", "events": 2}
    users = {u for (u,) in multi.query("SELECT user_id FROM custom_events")}
    assert users == {"u0", "u1", "u2"}


# 7, 8. The database removed, replaced or corrupted under the server; health tells.
@pytest.mark.sqlite_only  # a SQLite file's failure
def test_a_removed_database_is_503_never_acknowledged(live):
    assert live.send(usage("before")).json()["status"] == "stored"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{live.settings.storage_path}{suffix}").unlink(missing_ok=True)
    for i in range(5):
        response = live.send(usage(f"after{i}"))
        assert_json_4xx(response, 503, "storage_unavailable")
        assert response.headers["Retry-After"]
    health = requests.get(live.url + "/healthz", timeout=5)
    assert health.status_code == 503 and "removed" in health.json()["detail"]
    assert not live.settings.storage_path.exists()  # never silently recreated


@pytest.mark.sqlite_only  # a SQLite file's failure
def test_a_replaced_database_is_503(live, tmp_path):
    assert live.send(usage("before")).json()["status"] == "stored"
    other = tmp_path / "other.db"
    import sqlite3

    sqlite3.connect(other).execute("CREATE TABLE x (y)").connection.close()
    os.replace(other, live.settings.storage_path)
    assert_json_4xx(live.send(usage("after")), 503, "storage_unavailable")
    assert requests.get(live.url + "/healthz", timeout=5).status_code == 503


@pytest.mark.sqlite_only  # a SQLite file's failure
def test_a_corrupted_header_is_503(live):
    assert live.send(usage("before")).json()["status"] == "stored"
    with open(live.settings.storage_path, "r+b") as f:
        f.write(b"\0" * 100)
    for i in range(3):
        assert_json_4xx(live.send(usage(f"after{i}")), 503, "storage_unavailable")
    assert requests.get(live.url + "/healthz", timeout=5).status_code == 503


def test_healthz_is_503_when_free_space_is_below_min_free_mb(db_path):
    doc = base_config(db_path)
    doc["storage"]["min_free_mb"] = 1_000_000  # more than any test machine has free
    server = LiveServer(parse_settings(doc, {"ACME_WHSEC_2": SECOND_SECRET}, "t"), Clock())
    server.thread.start()
    try:
        health = requests.get(server.url + "/healthz", timeout=5)
        assert health.status_code == 503
        assert "min_free_mb" in health.json()["detail"]
    finally:
        server.server.shutdown()


def test_healthz_commits_a_real_write(live):
    assert requests.get(live.url + "/healthz", timeout=5).status_code == 200
    assert live.query("SELECT count(*) FROM leases WHERE name = 'healthz'") == [(1,)]


# 14. Small HTTP details.
def test_405_names_the_allowed_methods(live):
    response = requests.get(live.url + "/webhooks/jaas/acme", timeout=5)
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"].split(", ")
    assert response.json()["error"] == "method_not_allowed"


def test_answers_are_never_cached_or_referred(live):
    for path in ("/healthz", "/openapi.json", "/reports/acme?token=x"):
        response = requests.get(live.url + path, timeout=5)
        assert response.headers["Cache-Control"] == "no-store", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path


# 12. Svix's header names, and the envelope the Standard Webhooks spec recommends.
def _sign_with(package: str, body: bytes, msg_id: str) -> dict[str, str]:
    when = datetime.now(UTC)
    if package == "svix":
        from svix.webhooks import Webhook as SvixWebhook

        signature = SvixWebhook(EVENTS_SECRET).sign(msg_id, when, body.decode())
        names = ("svix-id", "svix-timestamp", "svix-signature")
    else:
        from standardwebhooks import Webhook

        signature = Webhook(EVENTS_SECRET).sign(msg_id, when, body.decode())
        names = ("webhook-id", "webhook-timestamp", "webhook-signature")
    return {
        "Content-Type": "application/json",
        names[0]: msg_id,
        names[1]: str(int(when.timestamp())),
        names[2]: signature,
    }


@pytest.mark.parametrize("package", ["svix", "standardwebhooks"])
def test_bodies_signed_by_the_reference_packages_are_stored(multi, package):
    body = json.dumps(app_event("u1", "message", NOW)).encode()
    response = multi.post("/webhooks/events/ev", body, _sign_with(package, body, f"msg_{package}"))
    assert response.json() == {"status": "stored", "events": 1}


def test_mixed_header_spellings_are_refused(multi):
    body = json.dumps(app_event("u1", "message", NOW)).encode()
    headers = _sign_with("svix", body, "msg_mixed")
    headers["webhook-id"] = "msg_other"
    assert_json_4xx(multi.post("/webhooks/events/ev", body, headers), 401, "signature_malformed")
    assert multi.count() == 0


def test_the_spec_envelope_is_accepted(multi):
    doc = {
        "type": "user.signed_in",
        "timestamp": NOW.isoformat().replace("+00:00", "Z"),
        "data": {"user_id": "alice", "plan": "pro"},
    }
    body = json.dumps(doc).encode()
    answer = multi.post("/webhooks/events/ev", body, _sign_with("standardwebhooks", body, "m_env"))
    assert answer.json() == {"status": "stored", "events": 1}
    rows = multi.query("SELECT user_id, event, properties FROM custom_events")
    assert rows == [("alice", "user.signed_in", '{"plan": "pro"}')]


def test_user_and_event_paths_are_account_options(db_path):
    doc = multi_config(db_path)
    doc["accounts"][-1]["options"] = {"user_path": "data.actor.id", "event_path": "data.action"}
    server = LiveServer(parse_settings(doc, {"ACME_WHSEC_2": SECOND_SECRET}, "t"), Clock())
    server.thread.start()
    try:
        event = {
            "type": "audit",
            "timestamp": NOW.isoformat(),
            "data": {"actor": {"id": "bob"}, "action": "export"},
        }
        body = json.dumps(event).encode()
        headers = _sign_with("svix", body, "m_paths")
        assert server.post("/webhooks/events/ev", body, headers).status_code == 200
        assert server.query("SELECT user_id, event FROM custom_events") == [("bob", "export")]
        lacking = json.dumps({"type": "audit", "timestamp": NOW.isoformat(), "data": {}}).encode()
        headers = _sign_with("svix", lacking, "m_lacking")
        answer = server.post("/webhooks/events/ev", lacking, headers)
        assert_json_4xx(answer, 422, "missing_fields")
        assert "data.actor.id" in answer.json()["detail"]
    finally:
        server.server.shutdown()


# 4. Weak Standard Webhooks secrets fail at start; what the reference library reads passes.
@pytest.mark.parametrize(
    "secret,problem",
    [
        ("whsec_", "not a Standard Webhooks secret"),
        ("whsec_!!!!", "not a Standard Webhooks secret"),
        ("whsec_AA==", "too short"),
        ("not base64 at all", "not a Standard Webhooks secret"),
    ],
)
def test_weak_standard_webhooks_secrets_fail_at_start(db_path, secret, problem):
    doc = multi_config(db_path)
    doc["accounts"][-1]["webhook_secrets"] = [secret]
    with pytest.raises(ConfigError) as info:
        parse_settings(doc, {"ACME_WHSEC_2": SECOND_SECRET}, "t")
    assert info.value.key == "accounts.ev.webhook_secrets[0]"
    assert problem in str(info.value)


def test_unpadded_base64_secrets_work_as_the_reference_library_reads_them(db_path):
    from standardwebhooks import Webhook

    unpadded = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVg"  # 22 bytes, no "=="
    doc = multi_config(db_path)
    doc["accounts"][-1]["webhook_secrets"] = [unpadded]
    server = LiveServer(parse_settings(doc, {"ACME_WHSEC_2": SECOND_SECRET}, "t"), Clock())
    server.thread.start()
    try:
        body = json.dumps(app_event("u1", "m", NOW)).encode()
        when = datetime.now(UTC)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": "m1",
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(unpadded).sign("m1", when, body.decode()),
        }
        assert server.post("/webhooks/events/ev", body, headers).status_code == 200
    finally:
        server.server.shutdown()


@pytest.mark.parametrize(
    "provider,plan,options,key",
    [
        (
            "cometchat",
            "cometchat-1k",
            {"basic_auth_user": "u", "basic_auth_password": "short"},
            "basic_auth_password",
        ),
        ("wll", "wll-standard", {"secret": "short"}, "secret"),
        ("wll", "wll-standard", {"secret": WLL_SECRET, "header_name": ""}, "header_name"),
        ("wll", "wll-standard", {"secret": WLL_SECRET, "header_name": "Bad Name"}, "header_name"),
    ],
)
def test_shared_secrets_have_a_minimum_length(db_path, provider, plan, options, key):
    doc = base_config(db_path)
    doc["accounts"] = [
        {"id": "p", "provider": provider, "plan": plan, "cycle_anchor": "2026-03-01",
         "options": options}
    ]  # fmt: skip
    with pytest.raises(ConfigError) as info:
        parse_settings(doc, {}, "t")
    assert info.value.key == f"accounts.p.options.{key}"


# 0. Metrics never make a delivery fail.
def test_a_metrics_failure_is_logged_and_the_delivery_stored(live, monkeypatch, caplog):
    from meterwise.receiver import metrics

    def broken() -> None:
        raise FileNotFoundError("histogram_123.db")

    monkeypatch.setattr(metrics, "get_metrics", broken)
    monkeypatch.setattr(metrics, "_children", {})  # no series looked up yet in this process
    response = live.send(usage("d"))
    assert response.json() == {"status": "stored", "events": 1}
    assert live.count() == 1
    assert "metrics: cannot count" in caplog.text


# 11. Config typos fail at start, naming the key.
@pytest.mark.parametrize(
    "section,values,key,problem",
    [
        ("storage", {"pth": "elsewhere.db"}, "storage.pth", "unknown key"),
        ("server", {"port": 70000}, "server.port", "between 1 and 65535"),
        ("server", {"hots": "0.0.0.0"}, "server.hots", "unknown key"),
        ("receiver", {"max_body": 5}, "receiver.max_body", "unknown key"),
        ("reconcile", {"scheduler": "false"}, "reconcile.scheduler", "true or false"),
        ("email", {"host": 25}, "email.host", "non-empty string"),
        ("email", {"host": "smtp.example", "from": "a@b\r\nBcc: x@y"}, "email.from", "line"),
        ("email", {"host": "smtp.example", "from": "nobody"}, "email.from", "email address"),
        ("storage", {"synchronous": "off"}, "storage.synchronous", "one of"),
        ("storage", {"min_free_mb": -1}, "storage.min_free_mb", ">= 0"),
    ],
)
def test_config_typos_fail_naming_the_key(db_path, section, values, key, problem):
    doc = base_config(db_path)
    doc.setdefault(section, {}).update(values)
    with pytest.raises(ConfigError) as info:
        parse_settings(doc, {"ACME_WHSEC_2": SECOND_SECRET}, "t")
    assert info.value.key == key
    assert problem in str(info.value)


def test_absurd_account_and_plan_values_fail_at_start(db_path):
    doc = base_config(db_path, signature_tolerance_s=99999999999999)
    with pytest.raises(ConfigError) as info:
        parse_settings(doc, {"ACME_WHSEC_2": SECOND_SECRET}, "t")
    assert info.value.key == "accounts.acme.signature_tolerance_s"
    doc = base_config(db_path)
    doc["plans"] = {"jaas-basic": {"price": "1e999999"}}
    with pytest.raises(ConfigError) as info:
        parse_settings(doc, {"ACME_WHSEC_2": SECOND_SECRET}, "t")
    assert info.value.key == "plans.jaas-basic.price"


def test_meterwise_check_config_refuses_a_typo(tmp_path):
    from click.testing import CliRunner

    from meterwise.receiver.cli import cli

    path = tmp_path / "m.toml"
    path.write_text('[storage]\npth = "x.db"\n')
    out = CliRunner().invoke(cli, ["check-config", "--config", str(path)])
    assert out.exit_code == 1 and "storage.pth: unknown key" in out.output


# 13. CSV cells that a spreadsheet would run are neutralised, in one place.
def test_exported_devices_cannot_inject_formulas(live, tmp_path):
    from click.testing import CliRunner

    from meterwise.receiver.cli import cli

    hostile = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "-2+3"]
    ts = int(time.time() * 1000)
    for i, device in enumerate(hostile):
        live.send(envelope("USAGE", ts + i, [{"deviceId": device, "userId": "\tuser"}]))
    config = tmp_path / "m.toml"
    config.write_text(
        f"[storage]\n{storage_toml(live.settings)}\n"
        '[[accounts]]\nid = "acme"\n'
        f'provider = "jaas"\nplan = "jaas-basic"\ncycle_anchor = "2026-03-08"\n'
        f'webhook_secrets = ["{SECRET}"]\n'
    )
    out = CliRunner().invoke(cli, ["export", "devices", "acme", "--config", str(config)])
    assert out.exit_code == 0, out.output
    import csv
    import io

    rows = list(csv.reader(io.StringIO(out.output)))[1:]
    devices = {row[0] for row in rows}
    assert devices == {"'" + d for d in hostile}
    assert all(row[3] == "'\tuser" for row in rows)
    assert all(not row[1].startswith("'") for row in rows)  # our own timestamps untouched


def test_the_csv_rule_keeps_plain_numbers():
    from meterwise.reconciler.csvout import safe_cell

    assert safe_cell("-49.50") == "-49.50"
    assert safe_cell("-1+2") == "'-1+2"
    assert safe_cell("=1") == "'=1"
    assert safe_cell("\rx") == "'\rx"
    assert safe_cell(7) == 7


# 14. A command about one account does not need another account's secrets.
def test_one_account_commands_resolve_only_their_secrets(tmp_path):
    from click.testing import CliRunner

    from meterwise.receiver.cli import cli

    config = tmp_path / "m.toml"
    config.write_text(
        f'[storage]\npath = "{tmp_path / "x.db"}"\n'
        '[[accounts]]\nid = "alerty"\nprovider = "jaas"\nplan = "jaas-basic"\n'
        f'cycle_anchor = "2026-03-08"\nwebhook_secrets = ["{SECRET}"]\n'
        '[[accounts]]\nid = "other"\nprovider = "jaas"\nplan = "jaas-basic"\n'
        'cycle_anchor = "2026-03-08"\nwebhook_secrets = ["env:UNSET_SECRET_FOR_OTHER"]\n'
    )
    env = {"UNSET_SECRET_FOR_OTHER": ""}
    runner = CliRunner()
    out = runner.invoke(cli, ["export", "devices", "alerty", "--config", str(config)], env=env)
    assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["report", "alerty", "--config", str(config)], env=env)
    assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["report", "other", "--config", str(config)], env=env)
    assert out.exit_code == 1 and "UNSET_SECRET_FOR_OTHER is not set" in out.output
    out = runner.invoke(cli, ["check-config", "--config", str(config)], env=env)
    assert out.exit_code == 1  # serve and check-config need every account


# 14. Dates in the account's time zone; one percentage rule.
def test_emails_show_the_cycle_in_the_account_time_zone(db_path, smtp, clock):
    from meterwise.reconciler.job import run_reconciliation
    from meterwise.reconciler.mailer import SmtpMailer
    from meterwise.storage import connect

    doc = base_config(
        db_path,
        cycle_anchor="2026-11-08",
        timezone="Europe/Berlin",
        alert_emails=["ops@example.com"],
    )
    doc["email"] = {"host": "127.0.0.1", "port": smtp.port, "from": "mw@example.com"}
    settings = parse_settings(doc, {"ACME_WHSEC_2": SECOND_SECRET}, "t")
    server = LiveServer(settings, clock)
    server.thread.start()
    try:
        start = datetime(2026, 11, 7, 23, 0, tzinfo=UTC)  # Nov 8 00:00 in Berlin
        clock.fixed = (start + timedelta(days=1)).timestamp()
        for i in range(299):  # 299 of 300: 99.67%, which is "99%" under the one rule
            ts = int((start + timedelta(hours=2, seconds=i)).timestamp() * 1000)
            assert server.send(usage(f"d{i}", ts), t=int(clock.fixed)).status_code == 200
        db = connect(settings.storage_path)
        now = start + timedelta(days=1)
        run_reconciliation(db, settings, SmtpMailer(settings.email), now)
        subject = smtp.messages[-1][1]["Subject"]
        assert "MAU 99% of 300" in subject, subject
        text = smtp.messages[-1][1].get_body(("plain",)).get_content()
        assert "cycle Nov 8 to Dec 8" in text, text
        run_reconciliation(db, settings, SmtpMailer(settings.email), start + timedelta(days=31))
        subjects = [m["Subject"] for _, m in smtp.messages]
        assert any("cycle Nov 8 to Dec 8 closed" in s for s in subjects), subjects
    finally:
        server.server.shutdown()


def test_the_percentage_rule_rounds_down_everywhere():
    from decimal import Decimal

    from meterwise.reconciler.display import percent

    assert percent(Decimal("299"), 300) == 99
    assert percent(300, 300) == 100
    assert percent(Decimal("0.5"), 1000) == 0


def test_a_nan_property_stored_by_release_0_1_does_not_break_segments(multi):
    from meterwise.storage import connect

    body = json.dumps(app_event("u1", "m", NOW, plan="pro")).encode()
    assert multi.post("/webhooks/events/ev", body, standard_headers(body, "m1", int(time.time())))
    db = connect(multi.settings.storage_path)
    db.conn.execute("UPDATE custom_events SET properties = '{\"plan\": NaN}'")  # as 0.1 stored
    start = int((NOW - timedelta(days=1)).timestamp() * 1000)
    end = int((NOW + timedelta(days=1)).timestamp() * 1000)
    assert db.segments("ev", start, end, "plan") == {"(none)": 1}


def test_an_absurd_recording_duration_is_refused(live):
    doc = envelope("RECORDING_UPLOADED", int(time.time() * 1000), {"durationSec": 2**62})
    assert_json_4xx(live.send(doc), 422, "invalid_fields")
    assert live.count() == 0
