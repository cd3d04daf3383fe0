"""GET /login (the form), POST /login (a session cookie), POST /logout.

A failed login says "wrong name or password", never which; failures are bounded per name and per
address (`[security] login_attempts_per_minute`, 429 with Retry-After past it), counted in the
database so the bound holds across every worker and machine. A successful login also sets a device
cookie (`security.devices`, path /login): a later login from that browser for that name is bounded
per device cookie only, so guesses sent for a name from elsewhere do not lock its user out of the
browser she uses, and her failures there lock out only that cookie. The form carries a
double-submit CSRF token (a cookie and a field), since there is no session to tie one to yet.

A password check is argon2id: 64 MiB and about a tenth of a second of the machine's cores, by design.
`PasswordChecks` runs a few at once on threads of their own, lets a few more wait, and turns the rest
away with 503 and Retry-After: a flood of logins (which anyone may send) neither holds up the threads
every other route runs on nor takes memory without bound.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from supportcue.security import csrf, devices, sessions
from supportcue.security.ratelimit import SharedRateLimiter
from supportcue.service.auth import client_address
from supportcue.service.deps import ANY_ROLE, AuthenticatorDep, CallerDep, SettingsDep, require
from supportcue.service.routes.pages import templates

router = APIRouter(include_in_schema=False)
WRONG = "wrong name or password"
PASSWORD_CHECKS = 2
"""Password checks at once in a process (each uses up to 4 threads: argon2id's lanes)."""
MAX_WAITING = 16
"""Logins that may wait for a check (well under a couple of seconds); more get a 503."""
BUSY_RETRY_S = 2
T = TypeVar("T")


class PasswordChecks:
    """Runs password checks `at_once` at a time on threads of their own (not the shared pool the
    routes' blocking calls use), with at most `max_waiting` more queued; `run` is None past that."""

    def __init__(self, at_once: int = PASSWORD_CHECKS, max_waiting: int = MAX_WAITING) -> None:
        self.limiter = CapacityLimiter(at_once)
        self.max_pending = at_once + max_waiting
        self.pending = 0  # only changed on the event loop

    async def run(self, check: Callable[[], T]) -> T | None:
        if self.pending >= self.max_pending:
            return None
        self.pending += 1
        try:
            return await to_thread.run_sync(check, limiter=self.limiter)
        finally:
            self.pending -= 1


def _form(
    request: Request, next_url: str, name: str = "", error: str | None = None, status: int = 200
) -> Response:
    token = csrf.login_token()
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"next": sessions.safe_next(next_url), "csrf": token, "error": error, "name": name},
        status_code=status,
    )
    response.set_cookie(
        csrf.LOGIN_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/login", response_class=Response)
def login_form(request: Request, next: str = "/") -> Response:
    """The login form; `next` (a path on this site) is where a successful login goes."""
    return _form(request, next)


@router.post("/login", response_class=Response)
async def login(
    request: Request,
    auth: AuthenticatorDep,
    settings: SettingsDep,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Check the name and password; on success a session cookie and a redirect to `next`."""
    if not csrf.same(request.cookies.get(csrf.LOGIN_COOKIE), csrf_token):
        return _form(request, next, name, "The form expired: log in again.", status=403)
    limiter: SharedRateLimiter = request.app.state.login_limiter
    device_cookies: devices.DeviceCookies = request.app.state.device_cookies
    cookie, address = request.cookies.get(devices.COOKIE), client_address(request.scope)

    def attempt() -> tuple[int, tuple[str, datetime] | None, str | None]:
        """(seconds to wait, or 0 and the session and a new device cookie when the password is
        right). The limit is read inside the check's slot: read before it, logins sent at once all
        found the same tokens left and were all checked. A valid device cookie for `name` is the only
        bucket its logins count in; without one, the name's and the address's."""
        device = device_cookies.device(cookie, name)
        tries = ("device:" + device,) if device else ("name:" + name[:100], "addr:" + address)
        wait = max(limiter.retry_after(t) for t in tries)
        if wait:
            return wait, None, None
        started = auth.login(name, password)
        if started is None:
            for t in tries:
                limiter.take(t)
            return 0, None, None
        return 0, started, device_cookies.issue(name)

    checks: PasswordChecks = request.app.state.password_checks
    outcome = await checks.run(attempt)
    if outcome is None:
        busy = f"Too many logins are being checked right now: try again in {BUSY_RETRY_S} s."
        response = _form(request, next, name, busy, status=503)
        response.headers["retry-after"] = str(BUSY_RETRY_S)
        return response
    wait, started, device_cookie = outcome
    if wait:
        response = _form(request, next, name, f"Too many failed logins: try again in {wait} s.", status=429)
        response.headers["retry-after"] = str(wait)
        return response
    if started is None:
        return _form(request, next, name, f"{WRONG[0].upper()}{WRONG[1:]}.", status=401)
    session_id, _ = started
    response = RedirectResponse(sessions.safe_next(next), status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        session_id,
        max_age=int(settings.security.session_hours * 3600),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    if device_cookie is not None:  # sent only to /login, where it is read; kept past logout
        response.set_cookie(
            devices.COOKIE,
            device_cookie,
            max_age=device_cookies.lifetime_s,
            path="/login",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout", response_class=Response, dependencies=[require(*ANY_ROLE)])
async def logout(request: Request, caller: CallerDep, auth: AuthenticatorDep) -> Response:
    """End the session (the form carries its CSRF token) and go back to the login form."""
    await run_in_threadpool(auth.logout, caller)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="lax")
    return response
