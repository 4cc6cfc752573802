"""The OpenAPI 3.1 description of Meterwise's HTTP interface, served at /openapi.json."""

from __future__ import annotations

from typing import Any

from receiver.providers import PROVIDERS

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
    "description": "Evaluate as of this instant (default now).",
    "schema": {"type": "string", "format": "date-time"},
}
JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}


def openapi_document() -> dict[str, Any]:
    """The document; reports are described loosely (their members are in the README)."""
    secured: list[dict[str, list[str]]] = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Meterwise", "version": "1", "description": "Usage reconciliation."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "detail"],
                    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
                }
            },
        },
        "paths": {
            "/api/accounts": {
                "get": {
                    "summary": "Accounts the token may read",
                    "security": secured,
                    "responses": {
                        "200": {"description": "The accounts", "content": JSON_OBJECT},
                        **_errors(401, 503),
                    },
                }
            },
            "/api/accounts/{account_id}/report": {
                "get": {
                    "summary": "One cycle's reconciliation (as `meterwise report --format json`)",
                    "security": secured,
                    "parameters": [ACCOUNT, CYCLE, AT],
                    "responses": {
                        "200": {"description": "The report", "content": JSON_OBJECT},
                        **_errors(400, 401, 403, 404, 503),
                    },
                }
            },
            "/api/accounts/{account_id}/checks": {
                "get": {
                    "summary": "Consistency checks and the provider comparison of a cycle",
                    "security": secured,
                    "parameters": [ACCOUNT, CYCLE, AT],
                    "responses": {
                        "200": {"description": "The checks", "content": JSON_OBJECT},
                        **_errors(400, 401, 403, 404, 503),
                    },
                }
            },
            "/reports/{account_id}": {
                "get": {
                    "summary": "The HTML report page (token as bearer header or ?token=)",
                    "security": secured,
                    "parameters": [
                        ACCOUNT,
                        CYCLE,
                        AT,
                        {"name": "token", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "A self-contained page",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        },
                        **_errors(400, 401, 403, 404, 503),
                    },
                }
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
