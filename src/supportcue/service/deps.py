"""Dependencies of the routes, declared once as `Annotated` aliases.

Each is a plain function of the request, so a test can replace any of them through
`app.dependency_overrides[get_app_settings] = ...`.

Who is calling: `CallerDep` is the request's `Caller` (found by the `Authenticate` middleware,
`service/auth.py`), and `require(Role.AGENT, ...)` is the role check a router or route declares in its
`dependencies` (403 for a caller without any of those roles, see `security/roles.py`); a help desk's
webhook route declares `signed_by(name)` instead (the request's signature is its credential). Per-caller
state (idempotency keys, say) is scoped by `caller.id` (`key:NAME` or `user:NAME`).

The pipeline itself has no per-request dependency: requests reach it only through the micro-batcher
(`SuggesterDep`), and a test gives the app its pipeline through `create_app(..., pipeline_loader=...)`.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from supportcue.data.store import Store
from supportcue.errors import WebhookRefused
from supportcue.integrations.base import ThrottledLog
from supportcue.pipeline import SuggestRequest, SuggestResult
from supportcue.security.callers import Authenticator, Caller
from supportcue.security.roles import allows, describe
from supportcue.service.batcher import MicroBatcher
from supportcue.service.runtime import Runtime, Telemetry
from supportcue.settings import Settings
from supportcue.vocab import Role

Suggester = MicroBatcher[SuggestRequest, SuggestResult]


def get_runtime(request: Request) -> Runtime:
    """What the app holds for its lifetime (settings, store, pipeline, telemetry)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_app_settings(runtime: RuntimeDep) -> Settings:
    """The settings the app was created with."""
    return runtime.settings


def get_store(runtime: RuntimeDep) -> Store:
    return runtime.store


def get_telemetry(runtime: RuntimeDep) -> Telemetry:
    return runtime.telemetry


def get_suggester(request: Request, runtime: RuntimeDep) -> Suggester:
    """The batcher in front of the pipeline, once the models are loaded (503 with the reason before)."""
    if not runtime.ready:
        raise HTTPException(status_code=503, detail=runtime.not_ready_reason)
    suggester: Suggester = request.app.state.batcher
    return suggester


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
TelemetryDep = Annotated[Telemetry, Depends(get_telemetry)]
SuggesterDep = Annotated[Suggester, Depends(get_suggester)]


class Forbidden(HTTPException):
    """403: the caller's role does not include what the route needs (a page for a browser)."""

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=403, detail=detail)


class NotFound(HTTPException):
    """404: no `what` ("case", "answer") with the id asked for. The id is not echoed: the caller has
    it, and a help desk's case id may be the customer's address (error bodies hold no personal data).
    The console's "Not found" page says it alike."""

    def __init__(self, what: str) -> None:
        super().__init__(status_code=404, detail=f"no {what} with this id")


def get_caller(request: Request) -> Caller:
    """The authenticated caller (the middleware has answered 401 already when there is none)."""
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is None:
        raise HTTPException(401, detail="log in at /login, or send an API key as a bearer token")
    return caller


def get_authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.authenticator
    return auth


CallerDep = Annotated[Caller, Depends(get_caller)]
AuthenticatorDep = Annotated[Authenticator, Depends(get_authenticator)]


API_KEY = HTTPBearer(
    scheme_name="apiKey",
    description=(
        "An API key, made with `supportcue keys create --name NAME --role ROLE` and shown once: "
        "`Authorization: Bearer sc_...`. Logged in, /docs sends your session instead."
    ),
    auto_error=False,
)
"""How the API is called, as OpenAPI says it (so /docs has an Authorize button for a key). It only
declares the key: the `Authenticate` middleware has already found the caller, by key or session."""


def require(*roles: Role) -> Any:
    """The dependency that lets through callers whose role includes any of `roles`:
    `APIRouter(dependencies=[require(Role.AGENT, Role.INTEGRATION)])`."""
    if not roles:
        raise ValueError("require() needs at least one role")

    def check(
        caller: CallerDep, _key: Annotated[HTTPAuthorizationCredentials | None, Security(API_KEY)]
    ) -> Caller:
        if not allows(caller.role, roles):
            who = f"{caller.kind} {caller.name!r}"
            raise Forbidden(f"this needs {describe(roles)}; {who} has the {caller.role} role")
        return caller

    check.required_roles = roles  # type: ignore[attr-defined]  # for the test that every route has one
    return Depends(check)


def webhook_warnings(request: Request) -> ThrottledLog:
    """Why webhooks were refused, or ignored as another account's (the app's `ThrottledLog`): a help
    desk shows no webhook's answer, so the log (at most one line a minute per kind, never the body)
    is where an admin learns why."""
    warnings: ThrottledLog = request.app.state.webhook_warnings
    return warnings


def signed_by(help_desk: str) -> Any:
    """The dependency of a help desk's webhook route: the request must carry that help desk's valid,
    fresh signature (401 otherwise); its caller is then `webhook:<help_desk>`, of the integration role.
    The app's help desks are `app.state.help_desks` (name -> `HelpDesk`)."""

    async def check(request: Request) -> Caller:
        runtime: Runtime = request.app.state.runtime
        desk = request.app.state.help_desks[help_desk]
        try:
            desk.verify(request.headers, await request.body(), time.time())
        except WebhookRefused as exc:
            runtime.telemetry.webhooks.labels(help_desk, "refused").inc()
            webhook_warnings(request).warning("%s webhook refused (401): %s", help_desk, exc)
            raise HTTPException(401, detail=str(exc)) from None
        caller = Caller(kind="webhook", name=help_desk, role=Role.INTEGRATION)
        request.state.caller = caller
        return caller

    check.required_roles = (Role.INTEGRATION,)  # type: ignore[attr-defined]
    return Depends(check)


ANY_ROLE = (Role.AGENT, Role.INTEGRATION, Role.METRICS, Role.EMBED)
"""Every role includes one of these (the ladder starts at agent)."""
