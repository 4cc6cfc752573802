"""The dashboard over HTTP: sign-in, sessions, CSRF, the failure limit, who sees what, the
overview's rows and order, the account page, downloads, and the config that turns it on."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
import requests
from werkzeug.security import check_password_hash

from meterwise.config.errors import ConfigError
from meterwise.config.settings import parse_settings
from meterwise.reconciler.job import run_reconciliation
from meterwise.reconciler.mailer import SmtpMailer
from meterwise.storage import open_storage
from tests.conftest import LiveServer
from tests.dashboard_site import NOW, PASSWORDS, csrf_of, sign_in, site_config, start_site

ENGINES = ("sqlite", "postgresql")  # every test using storage runs on both engines


@pytest.fixture
def site(store_at, clock):
    live = start_site(store_at, clock)
    yield live
    live.server.shutdown()


def test_without_users_or_a_key_the_dashboard_says_how_to_turn_it_on(live):
    for path in ("/", "/login"):
        page = requests.get(live.url + path, timeout=30)
        assert page.status_code == 200
        assert "The dashboard is off" in page.text and "secret_key" in page.text
        assert "[[users]]" in page.text and "meterwise user hash" in page.text
    assert requests.get(live.url + "/accounts/acme", timeout=30).status_code == 200  # off page


def test_every_page_redirects_to_sign_in_without_a_session(site):
    for path, target in (
        ("/", "/login?next=%2F"),
        ("/accounts/acme", "/login?next=%2Faccounts%2Facme"),
        ("/accounts/acme/report.csv", "/login?next=%2Faccounts%2Facme%2Freport.csv"),
        ("/accounts/nope", "/login?next=%2Faccounts%2Fnope"),  # nothing revealed before sign-in
    ):
        answer = requests.get(site.url + path, allow_redirects=False, timeout=30)
        assert answer.status_code == 303 and answer.headers["Location"] == target, path
    forged = requests.get(
        site.url + "/", cookies={"meterwise_session": "x.y"}, allow_redirects=False, timeout=30
    )
    assert forged.status_code == 303


def test_sign_in_sets_a_safe_cookie_and_goes_to_the_requested_page(site):
    session, answer = sign_in(site, "finance", PASSWORDS["finance"], "/accounts/chat")
    assert answer.status_code == 303 and answer.headers["Location"] == "/accounts/chat"
    cookie = next(c for c in answer.raw.headers.getlist("Set-Cookie") if "meterwise_session" in c)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = session.get(site.url + "/accounts/chat", timeout=30)
    assert (
        page.status_code == 200 and "default-src 'none'" in page.headers["Content-Security-Policy"]
    )
    assert "chat" in page.text and 'id="download-csv"' in page.text


def test_the_cookie_is_secure_when_people_reach_the_service_over_https(store_at, clock):
    live = start_site(store_at, clock, public_url="https://meterwise.example")
    try:
        form = requests.get(live.url + "/login", timeout=30)
        assert "Secure" in form.headers["Set-Cookie"]
        answer = requests.post(  # a client over http would not send a Secure cookie back
            live.url + "/login",
            data={
                "name": "finance",
                "password": PASSWORDS["finance"],
                "csrf_token": csrf_of(form.text),
            },
            cookies={"meterwise_csrf": form.cookies["meterwise_csrf"]},
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 303
        cookie = answer.headers["Set-Cookie"]
        assert "meterwise_session" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    finally:
        live.server.shutdown()


def test_a_wrong_password_answers_401_with_the_form_and_sets_no_session(site):
    session, answer = sign_in(site, "finance", "not-the-password")
    assert answer.status_code == 401
    assert "Wrong name or password." in answer.text and 'id="login"' in answer.text
    assert "meterwise_session" not in answer.headers.get("Set-Cookie", "")
    assert session.get(site.url + "/", allow_redirects=False, timeout=30).status_code == 303
    _, unknown = sign_in(site, "nobody", "whatever-it-is")
    assert unknown.status_code == 401 and "Wrong name or password." in unknown.text


def test_five_failures_within_15_minutes_answer_429_with_retry_after(site, clock):
    for _ in range(5):
        assert sign_in(site, "finance", "wrong-password")[1].status_code == 401
    session, answer = sign_in(site, "finance", PASSWORDS["finance"])  # even the right one
    assert answer.status_code == 429
    assert 1 <= int(answer.headers["Retry-After"]) <= 15 * 60
    assert "Too many failed sign-ins" in answer.text
    assert session.get(site.url + "/", allow_redirects=False, timeout=30).status_code == 303
    # The address is limited too: another name from the same address waits as well.
    assert sign_in(site, "ops", PASSWORDS["ops"])[1].status_code == 429
    clock.fixed = NOW.timestamp() + 15 * 60 + 1  # the window has passed
    assert sign_in(site, "finance", PASSWORDS["finance"])[1].status_code == 303


def test_csrf_is_checked_on_sign_in_and_sign_out(site):
    plain = requests.Session()
    plain.get(site.url + "/login", timeout=30)
    for data in (
        {"name": "finance", "password": PASSWORDS["finance"]},
        {"name": "finance", "password": PASSWORDS["finance"], "csrf_token": "0" * 64},
    ):
        answer = plain.post(site.url + "/login", data=data, allow_redirects=False, timeout=30)
        assert answer.status_code == 400 and answer.json()["error"] == "csrf_failed"
    # A token from one browser's form does not work with another browser's cookie.
    other = requests.Session()
    token = csrf_of(other.get(site.url + "/login", timeout=30).text)
    stolen = requests.post(
        site.url + "/login",
        data={"name": "finance", "password": PASSWORDS["finance"], "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert stolen.status_code == 400

    session, answer = sign_in(site, "finance", PASSWORDS["finance"])
    assert answer.status_code == 303
    refused = session.post(site.url + "/logout", allow_redirects=False, timeout=30)
    assert refused.status_code == 400
    assert session.get(site.url + "/", allow_redirects=False, timeout=30).status_code == 200
    token = csrf_of(session.get(site.url + "/", timeout=30).text)
    cookie = session.cookies.get("meterwise_session")
    out = session.post(
        site.url + "/logout", data={"csrf_token": token}, allow_redirects=False, timeout=30
    )
    assert out.status_code == 303 and out.headers["Location"] == "/login"
    # The session ended on the server: the old cookie, replayed, signs nobody in.
    replay = requests.get(
        site.url + "/", cookies={"meterwise_session": cookie}, allow_redirects=False, timeout=30
    )
    assert replay.status_code == 303


def test_next_only_accepts_local_paths(site):
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"):
        _, answer = sign_in(site, "finance", PASSWORDS["finance"], target)
        assert answer.status_code == 303 and answer.headers["Location"] == "/", target


def test_a_user_sees_only_their_accounts_and_others_answer_404(site):
    ops, _ = sign_in(site, "ops", PASSWORDS["ops"])
    overview = ops.get(site.url + "/", timeout=30)
    assert 'id="row-acme"' in overview.text and 'id="row-chat"' not in overview.text
    hidden = ops.get(site.url + "/accounts/chat", timeout=30)
    missing = ops.get(site.url + "/accounts/no-such-account", timeout=30)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()  # the same answer: nothing says "chat" exists
    for suffix in ("/report.json", "/report.csv"):
        assert ops.get(site.url + "/accounts/chat" + suffix, timeout=30).status_code == 404


def test_the_overview_shows_each_account_and_puts_attention_first(site):
    finance, _ = sign_in(site, "finance", PASSWORDS["finance"])
    page = finance.get(site.url + "/", timeout=30).text
    acme, chat = page.index('id="row-acme"'), page.index('id="row-chat"')
    assert acme < chat  # 18 of 20 and projected to cross comes before a quiet account
    row = page[acme:chat]
    assert "18 / 20" in row and "projected to cross" in row and "jaas" in row
    assert "+$40.59" in row  # 61 forecast - 20 = 41 x $0.99, as the report page says
    assert "$99.00" in row
    assert "2026-03-17 12:00" in row and "never" not in row  # the last webhook's receipt
    chat_row = page[chat : page.index("</tr>", chat)]
    assert "cometchat" in chat_row and "12 / 1000" in chat_row


def test_the_account_page_lists_this_cycles_alerts_and_their_delivery(site, store_at, smtp):
    finance, _ = sign_in(site, "finance", PASSWORDS["finance"])
    page = finance.get(site.url + "/accounts/acme", timeout=30).text
    assert "No alert has fired this cycle." in page and 'class="burnup' in page
    doc = site_config(store_at, public_url="https://mw.example")
    doc["email"] = {"host": "127.0.0.1", "port": smtp.port}
    settings = parse_settings(doc, {"ACME_WHSEC_2": "x" * 32, "CC_PASSWORD": "p" * 12}, "t")
    store = open_storage(settings)
    run_reconciliation(store, settings, SmtpMailer(settings.email), NOW, accounts=["acme"])
    store.close()
    page = finance.get(site.url + "/accounts/acme", timeout=30).text
    table = page[page.index('id="messages"') :]
    assert "[Meterwise] acme" in table and "sent" in table and "mau" in table
    body = smtp.messages[0][1].get_body(("plain",)).get_content()
    assert "The account's page: https://mw.example/accounts/acme" in body


def test_downloads_are_the_report_as_json_and_csv(site):
    finance, _ = sign_in(site, "finance", PASSWORDS["finance"])
    data = finance.get(site.url + "/accounts/acme/report.json", timeout=30)
    assert data.status_code == 200 and "attachment" in data.headers["Content-Disposition"]
    assert data.json()["account"] == "acme" and data.json()["metrics"]["mau"]["used"] == "18"
    csv = finance.get(site.url + "/accounts/acme/report.csv", timeout=30)
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert "mau" in csv.text


def test_user_hash_reads_standard_input_and_prints_a_hash_that_verifies():
    run = [sys.executable, "-m", "meterwise.receiver", "user", "hash"]
    done = subprocess.run(run, input="s3cret-enough\n", capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    hashed = done.stdout.strip()
    assert hashed.startswith("scrypt:") and check_password_hash(hashed, "s3cret-enough")
    short = subprocess.run(run, input="short\n", capture_output=True, text=True)
    assert short.returncode == 1 and "at least 8 characters" in short.stderr


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d["users"][0].update(accounts=["nope"]), "users.finance.accounts"),
        (lambda d: d["users"][0].update(password_hash="plain"), "users.finance.password_hash"),
        (lambda d: d["users"][0].update(role="admin"), "users[0].role"),
        (lambda d: d["users"].append(dict(d["users"][0])), "users.finance.name"),
        (lambda d: d["server"].update(secret_key="short"), "server.secret_key"),
        (lambda d: d["server"].update(public_url="ftp://x"), "server.public_url"),
        (
            lambda d: d["server"].update(forwarded_allow_ips="10.0.0.1, nope"),
            "server.forwarded_allow_ips",
        ),
    ],
)
def test_bad_dashboard_config_fails_naming_the_key(db_path, change, key):
    doc = site_config(db_path)
    change(doc)
    with pytest.raises(ConfigError) as caught:
        parse_settings(doc, {"ACME_WHSEC_2": "x" * 32, "CC_PASSWORD": "p" * 12}, "t")
    assert caught.value.key == key


def test_a_password_hash_may_come_from_the_environment(db_path):
    doc = site_config(db_path)
    hashed = doc["users"][0]["password_hash"]
    doc["users"][0]["password_hash"] = "env:FINANCE_HASH"
    environ = {"ACME_WHSEC_2": "x" * 32, "CC_PASSWORD": "p" * 12, "FINANCE_HASH": hashed}
    settings = parse_settings(doc, environ, "t")
    assert settings.users[0].password_hash == hashed and settings.dashboard_on


def test_the_session_survives_a_second_app_on_the_same_database(site, clock):
    """Sessions live in the database: another process (host) serving the same file knows
    them, and a sign-out on one ends them on the other."""
    finance, _ = sign_in(site, "finance", PASSWORDS["finance"])
    other = LiveServer(site.settings, clock)
    other.thread.start()
    try:
        cookie = {"meterwise_session": finance.cookies.get("meterwise_session")}
        seen = requests.get(other.url + "/", cookies=cookie, allow_redirects=False, timeout=30)
        assert seen.status_code == 200
        token = csrf_of(seen.text)
        requests.post(other.url + "/logout", cookies=cookie, data={"csrf_token": token}, timeout=30)
        assert finance.get(site.url + "/", allow_redirects=False, timeout=30).status_code == 303
    finally:
        other.server.shutdown()


def test_session_expires_after_twelve_hours(site, clock):
    finance, _ = sign_in(site, "finance", PASSWORDS["finance"])
    clock.fixed = (NOW + timedelta(hours=12, seconds=1)).timestamp()
    assert finance.get(site.url + "/", allow_redirects=False, timeout=30).status_code == 303


def test_no_input_gets_a_500_from_the_dashboard(site):
    """Arbitrary form fields, cookies, next targets and account ids: 3xx/4xx, never 5xx."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    finance, _ = sign_in(site, "finance", PASSWORDS["finance"])
    text = st.text(max_size=80)

    cookies = st.text(  # what a client can send in a Cookie header at all
        st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=';,"\\'),
        max_size=80,
    )

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(name=text, password=text, token=text, target=text, account=text, cookie=cookies)
    def probe(name, password, token, target, account, cookie):
        data = {"name": name, "password": password, "csrf_token": token, "next": target}
        for answer in (
            requests.post(site.url + "/login", data=data, allow_redirects=False, timeout=30),
            requests.get(
                site.url + "/",
                cookies={"meterwise_session": cookie},
                allow_redirects=False,
                timeout=30,
            ),
            finance.get(
                f"{site.url}/accounts/{requests.utils.quote(account, safe='')}",
                allow_redirects=False,
                timeout=30,
            ),
            finance.get(
                site.url + "/login", params={"next": target}, allow_redirects=False, timeout=30
            ),
        ):
            assert answer.status_code < 500, answer.text

    probe()


