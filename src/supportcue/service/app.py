"""The FastAPI application: suggestions, events, metrics, health, and the web pages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Scope

from supportcue import __version__
from supportcue.boundary import error_words
from supportcue.data.database import unavailable_reason
from supportcue.data.store import Store, open_store
from supportcue.errors import DatabaseUnavailable, UnstorableValue
from supportcue.experiments import assign_case, with_assignment
from supportcue.integrations import Backoff, ChatwootHelpDesk, NoteWorker, NotReady
from supportcue.integrations.base import ThrottledLog
from supportcue.monitoring.alerts import AlertCollector
from supportcue.monitoring.helpdesks import HealthCollector
from supportcue.pipeline import SuggestRequest, SuggestResult
from supportcue.security.callers import Authenticator, ChangeListener
from supportcue.security.devices import DeviceCookies
from supportcue.security.ratelimit import RateLimiter, SharedRateLimiter
from supportcue.security.redaction import install_log_redaction
from supportcue.service import outage
from supportcue.service.auth import Authenticate, unavailable_page, wants_page
from supportcue.service.batcher import MicroBatcher
from supportcue.service.deps import Forbidden
from supportcue.service.head import HeadAsGet
from supportcue.service.headers import SecurityHeaders
from supportcue.service.hosts import TrustedHosts
from supportcue.service.middleware import MAX_BODY_BYTES, AnswerFailures, LimitsAndMetrics
from supportcue.service.routes import (
    admin,
    alerts,
    answers,
    cases,
    docs,
    embed,
    events,
    health,
    library,
    login,
    messages,
    metrics,
    pages,
    review,
    suggest,
    webhooks,
)
from supportcue.service.runtime import PipelineLoader, Runtime, WorkspacePipelines
from supportcue.service.writer import SuggestionWriter
from supportcue.settings import Settings, get_settings

log = logging.getLogger("supportcue.service")


SEND_AN_OBJECT = "send a JSON object with content-type: application/json"


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Each error as {loc, msg, type}; never the input (it may be a customer's message)."""
    out = []
    for err in exc.errors():
        loc, kind = list(err.get("loc", ())), str(err.get("type", "invalid"))
        msg = error_words(err)
        if kind == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "")
            at = f" at character {loc[1]}" if len(loc) > 1 and loc[1] else ""
            loc, msg = ["body"], f"the request body is not valid JSON{at}: {reason}".rstrip(": ")
        elif loc == ["body"] and kind == "missing":  # no body, or JSON null
            msg = f"the body is empty: {SEND_AN_OBJECT}"
        elif loc == ["body"] and (isinstance(err.get("input"), bytes | str) or kind.endswith("_type")):
            msg = f"send the body as {SEND_AN_OBJECT[5:]}"  # not JSON, or an array, number or string
        out.append({"loc": loc, "msg": msg, "type": kind})
    return out


METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _methods_of(app: FastAPI, scope: Scope) -> list[str]:
    """The methods the request's path answers to, whichever router each is a route of, and HEAD
    wherever GET (`service/head.py`). Every route is asked (`matches`) rather than listed: FastAPI
    keeps included routers nested in `app.routes`."""
    found = {
        method
        for method in METHODS
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in app.router.routes)
    }
    if "GET" in found:
        found.add("HEAD")
    return sorted(found)


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path")) or err["loc"][0]
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


MAX_WEBHOOK_BYTES = 16 * 1_048_576
"""A help desk's webhook body. Most of Chatwoot's are a few kB, but an e-mail's carries its HTML and
text three ways (full, reply, quoted), twice (the message, and the conversation's last message),
with `<`, `>` and `&` written as six bytes each: a reply on an Outlook thread of 200 kB of HTML is
1.5 MB, and a refused webhook is a customer message lost (Chatwoot does not send it again)."""
NOTE_WAIT_S = 60.0
"""How long the outbox worker waits for a suggestion from the micro-batcher."""


def _webhook_too_large(app: FastAPI) -> Callable[[str, str], None]:
    """What a 413 on a help desk's webhook does: counted (`too_large`) and one warning line (at most
    one a minute, as for the other refused webhooks): the help desk shows no answer and does not send
    the webhook again, so the log is where an admin learns that a message was lost."""

    def too_large(path: str, detail: str) -> None:
        for name in app.state.help_desks:
            if path == f"/integrations/{name}/webhook":
                app.state.runtime.telemetry.webhooks.labels(name, "too_large").inc()
                app.state.webhook_warnings.warning("%s webhook refused (413): %s", name, detail)

    return too_large


