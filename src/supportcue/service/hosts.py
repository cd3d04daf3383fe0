"""Trusted hosts: a request whose Host header names no allowed host gets a 400 that says which setting
to change. This stops DNS rebinding (a web page that makes a browser talk to a service on localhost
under the page's own host name).

Like Starlette's TrustedHostMiddleware (`*` allows any host, `*.example.com` any subdomain), but it
understands IPv6 hosts (`[::1]:8000`) and answers with a JSON message naming the setting. A header
that is no host name and port (`localhost:@evil.example`), or a request with two Host headers, is
refused too: the app builds its own address from the header (`request.base_url`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from supportcue.boundary import is_digits

_NAME = re.compile(r"[a-z0-9._-]+")
_IPV6 = re.compile(r"[0-9a-f:.]+")


def host_name(header: str) -> str:
    """The host of a Host header, without the port and the brackets of an IPv6 address; "" when the
    header is no host and port: a port that is not a number, or a name with characters no host name
    has (`localhost:@evil.example` and `evil.example#.example.com` are read as `evil.example` by a
    URL parser, and the app builds its own address, `request.base_url`, from the header)."""
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        rest = header[end + 1 :] if end > 0 else ":x"
        inside = header[1:end]
        return inside if _port_or_nothing(rest) and _IPV6.fullmatch(inside) else ""
    if header.count(":") > 1:  # an IPv6 address without its brackets
        return header if _IPV6.fullmatch(header) else ""
    name, _, port = header.partition(":")
    return name if _NAME.fullmatch(name) and (not port or is_digits(port)) else ""


def _port_or_nothing(rest: str) -> bool:
    return not rest or (rest.startswith(":") and (rest == ":" or is_digits(rest[1:])))


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
        headers = [value.decode("latin-1") for name, value in scope["headers"] if name == b"host"]
        host = host_name(headers[0]) if len(headers) == 1 else ""
        if self.allowed(host):
            await self.app(scope, receive, send)
            return
        if len(headers) > 1:  # which one a proxy in front read is anyone's guess (RFC 9112: a 400)
            detail = f"the request has {len(headers)} Host headers; send one"
        else:
            raw = headers[0].strip() if headers else ""
            shown = repr((host or raw)[:100]) if raw else "(none)"
            detail = (
                f"this server does not answer to the host name {shown}; add it to [service] "
                "allowed_hosts in supportcue.toml (or SUPPORTCUE_SERVICE__ALLOWED_HOSTS)"
            )
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": body})
