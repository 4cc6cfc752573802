"""The dashboard in Debian's chromium through Playwright: sign in, the overview with two
providers' accounts, an account page with its burn-up chart, sign out; a wrong password; a
user limited to one account; and axe-core's accessibility rules on every page."""

from __future__ import annotations

import os

import pytest

from tests.dashboard_site import PASSWORDS, start_site
from tests.test_browser import CHROMIUM, FLAGS, VAR

AXE = VAR / "axe" / "node_modules" / "axe-core" / "axe.min.js"

if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must have Debian's chromium: make test installs it")
if not AXE.exists() and os.environ.get("CI"):
    raise RuntimeError("CI must have axe-core: make test installs it (make axe)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (make browser installs it)")


ENGINES = ("sqlite", "postgresql")  # the pages read storage: both engines


@pytest.fixture
def site(store_at, clock):
    live = start_site(store_at, clock)
    yield live
    live.server.shutdown()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def _page(browser, requests_seen: list[str], errors: list[str]):
    # The CSP forbids scripts; bypass it only so the test can inject axe-core.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.on("request", lambda r: requests_seen.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def _sign_in(page, url: str, name: str, password: str) -> None:
    page.goto(f"{url}/", wait_until="load")
    assert "/login" in page.url
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")


def _axe(page) -> list[str]:
    """axe-core's violations on the page (WCAG 2 A and AA rules, contrast included)."""
    if not AXE.exists():
        pytest.skip("no axe-core (make axe installs it)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in result["violations"]]


def test_sign_in_overview_account_page_and_sign_out(site, browser):
    requests_seen: list[str] = []
    errors: list[str] = []
    page = _page(browser, requests_seen, errors)
    page.goto(f"{site.url}/login", wait_until="load")
    assert _axe(page) == []
    _sign_in(page, site.url, "finance", PASSWORDS["finance"])
    assert page.url == f"{site.url}/"
    assert page.title() == "Meterwise: every account"
    rows = page.locator("#overview tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("id") == "row-acme"  # projected to cross: first
    assert "jaas" in rows.nth(0).inner_text() and "cometchat" in rows.nth(1).inner_text()
    bar = page.locator("#row-acme .bar i")
    assert bar.is_visible() and bar.get_attribute("style") == "width:90%"
    assert _axe(page) == []
    VAR.mkdir(exist_ok=True)
    page.screenshot(path=str(VAR / "dashboard-overview.png"), full_page=True)

    page.locator("#row-acme a").click()
    page.wait_for_load_state("load")
    assert page.url == f"{site.url}/accounts/acme"
    assert page.locator("#card-used .value").inner_text().split() == ["18", "/", "20"]
    chart = page.locator("svg.burnup")
    box = chart.bounding_box()
    assert chart.is_visible() and box is not None and box["width"] > 300
    assert page.locator("#messages").is_visible()
    assert page.locator("#download-csv").get_attribute("href") == "/accounts/acme/report.csv"
    assert _axe(page) == []
    page.screenshot(path=str(VAR / "dashboard-account.png"), full_page=True)

    page.locator("#logout").click()
    page.wait_for_load_state("load")
    assert "/login" in page.url
    page.goto(f"{site.url}/accounts/acme", wait_until="load")
    assert "/login" in page.url  # signed out: back to the form
    assert errors == []
    assert all(u.startswith(site.url) for u in requests_seen), "the pages are self-contained"


def test_a_wrong_password_shows_the_message_and_sets_no_session(site, browser):
    page = _page(browser, [], [])
    _sign_in(page, site.url, "finance", "wrong-password")
    assert page.locator("#login-message").inner_text() == "Wrong name or password."
    cookies = {c["name"] for c in page.context.cookies()}
    assert "meterwise_session" not in cookies
    assert _axe(page) == []  # the form with its message
    page.goto(f"{site.url}/", wait_until="load")
    assert "/login" in page.url


def test_a_user_limited_to_one_account_cannot_open_another(site, browser):
    page = _page(browser, [], [])
    _sign_in(page, site.url, "ops", PASSWORDS["ops"])
    assert page.locator("#overview tbody tr").count() == 1
    assert page.locator("#row-chat").count() == 0
    response = page.goto(f"{site.url}/accounts/chat", wait_until="load")
    assert response is not None and response.status == 404