def _note_workers(
    runtime: Runtime, batcher: MicroBatcher[SuggestRequest, SuggestResult], chatwoot: ChatwootHelpDesk
) -> dict[str, NoteWorker]:
    """The outbox workers (started): Chatwoot's once its webhook can be received (a secret is set)."""
    settings = runtime.settings.chatwoot
    if not settings.webhook_secret.get_secret_value():
        return {}
    loop = asyncio.get_running_loop()

    def suggest_now(item: SuggestRequest) -> SuggestResult:
        """A suggestion through the micro-batcher, from the worker's thread (stored like any other)."""
        if not runtime.ready:
            raise NotReady(runtime.not_ready_reason)
        if item.case_id:  # the case's arm in the running experiment, recorded at first sight
            item = with_assignment(item, assign_case(runtime.store, item.case_id))
        return asyncio.run_coroutine_threadsafe(batcher.submit(item), loop).result(NOTE_WAIT_S)

    worker = NoteWorker(
        runtime.store,
        chatwoot,
        suggest_now,
        max_attempts=settings.max_attempts,
        backoff=Backoff(first_s=settings.retry_seconds),
        observer=runtime.telemetry,
        claim_lease_s=suggest.claim_lease_s(runtime.settings),
    )
    worker.start()
    return {chatwoot.name: worker}


EMBED_PATHS = (embed.CHATWOOT_PATH,)
"""Pages a help desk shows in an iframe: the configured Chatwoot origin may frame them."""


class _App(FastAPI):
    """FastAPI with the security headers as its outermost layer, outside Starlette's error handling
    (which `add_middleware` cannot reach), so that an unhandled error's 500 carries them too."""

    frame_ancestors: dict[str, str]

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack(), frame_ancestors=self.frame_ancestors)

    def openapi(self) -> dict[str, Any]:
        """FastAPI's schema, where each operation that needs a caller (it declares the API key, see
        `deps.API_KEY`) also documents what any such operation may answer: 401 without a caller, 403
        to a role it does not allow (`deps.require`), 429 past the caller's rate limit."""
        schema = super().openapi()
        problem = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        answers = {
            "401": "no caller: send an API key (`Authorization: Bearer sc_...`) or log in",
            "403": "the caller's role does not allow this (`detail` says which role does)",
            "429": "over the caller's rate limit (`[security] rate_per_minute`, `burst`): retry after "
            "`Retry-After` seconds",
        }
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if operation.get("security"):
                    responses = operation.setdefault("responses", {})
                    for status, description in answers.items():
                        responses.setdefault(status, {"description": description, "content": problem})
        return schema


async def _follow(
    runtime: Runtime, loader: PipelineLoader, stop: asyncio.Event, loaded: asyncio.Event
) -> None:
    """Load the pipeline (then set `loaded`, whether it loaded or failed), then follow the model
    registry until `stop`: every `registry_poll_s`, a promotion or rollback is loaded off the request
    path and swapped in (see `runtime.py`)."""
    try:
        await asyncio.to_thread(runtime.load, loader)
    finally:
        loaded.set()
    every = runtime.settings.service.registry_poll_s
    while every > 0 and not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
        if not stop.is_set():
            await asyncio.to_thread(runtime.follow_registry)


def _follow_callers(store: Store, authenticator: Authenticator) -> ChangeListener | None:
    """PostgreSQL: a thread that drops the cached callers the moment another process changes who may
    call (a revoked key stops working at once in every worker); None on SQLite."""
    if store.db.dialect != "postgresql":
        return None
    url = store.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    listener = ChangeListener(url, authenticator.forget)
    listener.start()
    return listener


