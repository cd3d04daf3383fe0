"""Body-size limits and request metrics as one plain ASGI middleware (cheap on the hot path)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supportcue.service.runtime import Telemetry


class _TooLarge(Exception):
    pass


class LimitsAndMetrics:
    """Rejects bodies over the route's limit with 413 (by Content-Length, or while reading a chunked
    body) and counts requests and latency per route template for Prometheus."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry, limits: Mapping[str, tuple[int, str]]) -> None:
        self.app = app
        self.telemetry = telemetry
        self.limits = dict(limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"])
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
                await self._too_large(send, int(declared), size, what)
                self._count(scope, "POST", 413, 0.0)
                return
            seen = 0

            async def counting_receive() -> Message:
                nonlocal seen
                message = await receive()
                seen += len(message.get("body", b""))
                if seen > size:
                    raise _TooLarge(seen)
                return message

            inner_receive = counting_receive
        start = time.perf_counter()
        try:
            await self.app(scope, inner_receive, send_wrapper)
        except _TooLarge as exc:
            if started:
                raise
            assert limit is not None
            status = 413
            await self._too_large(send, int(exc.args[0]), limit[0], limit[1])
        finally:
            self._count(scope, scope.get("method", ""), status, time.perf_counter() - start)

    def _count(self, scope: Scope, method: str, status: int, seconds: float) -> None:
        route: Any = scope.get("route")
        name = getattr(route, "path", "unmatched")
        self.telemetry.requests.labels(name, method, str(status)).inc()
        self.telemetry.latency.labels(name).observe(seconds)

    @staticmethod
    async def _too_large(send: Send, got: int, limit: int, what: str) -> None:
        body = json.dumps({"detail": f"{what} is {got:,} bytes; the limit is {limit:,}"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
