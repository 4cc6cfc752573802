"""The dashboard's pages in `/openapi.json`: HTML behind a session cookie (see README,
Dashboard), described so the fuzz tests reach them too."""

from __future__ import annotations

from typing import Any

HTML = {"text/html": {"schema": {"type": "string"}}}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_ACCOUNT = {"name": "account_id", "in": "path", "required": True, "schema": {"type": "string"}}
_NEXT = {"name": "next", "in": "query", "schema": {"type": "string"}}
_SEE_OTHER = {"303": {"description": "Sign in first (to /login?next=...)"}}
_OFF = "200 is also the page saying how to turn the dashboard on, while it is off."


def _page(summary: str, parameters: list[dict[str, Any]], *errors: int) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "description": _OFF,
            "security": [{"session": []}],
            **({"parameters": parameters} if parameters else {}),
            "responses": {
                "200": {"description": "The page", "content": HTML},
                **_SEE_OTHER,
                **{str(c): {"description": "Not found", "content": _ERROR} for c in errors},
            },
        }
    }


def _download(summary: str, media: str) -> dict[str, Any]:
    page = _page(summary, [_ACCOUNT], 404)
    page["get"]["responses"]["200"] = {
        "description": "The report",
        "content": {media: {"schema": {"type": "string" if media == "text/csv" else "object"}}},
    }
    page["get"]["responses"]["200"]["content"]["text/html"] = HTML["text/html"]
    return page


_FORM = {
    "application/x-www-form-urlencoded": {
        "schema": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "password": {"type": "string"},
                "csrf_token": {"type": "string"},
                "next": {"type": "string"},
            },
        }
    }
}

PAGES: dict[str, Any] = {
    "/": _page("Every account at a glance (dashboard)", []),
    "/accounts/{account_id}": _page("One account's report page", [_ACCOUNT], 404),
    "/accounts/{account_id}/report.json": _download("The report as JSON", "application/json"),
    "/accounts/{account_id}/report.csv": _download("The report as CSV", "text/csv"),
    "/login": {
        "get": {
            "summary": "The sign-in form",
            "parameters": [_NEXT],
            "responses": {
                "200": {"description": "The form", "content": HTML},
                "303": {"description": "Already signed in"},
            },
        },
        "post": {
            "summary": "Sign in (CSRF token from the form)",
            "requestBody": {"content": _FORM},
            "responses": {
                "200": {"description": "The dashboard is off", "content": HTML},
                "303": {"description": "Signed in: on to next"},
                "400": {"description": "CSRF token missing or wrong", "content": _ERROR},
                "401": {"description": "Wrong name or password", "content": HTML},
                "429": {"description": "Too many failures (Retry-After)", "content": HTML},
            },
        },
    },
    "/logout": {
        "post": {
            "summary": "Sign out (CSRF token from the page)",
            "requestBody": {"content": _FORM},
            "responses": {
                "200": {"description": "The dashboard is off", "content": HTML},
                "303": {"description": "Signed out: to /login"},
                "400": {"description": "CSRF token missing or wrong", "content": _ERROR},
            },
        }
    },
    "/favicon.ico": {
        "get": {
            "summary": "The tab icon",
            "responses": {
                "200": {"description": "SVG", "content": {"image/svg+xml": {"schema": {}}}}
            },
        }
    },
}