def create_app(
    settings: Settings | None = None,
    *,
    pipeline_loader: PipelineLoader | None = None,
    load_models: bool = True,
    start_loaded: bool = False,
) -> FastAPI:
    """Build the app for a workspace (by default the one `get_settings()` finds).

    The pipeline loads in the background through `pipeline_loader` (by default the workspace's live
    models), and again whenever the registry's live versions change; /readyz says when it is ready,
    or why it failed. `load_models=False` never loads one (for looking at the routes and the OpenAPI
    schema only). `start_loaded` makes start-up wait for the first load (or its failure), so the
    server accepts no connection before: a worker of `serve --workers N` that starts or restarts
    leaves the connections to the workers that are ready, rather than answering 503 "loading".
    """
    settings = settings if settings is not None else get_settings()
    install_log_redaction()
    loader = pipeline_loader or WorkspacePipelines()
    write_timeout_ms = settings.service.write_timeout_ms
    store = open_store(settings.database_url, busy_timeout_ms=write_timeout_ms)
    runtime = Runtime(settings=settings, store=store)

    chatwoot = ChatwootHelpDesk(settings.chatwoot)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # a group may wait for the lock once, and the groups queued before it as long
        timeout_s = 3 * write_timeout_ms / 1000 + 5
        runtime.writer = SuggestionWriter(runtime.store.cases.add_suggestions, timeout_s=timeout_s)
        batcher = MicroBatcher(runtime.suggest_batch, wait_ms=settings.service.batch_wait_ms)
        await batcher.start()
        app.state.batcher = batcher
        stop, loaded = asyncio.Event(), asyncio.Event()
        models = asyncio.create_task(_follow(runtime, loader, stop, loaded)) if load_models else None
        if models is not None and start_loaded:
            await loaded.wait()
        workers = app.state.note_workers = _note_workers(runtime, batcher, chatwoot)
        changes = _follow_callers(runtime.store, app.state.authenticator)
        yield
        if changes is not None:
            changes.stop()
        for worker in workers.values():
            worker.stop()
        stop.set()
        if models is not None:
            await models  # a load under way finishes first: it uses the store
        await batcher.stop()
        await asyncio.to_thread(runtime.close_shadows)
        runtime.writer.close()
        chatwoot.close()
        runtime.store.close()
        runtime.telemetry.close()

    app = _App(
        title="supportcue",
        version=__version__,
        description="Reply suggestions for support agents, and the events that show whether they are used.",
        lifespan=lifespan,
        docs_url=None,  # routes/docs.py serves Swagger UI from the package, with no inline script
        redoc_url=None,  # ReDoc would load from a CDN
        openapi_url=None,  # routes/docs.py serves it, for callers only
    )
    origin = settings.chatwoot.origin
    app.frame_ancestors = {path: origin for path in EMBED_PATHS} if origin else {}
    app.state.runtime = runtime
    app.state.help_desks = {chatwoot.name: chatwoot}
    app.state.note_workers = {}
    app.state.webhook_warnings = ThrottledLog(logging.getLogger("supportcue.integrations"))
    runtime.telemetry.add_collector(HealthCollector(runtime.store, list(app.state.help_desks)))
    runtime.telemetry.add_collector(AlertCollector(runtime.store))
    security = settings.security
    app.state.authenticator = Authenticator(runtime.store, security)
    attempts = security.login_attempts_per_minute
    app.state.login_limiter = SharedRateLimiter(runtime.store.rate_buckets, attempts, attempts)
    app.state.device_cookies = DeviceCookies(runtime.store.signing_keys)
    app.state.password_checks = login.PasswordChecks()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """FastAPI's own answer, but a 405's `Allow` lists every method of the path: one path's
        methods may be routes of different routers (GET and POST /v1/answers); an address no route
        has, opened in a browser, is the "Not found" page (it was the raw JSON); an address that only
        takes a POST (/logout, /v1/events), opened in a browser, is a page saying so (for /logout,
        with the logout button) with a 405 still, and a script still gets the JSON 405."""
        if (
            exc.status_code == 404
            and "route" not in request.scope
            and wants_page(request.method, request.headers)
        ):
            context = {"what": "page at this address"}
            return pages.templates.TemplateResponse(request, "missing.html", context, status_code=404)
        if exc.status_code == 405:
            allow = ", ".join(_methods_of(app, request.scope))
            exc.headers = {**(exc.headers or {}), "Allow": allow}
            if wants_page(request.method, request.headers):
                context = {"path": request.url.path, "allow": " or ".join(allow.split(", "))}
                return pages.templates.TemplateResponse(
                    request, "wrong_method.html", context, status_code=405, headers=exc.headers
                )
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        """422 with each field's problem: JSON, or for a browser asking for a page (a query too long,
        say) a page that says so."""
        errors = _field_errors(exc)
        if wants_page(request.method, request.headers):
            context = {"detail": _describe(errors), "back": request.url.path}
            return pages.templates.TemplateResponse(request, "invalid.html", context, status_code=422)
        return JSONResponse({"detail": _describe(errors), "errors": errors}, 422)

    @app.exception_handler(Exception)
    async def _failed(request: Request, exc: Exception) -> Response:
        """A bug or an outage: the caller gets an id to quote, the log (redacted) gets the detail and
        the traceback, once (`AnswerFailures` answers it, so uvicorn does not log it again). A browser
        opening a page gets the console's error page with the id (it got the raw JSON)."""
        request_id = secrets.token_hex(8)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        log.error(
            "request %s: %s %s failed: %s: %s",
            request_id,
            request.method,
            route,
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
        detail = f"internal error; the server log has the details under request id {request_id}"
        if wants_page(request.method, request.headers):
            return pages.templates.TemplateResponse(
                request,
                "error.html",
                {"request_id": request_id},
                status_code=500,
                headers={"x-request-id": request_id},
            )
        return JSONResponse(
            {"detail": detail, "request_id": request_id}, 500, headers={"x-request-id": request_id}
        )

    @app.exception_handler(DatabaseUnavailable)
    @app.exception_handler(sa_exc.OperationalError)
    @app.exception_handler(sa_exc.InterfaceError)
    @app.exception_handler(sa_exc.TimeoutError)
    async def _unavailable(request: Request, exc: Exception) -> Response:
        """The database cannot take writes (events, pages): a 503 the client may retry; a browser
        opening a page gets a page saying so. An error of the SQL rather than of the database (a
        column the schema lacks: SQLite raises an OperationalError for it too) is a bug: a 500 in
        the log, as any other."""
        if unavailable_reason(exc) is None:
            return await _failed(request, exc)
        if wants_page(request.method, request.headers):
            reason = unavailable_reason(exc) or "the database cannot be reached or stopped answering"
            return unavailable_page(reason)
        return outage.unavailable(exc)

    @app.exception_handler(UnstorableValue)
    async def _unstorable(request: Request, exc: UnstorableValue) -> JSONResponse:
        return outage.unstorable(exc)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if wants_page(request.method, request.headers):
            return pages.templates.TemplateResponse(
                request, "forbidden.html", {"detail": exc.detail}, status_code=403
            )
        return JSONResponse({"detail": exc.detail}, 403)

    # the last added runs first: metrics count every answer, the caller is known before any route
    app.add_middleware(HeadAsGet)
    app.add_middleware(
        Authenticate,
        authenticator=app.state.authenticator,
        limiter=RateLimiter(security.rate_per_minute, security.burst),
        timeout_s=settings.service.write_timeout_ms / 1000,
    )
    app.add_middleware(
        LimitsAndMetrics,
        telemetry=runtime.telemetry,
        limits={
            "/v1/events": (settings.service.max_event_bytes, "event body"),
            "/v1/suggest": (suggest.body_limit(settings), "request body"),
            "/v1/messages": (suggest.body_limit(settings), "request body"),
            "/integrations/chatwoot/webhook": (MAX_WEBHOOK_BYTES, "webhook body"),
        },
        default=(MAX_BODY_BYTES, "request body"),
        too_large=_webhook_too_large(app),
    )

    app.add_middleware(TrustedHosts, allowed_hosts=settings.service.allowed_hosts)
    # an unhandled error: one 500 and one log entry (Starlette's own layer would raise it on to uvicorn)
    app.add_middleware(AnswerFailures, answer=_failed)

    routers = (
        health.router,
        login.router,
        docs.router,
        suggest.router,
        events.router,
        answers.router,
        library.api,
        library.pages,
        messages.router,
        webhooks.router,
        metrics.router,
        embed.router,
        review.router,
        alerts.router,
        cases.router,
    )
    for router in (*routers, review.pages, admin.pages, pages.router):
        app.include_router(router)
    return app
