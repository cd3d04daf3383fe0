"""Finding the caller of every request, as one plain ASGI middleware in front of the routes.

Every routed request but those to `PUBLIC` paths (health, login, the embed page's shell; and
`SIGNED` ones, whose route checks a help desk's signature itself) needs a caller: a bearer key
(`Authorization: Bearer <key>`) or a session cookie from /login. Without one: 401 with a JSON message,
or, for a browser asking for a page (GET with `Accept: text/html`), a redirect to `/login?next=...`
(and for a browser submitting a page's form, a page that says how to keep what was typed).
A credential not in the callers' cache is looked up in the store (one indexed read of its SHA-256);
one that fails is remembered as failed (a bounded cache apart from the known callers', so a flood of
made-up keys never pushes real callers out) and takes a token from its address's bucket, past which
the address's requests without a valid credential are 429s. The lookup is not skipped for an address
out of tokens: a real caller behind the same address (a NAT, a proxy whose forwarded address is not
trusted) would be refused with the flood, and the read costs no more than the request itself.
Then, in order: the caller's rate limit (429 with `Retry-After`), and for a cookie session a CSRF
token on anything that changes state (403 without it). The caller is left in `request.state.caller`
for the routes, whose role checks are `service/deps.py`'s `require(...)`.

Checking here, before FastAPI reads the body, means no request reaches a route's validation (or any
route nobody declared a role for) without a caller. A path no route has needs one too: without a
caller it is the same 401 (or login redirect) as a route's, so that routes cannot be listed by
trying names; a caller gets its 404.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Callable
from urllib.parse import parse_qs, quote

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supportcue.data.database import unavailable_reason
from supportcue.security import csrf, sessions
from supportcue.security.callers import Authenticator, Caller
from supportcue.security.ratelimit import RateLimiter
from supportcue.service.deadline import within
from supportcue.service.middleware import MAX_BODY_BYTES

log = logging.getLogger("supportcue.service")
PUBLIC = frozenset({"/healthz", "/readyz", "/login", "/embed/chatwoot"})
"""Besides health and login: the Chatwoot embed page, a shell with no data (like a static file) whose
script sends the embed key from the URL's fragment with each API call (see `routes/embed.py`)."""
PUBLIC_PREFIXES = ("/static/",)
SIGNED = frozenset({"/integrations/chatwoot/webhook"})
"""Routes a help desk calls: it cannot send a bearer key, so the route itself knows the caller by the
request's signature (`service/deps.py`'s `signed_by`: 401 without a valid one)."""
MAX_FORM_BYTES = MAX_BODY_BYTES
MAX_FORM_FIELDS = 1000
"""The most fields a form's body may have for its CSRF token to be looked for (no page's form has more
than a few dozen); past it, 400."""
"""The most of a form's body read for its CSRF token: the app's body limit, since an answer's 20,000
characters alone are up to 180 kB form-encoded (a non-Latin character is 6 to 9 bytes)."""


def is_public(path: str) -> bool:
    return path in PUBLIC or path.startswith(PUBLIC_PREFIXES)


def wants_page(method: str, headers: Headers) -> bool:
    """A browser navigating (rather than a script or the console's fetch calls)."""
    return method in ("GET", "HEAD") and "text/html" in headers.get("accept", "")


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


OUTAGE_LOG_EVERY_S = 10.0
"""While the store cannot be reached, the refused lookups are logged in one line this often."""


