"""Body-size limits and request metrics as one plain ASGI middleware (cheap on the hot path); and the
one answer (and one log entry) for an unhandled error (`AnswerFailures`)."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supportcue.security.redaction import personal_scope
from supportcue.service.runtime import Telemetry

MAX_BODY_BYTES = 1_048_576
"""A request body on a path without a limit of its own (an answer of 20,000 characters, a review, a
form: well under it); without a limit a caller, even of the embed key, could make a worker read and
parse gigabytes. The CSRF check reads a form up to it too (`service/auth.py`)."""


def _detail(what: str, size: str, limit: int) -> str:
    return f"{what} is {size} bytes; the limit is {limit:,}"


class _TooLarge(HTTPException):
    """A chunked body found over its limit while it is read. An HTTPException, since FastAPI turns any
    other error raised while it reads a body into a 400 "There was an error parsing the body"; this
    one it passes on, and the app answers it as the 413 it is."""

    def __init__(self, seen: int, limit: int, what: str) -> None:
        super().__init__(413, detail=_detail(what, f"at least {seen:,}", limit))


class LimitsAndMetrics:
    """Rejects bodies over the path's limit (`limits`, else `default`) with 413 (by Content-Length, or
    while reading a chunked body) and counts requests and latency per route template for Prometheus.
    `too_large(path, detail)` hears of each 413 (a help desk's webhook refused: logged, counted)."""

    def __init__(
        self,
        app: ASGIApp,
        telemetry: Telemetry,
        limits: Mapping[str, tuple[int, str]],
        default: tuple[int, str] | None = None,
        too_large: Callable[[str, str], None] | None = None,
    ) -> None:
        self.app = app
        self.telemetry = telemetry
        self.limits = dict(limits)
        self.default = default
        self.too_large = too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        status = 500
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
            await send(message)

        inner_receive = receive
        if limit is not None:
            size, what = limit
            declared = dict(scope["headers"]).get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > size:
                detail = _detail(what, f"{int(declared):,}", size)
                await self._too_large(send, detail)
                self._count(scope, scope.get("method", ""), 413, 0.0)
                self._refused(scope, detail)
                return
            seen = 0

            async def counting_receive() -> Message:
                nonlocal seen
                message = await receive()
                seen += len(message.get("body", b""))
                if seen > size:
                    raise _TooLarge(seen, size, what)
                return message

            inner_receive = counting_receive
        start = time.perf_counter()
        try:
            await self.app(scope, inner_receive, send_wrapper)
        except _TooLarge as exc:  # raised outside a route (the CSRF check reads a form's body)
            if started:
                raise
            status = 413
            await self._too_large(send, exc.detail)
        finally:
            self._count(scope, scope.get("method", ""), status, time.perf_counter() - start)
            if status == 413 and limit is not None:  # a chunked body, found over its limit as it was read
                self._refused(scope, _detail(limit[1], f"at least {seen:,}", limit[0]))

    def _refused(self, scope: Scope, detail: str) -> None:
        if self.too_large is not None:
            self.too_large(scope["path"], detail)

    def _count(self, scope: Scope, method: str, status: int, seconds: float) -> None:
        route: Any = scope.get("route")
        name = getattr(route, "path", "unmatched")
        self.telemetry.requests.labels(name, method, str(status)).inc()
        self.telemetry.latency.labels(name).observe(seconds)

    @staticmethod
    async def _too_large(send: Send, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class AnswerFailures:
    """Turns an error no handler took into `answer`'s 500 (which logs it, redacted, with its traceback
    under a request id) and ends there. Starlette's outermost layer answers it the same way but then
    raises it again, for the server to log: uvicorn logged every 500 a second time in full, as
    "Exception in ASGI application", without the request id. An error after the response has started
    (too late for a 500) is logged by `answer` too; the server then closes the connection.

    Each request runs in a `personal_scope`: its log records, this 500's included, are redacted of
    the customer's name and field values it carries (`SuggestRequest` remembers them)."""

    def __init__(self, app: ASGIApp, answer: Callable[[Request, Exception], Awaitable[Response]]) -> None:
        self.app = app
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        with personal_scope():
            try:
                await self.app(scope, receive, send_wrapper)
            except Exception as exc:
                response = await self.answer(Request(scope, receive), exc)
                if not started:
                    await response(scope, receive, send)
