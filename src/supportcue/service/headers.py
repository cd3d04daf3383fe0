"""Security headers on every response, as one plain ASGI middleware (outside Starlette's error
handling, so a 500 carries them too).

The Content-Security-Policy allows no inline script or style: the pages' code and styles are static
files, their data sits in `<script type="application/json">` blocks, which are never executed. No page
may be framed (`frame-ancestors 'none'`, `X-Frame-Options: DENY`) except the paths given in
`frame_ancestors` (the Chatwoot embed page, for the configured Chatwoot origin only).

A response that says nothing of caching is `Cache-Control: private, no-cache`: pages and API answers
hold customers' messages and the session's CSRF token (every page's `<meta name="csrf-token">`, the
login form's, /docs's), which a shared proxy cache must never keep and hand to someone else. Not
`no-store`: Back after a refused form (the session ended) must still show the text typed into it.
Static files keep their own `no-cache`; the inbox says `private, no-store` itself (it holds no form,
and Back to it from a case just resolved showed that case still open).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",  # Swagger UI's icons are data: URLs in its style sheet
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
HSTS = "max-age=31536000"


def csp_header(directives: Mapping[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeaders:
    """Adds the security headers to every HTTP response (replacing any the app set itself).

    `frame_ancestors` maps a path prefix (the path itself and anything below it) to the sources that
    may frame it, e.g. `{"/embed/chatwoot": "https://chat.example.com"}`; those responses carry no
    X-Frame-Options, which cannot name an origin. Strict-Transport-Security goes only on https
    requests (as uvicorn sees them, X-Forwarded-Proto from a trusted proxy included).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        frame_ancestors: Mapping[str, str] | None = None,
        csp: Mapping[str, str] = CSP,
    ) -> None:
        self.app = app
        common = {
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cross-Origin-Opener-Policy": "same-origin",
        }
        self.default = {**common, "Content-Security-Policy": csp_header(csp), "X-Frame-Options": "DENY"}
        self.framed = [
            (prefix.rstrip("/"), {**common, "Content-Security-Policy": self._csp(csp, by)})
            for prefix, by in (frame_ancestors or {}).items()
        ]

    @staticmethod
    def _csp(csp: Mapping[str, str], frame_ancestors: str) -> str:
        return csp_header({**csp, "frame-ancestors": frame_ancestors})

    def headers_for(self, path: str) -> dict[str, str]:
        for prefix, headers in self.framed:
            if path == prefix or path.startswith(prefix + "/"):
                return headers
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers_for(scope["path"])
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                del headers["X-Frame-Options"]  # absent where framing is allowed
                for name, value in extra.items():
                    headers[name] = value
                if https:
                    headers["Strict-Transport-Security"] = HSTS
                if "cache-control" not in headers:  # static files say no-cache themselves
                    headers["Cache-Control"] = "private, no-cache"
            await send(message)

        await self.app(scope, receive, send_with_headers)