class OutageLog:
    """The log of caller lookups refused because the store cannot be reached: one warning line with
    the reason, no traceback, and then at most one line every `every_s` counting the requests refused
    since. A database outage is not a bug: at hundreds of requests a second, a traceback each (some
    60 lines) buried the log. Any other failure of a lookup is logged in full, as a bug is."""

    def __init__(
        self, every_s: float = OUTAGE_LOG_EVERY_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every_s = every_s
        self.clock = clock
        self.last: float | None = None
        self.refused = 0

    def failed(self, exc: BaseException) -> None:
        reason = unavailable_reason(exc)
        if reason is None:
            log.error("looking up the caller failed", exc_info=exc)
            return
        self.refused += 1
        now = self.clock()
        if self.last is not None and now - self.last < self.every_s:
            return
        since = "" if self.last is None else f" in the last {now - self.last:.0f} s"
        log.warning(
            "cannot look up callers: %s; %d request(s) answered 503%s",
            reason,
            self.refused,
            since,
        )
        self.last, self.refused = now, 0

    def recovered(self) -> None:
        """A lookup reached the store (not the cache): after an outage, say it is over in one line,
        with the requests refused since the last line, so the log shows when it ended; the next
        outage starts its own count."""
        if self.last is None and not self.refused:
            return
        log.warning(
            "callers are looked up again: the database answers; %d request(s) answered 503 since the "
            "last line",
            self.refused,
        )
        self.last, self.refused = None, 0


class Authenticate:
    def __init__(
        self, app: ASGIApp, authenticator: Authenticator, limiter: RateLimiter, timeout_s: float = 5.0
    ) -> None:
        self.app = app
        self.auth = authenticator
        self.limiter = limiter
        self.timeout_s = timeout_s
        """A lookup the store has not answered after this long is answered 503 (`deadline.within`)."""
        self.outage = OutageLog()
        self._in_flight: dict[str, asyncio.Future[Caller | None]] = {}
        """Credential -> its lookup under way, which the requests that bring it meanwhile wait for."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["caller"] = None
        if is_public(scope["path"]) or scope["path"] in SIGNED:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        method = scope["method"]
        try:
            caller, problem = await self._caller(headers)
        except Exception as exc:  # the store is unreachable: say so, without details
            self.outage.failed(exc)
            response: Response = (
                unavailable_page(_NO_LOOKUP)
                if wants_page(method, headers)
                else _json(503, _NO_LOOKUP, {"retry-after": "5"})
            )
            await response(scope, receive, send)
            return
        if caller is None:
            wait = self.limiter.take("addr:" + client_address(scope))
            if wait:
                response = _too_many(wait)
            elif problem is None and wants_page(method, headers):
                response = RedirectResponse(f"/login?next={quote(_target(scope), safe='/')}", status_code=303)
            elif problem is None and _form_from_page(method, headers):
                login = f"/login?next={quote(scope['path'], safe='/')}"
                response = (
                    RedirectResponse("/login", status_code=303)  # logging out, ended already
                    if scope["path"] == "/logout"
                    else _not_saved(401, _ENDED.format(login=login))
                )
            else:
                response = _json(401, problem or _NO_CALLER, {"www-authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        self.auth.note_use(caller)  # a key's last use, for /admin/keys (written apart, at most once a minute)
        wait = self.limiter.take(caller.id)
        if wait:
            await _too_many(wait)(scope, receive, send)
            return
        if caller.by_cookie and method not in csrf.SAFE_METHODS:
            try:
                receive, token = await _csrf_token(headers, receive)
            except _TooManyFields:
                await _json(400, _TOO_MANY_FIELDS)(scope, receive, send)
                return
            if not token or caller.csrf_token is None or not csrf.same(caller.csrf_token, token):
                stale = _form_from_page(method, headers)
                await (_not_saved(403, _STALE) if stale else _json(403, _NO_CSRF))(scope, receive, send)
                return
        state["caller"] = caller
        await self.app(scope, receive, send)

    async def _caller(self, headers: Headers) -> tuple[Caller | None, str | None]:
        """(the caller, or None with what is wrong with the credentials presented, if any)."""
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, key = authorization.partition(" ")
            key = key.strip()
            if scheme.lower() != "bearer" or not key:
                return None, "send the API key as `Authorization: Bearer <key>`"
            caller = await self._lookup(self.auth.cached_key, self.auth.by_key, key)
            return caller, None if caller else "the API key is not valid (mistyped or revoked)"
        session_id = cookie_parser(headers.get("cookie", "")).get(sessions.COOKIE)
        if session_id:
            return await self._lookup(self.auth.cached_session, self.auth.by_session, session_id), None
        return None, None

    async def _lookup(
        self,
        cached: Callable[[str], tuple[bool, Caller | None]],
        load: Callable[[str], Caller | None],
        token: str,
    ) -> Caller | None:
        found, caller = cached(token)
        if found:  # a cached caller says nothing of the store: only a lookup that reached it does
            return caller
        # one lookup per credential at a time: a burst with a key not cached (new, or its 2 s in the
        # cache over) made a lookup each, all at once, and on a busy machine some passed the deadline
        lookup = self._in_flight.get(token)
        if lookup is None:
            lookup = asyncio.ensure_future(within(self.timeout_s, load, token))
            self._in_flight[token] = lookup
            lookup.add_done_callback(lambda _: self._in_flight.pop(token, None))
        caller = await asyncio.shield(lookup)  # a waiter that goes away leaves the others' lookup be
        self.outage.recovered()
        return caller


_NO_LOOKUP = "cannot check the caller now (the store is unreachable); retry shortly"
_NO_CALLER = "log in at /login, or send an API key as `Authorization: Bearer <key>`"
_NO_CSRF = (
    "missing or wrong CSRF token: reload the page and try again (scripts: use an API key instead of "
    "the session cookie)"
)


_TOO_MANY_FIELDS = f"the form has more than {MAX_FORM_FIELDS:,} fields"


class _TooManyFields(Exception):
    """A form body with more than `MAX_FORM_FIELDS` fields."""


_ENDED = (
    "Your session has ended, so this was not saved. Go back: what you typed is still in the form. Copy it, "
    '<a href="{login}" target="_blank" rel="noopener">log in again</a>, reload that page, paste it and save.'
)
_STALE = (
    "This form comes from an earlier session (you logged in again since), so this was not saved. Go back: "
    "what you typed is still in the form. Copy it, reload that page, paste it and save."
)


def _form_from_page(method: str, headers: Headers) -> bool:
    """A browser submitting one of the pages' forms (not a script, nor the pages' own fetch calls)."""
    form = headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    return method == "POST" and form and "text/html" in headers.get("accept", "")


def _not_saved(status: int, message: str) -> HTMLResponse:
    """A page saying why a form was refused and how to keep what was typed (a JSON body there read as
    gibberish, with nothing to say that the text was still one Back away)."""
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not saved · supportcue</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/static/style.css"></head><body><main id="main"><h1>Not saved</h1>'
        f'<p class="error" id="not-saved" role="alert">{message}</p></main></body></html>'
    )
    return HTMLResponse(page, status_code=status)


def unavailable_page(detail: str) -> HTMLResponse:
    """503 for a browser opening a page while the database cannot be reached: a page saying so (and
    to reload it), where a JSON body read as a broken site to the agent looking at it."""
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unavailable · supportcue</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/static/style.css"></head><body><main id="main">'
        "<h1>supportcue cannot reach its database</h1>"
        f'<p class="error" id="unavailable" role="alert">{html.escape(detail)}</p>'
        "<p>Reload this page in a few seconds.</p></main></body></html>"
    )
    return HTMLResponse(page, status_code=503, headers={"retry-after": "5"})


def _json(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _too_many(wait: int) -> JSONResponse:
    return _json(429, f"too many requests: retry in {wait} s", {"retry-after": str(wait)})


def _target(scope: Scope) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    path: str = scope["path"]
    return path + (f"?{query}" if query else "")


async def _csrf_token(headers: Headers, receive: Receive) -> tuple[Receive, str | None]:
    """The request's CSRF token: the header, or the `csrf_token` field of an urlencoded form (whose
    body is read here and handed on to the route unchanged). `_TooManyFields` for a form of more than
    `MAX_FORM_FIELDS` fields (the standard library's `parse_qs` raises a bare ValueError for it, which
    was a 500)."""
    token = headers.get(csrf.HEADER)
    if token or not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return receive, token
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False)
        if size > MAX_FORM_BYTES:
            return receive, None
    body = b"".join(chunks)
    try:
        fields = parse_qs(body.decode("latin-1"), max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise _TooManyFields from None
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    values = fields.get(csrf.FIELD)
    return replay, values[0] if values else None
