"""HEAD wherever GET: uptime checkers and load balancers send HEAD, which FastAPI's routes (unlike
Starlette's) do not answer. One plain ASGI middleware, rather than HEAD added to each route (which
would put a HEAD operation for every GET one in the OpenAPI schema).

A HEAD request to a path with a GET route and no HEAD route of its own is routed as that GET, with the
same caller, role checks and headers, and its body is dropped. It sits inside the authentication
(which treats HEAD as GET already) and the metrics, which see and count it as the HEAD it is.
"""

from __future__ import annotations

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def answers(scope: Scope, method: str) -> bool:
    """Whether a route of the request's app takes `method` at the request's path."""
    routes = getattr(getattr(scope.get("app"), "router", None), "routes", ())
    probe = {**scope, "method": method}
    return any(route.matches(probe)[0] == Match.FULL for route in routes)


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or answers(scope, "HEAD"):
            await self.app(scope, receive, send)
            return
        if not answers(scope, "GET"):
            await self.app(scope, receive, send)  # a 404, or a 405 that lists the path's methods
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        # A copy: the server reads the method from its own scope (no body for HEAD); what the router
        # leaves in the copy (the matched route) goes back to the metrics outside.
        routed = {**scope, "method": "GET"}
        try:
            await self.app(routed, receive, without_body)
        finally:
            scope.update({key: value for key, value in routed.items() if key != "method"})
