"""Trusted hosts: a request whose Host header names no allowed host gets a 400 that says which setting
to change. This stops DNS rebinding (a web page that makes a browser talk to a service on localhost
under the page's own host name).

Like Starlette's TrustedHostMiddleware (`*` allows any host, `*.example.com` any subdomain), but it
understands IPv6 hosts (`[::1]:8000`) and answers with a JSON message naming the setting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send


def host_name(header: str) -> str:
    """The host of a Host header, without the port and the brackets of an IPv6 address."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else ""
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class TrustedHosts:
    """Answers 400 to HTTP and WebSocket requests whose Host header is not allowed."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        hosts = [h.lower() for h in allowed_hosts]
        self.any = "*" in hosts
        self.exact = {h for h in hosts if not h.startswith("*")}
        self.suffixes = tuple(h[1:] for h in hosts if h.startswith("*."))  # ".example.com"

    def allowed(self, host: str) -> bool:
        return self.any or host in self.exact or (bool(host) and host.endswith(self.suffixes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.any:
            await self.app(scope, receive, send)
            return
        header = ""
        for name, value in scope["headers"]:
            if name == b"host":
                header = value.decode("latin-1")
                break
        host = host_name(header)
        if self.allowed(host):
            await self.app(scope, receive, send)
            return
        shown = repr(host[:100]) if host else "(none)"
        detail = (
            f"this server does not answer to the host name {shown}; add it to [service] allowed_hosts "
            "in supportcue.toml (or SUPPORTCUE_SERVICE__ALLOWED_HOSTS)"
        )
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": body})
