"""The OpenAPI 3.1 description of Meterwise's HTTP interface, served at /openapi.json."""

from __future__ import annotations

from typing import Any

from meterwise.receiver.openapi_pages import PAGES
from meterwise.receiver.providers import PROVIDERS
from meterwise.receiver.webhook_schema import CHANNEL_EVENT

ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Bad parameter or body",
        401: "Missing or invalid credentials or signature",
        403: "The token may not read this account",
        404: "No such account",
        413: "Body too large",
        415: "Not JSON",
        422: "Valid JSON that is not a valid event",
        503: "Not configured, or storage unavailable",
    }
    return {
        str(c): {"description": text[c], "content": {"application/json": {"schema": ERROR}}}
        for c in codes
    }


ACCOUNT = {"name": "account_id", "in": "path", "required": True, "schema": {"type": "string"}}
CYCLE = {
    "name": "cycle",
    "in": "query",
    "description": "Any date inside the wanted cycle (default: the cycle containing `at`).",
    "schema": {"type": "string", "format": "date"},
}
AT = {
    "name": "at",
    "in": "query",
    "description": "As known at this instant: events dated and received by then (default now).",
    "schema": {"type": "string", "format": "date-time"},
}
EVENT_TIME = {
    "name": "event_time",
    "in": "query",
    "description": "true: with `at`, count events dated by then whenever they arrived.",
    "schema": {"type": "string", "enum": ["true", "false"]},
}
JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}
TOKEN = {"name": "token", "in": "query", "schema": {"type": "string"}}


def _read(
    summary: str, parameters: list[dict[str, Any]], ok: str, content: dict[str, Any] = JSON_OBJECT
) -> dict[str, Any]:
    """A GET behind the bearer JWT."""
    return {
        "summary": summary,
        "security": [{"bearer": []}],
        **({"parameters": parameters} if parameters else {}),
        "responses": {
            "200": {"description": ok, "content": content},
            **(_errors(400, 401, 403, 404, 503) if parameters else _errors(401, 503)),
        },
    }


def openapi_document() -> dict[str, Any]:
    """The document; reports are described loosely (their members are in the README)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Meterwise", "version": "1", "description": "Usage reconciliation."},
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "meterwise_session"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "detail"],
                    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
                },
                "ChannelEvent": CHANNEL_EVENT,
            },
        },
        "webhooks": {
            "channelEvent": {
                "post": {
                    "summary": "What Meterwise POSTs to an `alert_channels` webhook",
                    "description": "Signed with Standard Webhooks: `webhook-id` (the outbox "
                    "key, the same on every retry: drop repeats), `webhook-timestamp`, "
                    "`webhook-signature: v1,<base64>`. Answer 2xx to acknowledge; 408, 429 "
                    "(with Retry-After) and 5xx are retried for 72 hours, other 4xx never.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ChannelEvent"}
                            }
                        },
                    },
                    "responses": {"200": {"description": "Received"}},
                }
            }
        },
        "paths": {
            **PAGES,
            "/api/accounts": {"get": _read("Accounts the token may read", [], "The accounts")},
            "/api/accounts/{account_id}/report": {
                "get": _read(
                    "One cycle's reconciliation (as `meterwise report --format json`)",
                    [ACCOUNT, CYCLE, AT, EVENT_TIME],
                    "The report",
                )
            },
            "/api/accounts/{account_id}/checks": {
                "get": _read(
                    "Consistency checks and the provider comparison of a cycle",
                    [ACCOUNT, CYCLE, AT, EVENT_TIME],
                    "The checks",
                )
            },
            "/reports/{account_id}": {
                "get": _read(
                    "The HTML report page (token as bearer header or ?token=)",
                    [ACCOUNT, CYCLE, AT, EVENT_TIME, TOKEN],
                    "A self-contained page",
                    {"text/html": {"schema": {"type": "string"}}},
                )
            },
            "/webhooks/{provider}/{account_id}": {
                "post": {
                    "summary": "Receive a provider's webhook (signed; not behind the JWT)",
                    "parameters": [
                        {
                            "name": "provider",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": sorted(PROVIDERS)},
                        },
                        ACCOUNT,
                    ],
                    "requestBody": {"required": True, "content": JSON_OBJECT},
                    "responses": {
                        "200": {"description": "Stored, or a duplicate", "content": JSON_OBJECT},
                        **_errors(400, 401, 404, 413, 415, 422, 503),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Whether the database takes a write lock",
                    "responses": {
                        "200": {"description": "Healthy", "content": JSON_OBJECT},
                        "503": {"description": "Unhealthy", "content": JSON_OBJECT},
                    },
                }
            },
        },
    }
