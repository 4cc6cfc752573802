"""A running site with the dashboard on: a JaaS account and a CometChat account with traffic,
two users (one limited to the JaaS account), the app served over HTTP on loopback."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from meterwise.config.settings import parse_settings
from meterwise.receiver.signin import hash_password
from meterwise.receiver.testing import Meeting
from tests.conftest import SECOND_SECRET, Clock, LiveServer, base_config
from tests.traffic import basic, cc_connection, ms

START = datetime(2026, 3, 8, tzinfo=UTC)
NOW = START + timedelta(days=9, hours=12)
SECRET_KEY = "dashboard-test-secret-key-0123456789abcdef"
PASSWORDS = {"finance": "finance-pass-1", "ops": "ops-pass-12345"}
_HASHES: dict[str, str] = {}


def _hash(name: str) -> str:
    if name not in _HASHES:  # scrypt is slow on purpose: once per test run
        _HASHES[name] = hash_password(PASSWORDS[name])
    return _HASHES[name]


def site_config(db_path: Path | dict[str, str], **server: Any) -> dict[str, Any]:
    doc = base_config(db_path, plan="small", alert_emails=["ops@example.com"])
    doc["plans"] = {"small": {"extends": "jaas-basic", "name": "Small", "allowances": {"mau": 20}}}
    doc["accounts"].append(
        {
            "id": "chat",
            "provider": "cometchat",
            "plan": "cometchat-1k",
            "cycle_anchor": "2026-03-08",
            "options": {"basic_auth_user": "meterwise", "basic_auth_password": "env:CC_PASSWORD"},
        }
    )
    doc["server"] = {"secret_key": SECRET_KEY, **server}
    doc["users"] = [
        {"name": "finance", "password_hash": _hash("finance")},
        {"name": "ops", "password_hash": _hash("ops"), "accounts": ["acme"]},
    ]
    return doc


def start_site(db_path: Path | dict[str, str], clock: Clock, **server: Any) -> LiveServer:
    environ = {"ACME_WHSEC_2": SECOND_SECRET, "CC_PASSWORD": "cc-pass-000001"}
    live = LiveServer(parse_settings(site_config(db_path, **server), environ, "t"), clock)
    live.thread.start()
    clock.fixed = NOW.timestamp()
    for day in range(9):  # a growing team: 2 new devices a day for 9 days = 18 MAU
        at = int((START + timedelta(days=day, hours=10)).timestamp() * 1000)
        meeting = Meeting(f"daily-{day}", at, room="standup")
        for i in range(2):
            meeting.join(f"dev-{day}-{i}", f"lead-{day}" if i == 0 else None, moderator=i == 0)
        for event in meeting.events:
            assert live.send(event, t=int(NOW.timestamp())).status_code == 200
    for u in range(12):  # CometChat: 12 users connect over the first days
        at = START + timedelta(days=u % 6, hours=9, minutes=u)
        doc = cc_connection(f"user{u}", "connected", ms(at), ms(at))
        answer = live.post("/webhooks/cometchat/chat", json.dumps(doc).encode(), basic())
        assert answer.status_code == 200, answer.text
    return live


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(
    live: LiveServer, name: str, password: str, next_path: str = "/"
) -> tuple[requests.Session, requests.Response]:
    """A fresh browser-like session: GET the form, POST it; the POST's answer."""
    session = requests.Session()
    form = session.get(f"{live.url}/login", params={"next": next_path}, timeout=30)
    answer = session.post(
        f"{live.url}/login",
        data={
            "name": name,
            "password": password,
            "csrf_token": csrf_of(form.text),
            "next": next_path,
        },
        allow_redirects=False,
        timeout=30,
    )
    return session, answer
