"""What the dashboard's pages share: the CSP'd HTML answer, JSON errors, the session of the
request, the redirect to sign in, and the page shown while the dashboard is off."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, current_app, g, jsonify, redirect, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response as BaseResponse

from meterwise.config.settings import Settings
from meterwise.receiver import signin
from meterwise.reconciler.html import render_page
from meterwise.storage import StorageUnavailable, storage_for

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def current_settings() -> Settings:
    """The app's settings."""
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def clock_now() -> float:
    """The app's clock (epoch seconds; tests set it)."""
    now: float = current_app.config["CLOCK"]()
    return now


def page(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """An HTML answer under the dashboard's CSP."""
    return Response(
        body,
        status=status,
        mimetype="text/html",
        headers={"Content-Security-Policy": CSP, **(headers or {})},
    )


def error(status: int, code: str, detail: str) -> Response:
    """A JSON error ``{"error": code, "detail": ...}``."""
    g.outcome = code
    response = jsonify({"error": code, "detail": detail})
    response.status_code = status
    return response


def secure(settings: Settings) -> bool:
    """Cookies get ``Secure`` when people reach the service over https."""
    return bool(settings.public_url and settings.public_url.startswith("https://"))


def signed_in() -> signin.SignedIn | None:
    """The live session of this request, if any."""
    settings = current_settings()
    return signin.session_of(
        settings, storage_for(settings), request.cookies.get(signin.SESSION_COOKIE), clock_now()
    )


def to_login() -> BaseResponse:
    """303 to the sign-in form, coming back here afterwards."""
    target = request.full_path if request.query_string else request.path
    return redirect(f"/login?next={quote(target, safe='')}", 303)


def off() -> Response:
    """The page that says the dashboard is off and how to turn it on."""
    settings = current_settings()
    missing = [] if settings.users else ["no [[users]] are configured"]
    if settings.secret_key is None:
        missing.append("[server] secret_key is not set")
    return page(render_page("off", missing="The dashboard is off: " + " and ".join(missing)))


class Answer(Exception):
    """Stop here and answer this (a redirect to sign in, a 404)."""

    def __init__(self, response: BaseResponse) -> None:
        super().__init__(response.status)
        self.response = response


def answer_with(exc: Answer) -> ResponseReturnValue:
    """The blueprints' handler of `Answer`."""
    return exc.response


def storage_unavailable(exc: StorageUnavailable) -> ResponseReturnValue:
    """503 with ``Retry-After`` when the storage cannot answer."""
    response = error(503, "storage_unavailable", str(exc))
    response.headers["Retry-After"] = "5"
    return response
