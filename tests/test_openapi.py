"""Property-based requests against the running app, generated from its own /openapi.json.

schemathesis reads the description the app serves and sends what it generates (valid and
invalid parameters, bodies and tokens) to the real server over HTTP: nothing may answer 500.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from meterwise.config.settings import parse_settings
from meterwise.receiver.openapi import openapi_document
from meterwise.receiver.testing import Meeting
from tests.conftest import SECOND_SECRET, Clock, LiveServer, base_config
from tests.test_api import JWT_SECRET, token


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def server(request, tmp_path_factory):
    """The app over HTTP on each engine (every generated request runs against both)."""
    if request.param == "postgresql":
        store = {"url": request.getfixturevalue("pg_server").create_database("openapi")}
    else:
        store = tmp_path_factory.mktemp("openapi") / "api.db"
    doc = base_config(store)
    doc["api"] = {"jwt_secret": JWT_SECRET}
    live = LiveServer(parse_settings(doc, {"ACME_WHSEC_2": SECOND_SECRET}, "t"), Clock())
    live.thread.start()
    meeting = Meeting("m1", 1_773_000_000_000)
    for i in range(3):
        meeting.join(f"dev-{i}", "alice" if i == 0 else None, moderator=i == 0)
    for event in meeting.events:
        assert live.send(event).status_code == 200
    yield live
    live.server.shutdown()


# The document the app serves (the first test proves they are the same).
schema = schemathesis.openapi.from_dict(openapi_document())


def test_the_description_is_served_and_names_every_route(server):
    doc = server.session.get(server.url + "/openapi.json", timeout=30).json()
    assert doc == openapi_document() and doc["openapi"].startswith("3.1")
    routes = {r.rule for r in server.app.url_map.iter_rules()} - {"/static/<path:filename>"}
    described = {p.replace("{", "<").replace("}", ">") for p in doc["paths"]}
    assert routes - described == {"/metrics", "/openapi.json"}


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_gets_a_500(case, server):
    if case.path_parameters and "account_id" in case.path_parameters:
        case.path_parameters["account_id"] = "acme"  # past the 404, into the report code
    response = case.call_and_validate(
        base_url=server.url,
        headers={"Authorization": f"Bearer {token()}"},
        checks=[status_code_conformance, content_type_conformance, response_schema_conformance],
    )
    assert response.status_code < 500 or response.json()["error"] == "storage_unavailable"
