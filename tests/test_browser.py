"""The HTML report in a real headless Chromium, loaded from the running app over HTTP."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from meterwise.config.settings import parse_settings
from meterwise.receiver.testing import Meeting
from tests.conftest import SECOND_SECRET, LiveServer, base_config
from tests.test_api import JWT_SECRET, token

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VAR = Path(__file__).resolve().parent.parent / "var"
START = datetime(2026, 3, 8, tzinfo=UTC)
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must have Debian's chromium: .ci/run installs it")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (make browser installs it)")


ENGINES = ("sqlite", "postgresql")  # the pages read storage: both engines


@pytest.fixture
def site(store_at, clock):
    doc = base_config(store_at, plan="small")
    doc["plans"] = {"small": {"extends": "jaas-basic", "name": "Small", "allowances": {"mau": 20}}}
    doc["api"] = {"jwt_secret": JWT_SECRET}
    server = LiveServer(parse_settings(doc, {"ACME_WHSEC_2": SECOND_SECRET}, "t"), clock)
    server.thread.start()
    for day in range(9):  # a growing team: 2 new devices a day for 9 days = 18 MAU
        at = int((START + timedelta(days=day, hours=10)).timestamp() * 1000)
        meeting = Meeting(f"daily-{day}", at, room="standup")
        for i in range(2):
            meeting.join(f"dev-{day}-{i}", f"lead-{day}" if i == 0 else None, moderator=i == 0)
        for event in meeting.events:
            assert server.send(event).status_code == 200
    yield server
    server.server.shutdown()


def test_the_report_page_renders_its_key_figures(site):
    from playwright.sync_api import sync_playwright

    at = (START + timedelta(days=9, hours=12)).isoformat()
    url = f"{site.url}/reports/acme?token={token()}&at={at}&event_time=true"
    requests_seen: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("request", lambda r: requests_seen.append(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            response = page.goto(url, wait_until="load")
            assert response is not None and response.status == 200
            assert (
                page.title() == "acme: 2026-03-08 00:00 UTC to 2026-04-08 00:00 UTC reconciliation"
            )
            used = page.locator("#card-used .value")
            assert used.is_visible() and used.inner_text().split() == ["18", "/", "20"]
            assert page.locator("#card-forecast .value").is_visible()
            total = page.locator("#invoice-total")
            assert total.is_visible() and total.inner_text() == "$99.00"
            projected = page.locator("#projected-overage")  # 61 forecast - 20 = 41 x $0.99
            assert projected.inner_text() == "+$40.59 more overage if the forecast holds"
            chart = page.locator("svg.burnup")
            box = chart.bounding_box()
            assert box is not None and box["width"] > 600 and box["height"] > 200
            assert page.locator("svg.burnup polyline.used").count() == 1
            assert page.locator("svg.burnup line.allowance").count() == 1
            assert page.locator("svg.burnup polygon.band").count() == 1
            assert page.locator("#checks tbody tr").count() >= 4
            assert page.locator("#top-rooms tbody").inner_text().split() == ["standup", "18"]
            assert page.locator("#metrics").get_by_text("mau", exact=True).is_visible()
            VAR.mkdir(exist_ok=True)
            shot = VAR / "report-screenshot.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    assert errors == []
    assert all(u.startswith(site.url) for u in requests_seen), requests_seen  # self-contained