@pytest.mark.parametrize("trusted", [True, False])
def test_forwarded_for_is_trusted_only_from_the_configured_proxies(store_at, clock, trusted):
    """Behind a proxy listed in `forwarded_allow_ips`, the sign-in limit counts the client's
    address from X-Forwarded-For; from anyone else the header is ignored."""
    live = start_site(store_at, clock, **({"forwarded_allow_ips": "127.0.0.1"} if trusted else {}))
    try:
        for i in range(5):  # five names, one client address behind the proxy
            session = requests.Session()
            form = session.get(f"{live.url}/login", timeout=30).text
            answer = session.post(
                f"{live.url}/login",
                data={"name": f"n{i}", "password": "wrong-one", "csrf_token": csrf_of(form)},
                headers={"X-Forwarded-For": "203.0.113.5"},
                allow_redirects=False,
                timeout=30,
            )
            assert answer.status_code == 401
        other = requests.Session()
        form = other.get(f"{live.url}/login", timeout=30).text
        answer = other.post(
            f"{live.url}/login",
            data={"name": "finance", "password": PASSWORDS["finance"], "csrf_token": csrf_of(form)},
            headers={"X-Forwarded-For": "198.51.100.7"},
            allow_redirects=False,
            timeout=30,
        )
        # trusted: another client, not limited; untrusted: every request is 127.0.0.1's
        assert answer.status_code == (303 if trusted else 429)
    finally:
        live.server.shutdown()
