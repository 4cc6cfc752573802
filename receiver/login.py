"""Sign-in pages: the form, POST /login (CSRF, failure limit, password), POST /logout."""

from __future__ import annotations

from flask import Blueprint, redirect, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response as BaseResponse

from meterwise.receiver import signin
from meterwise.receiver.pages import (
    Answer,
    answer_with,
    clock_now,
    current_settings,
    error,
    off,
    page,
    secure,
    signed_in,
    storage_unavailable,
)
from meterwise.reconciler.html import render_page
from meterwise.storage import StorageUnavailable, storage_for

bp = Blueprint("login", __name__)
bp.register_error_handler(Answer, answer_with)
bp.register_error_handler(StorageUnavailable, storage_unavailable)


def _login_form(
    message: str = "", name: str = "", status: int = 200, **headers: str
) -> BaseResponse:
    settings = current_settings()
    nonce = request.cookies.get(signin.CSRF_COOKIE) or signin.new_nonce()
    body = render_page(
        "login",
        message=message,
        name=name,
        next=signin.local_path(request.values.get("next")),
        csrf=signin.csrf_token(settings, nonce),
    )
    response = page(body, status, headers)
    response.set_cookie(
        signin.CSRF_COOKIE,
        nonce,
        httponly=True,
        samesite="Strict",
        secure=secure(settings),
        path="/",
    )
    return response


@bp.get("/login")
def login_form() -> ResponseReturnValue:
    """The sign-in form (or straight on, when already signed in)."""
    if not current_settings().dashboard_on:
        return off()
    if signed_in() is not None:
        return redirect(signin.local_path(request.args.get("next")), 303)
    return _login_form()


@bp.post("/login")
def login() -> ResponseReturnValue:
    """Check the CSRF token, the failure limit and the password; open a session."""
    settings = current_settings()
    if not settings.dashboard_on:
        return off()
    if not signin.csrf_ok(
        settings, request.cookies.get(signin.CSRF_COOKIE), request.form.get("csrf_token")
    ):
        return error(400, "csrf_failed", "the form expired or came from elsewhere: reload it")
    name, password = request.form.get("name", ""), request.form.get("password", "")
    store, now = storage_for(settings), clock_now()
    keys = [f"name:{name}", f"addr:{request.remote_addr or '?'}"]
    wait = signin.retry_after(store, keys, now)
    if wait is not None:
        message = f"Too many failed sign-ins: try again in {wait // 60 + 1} minutes."
        return _login_form(message, name, 429, **{"Retry-After": str(wait)})
    user = signin.authenticate(settings, name, password)
    if user is None:
        signin.record_failure(store, keys, now)
        return _login_form("Wrong name or password.", name, 401)
    store.clear_login_failures(keys[0])
    response = redirect(signin.local_path(request.form.get("next")), 303)
    response.set_cookie(
        signin.SESSION_COOKIE,
        signin.open_session(settings, store, user, now),
        max_age=signin.SESSION_TTL_S,
        httponly=True,
        samesite="Lax",
        secure=secure(settings),
        path="/",
    )
    return response


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session (CSRF-checked) and go back to the sign-in form."""
    settings = current_settings()
    if not settings.dashboard_on:
        return off()
    session = signed_in()
    if session is None:
        return redirect("/login", 303)
    if not signin.csrf_ok(settings, session.sid, request.form.get("csrf_token")):
        return error(400, "csrf_failed", "the form expired or came from elsewhere: reload it")
    signin.close_session(storage_for(settings), session.sid)
    response = redirect("/login", 303)
    response.delete_cookie(signin.SESSION_COOKIE, path="/")
    return response
