"""The web pages: the agent console (inbox and case view) and the dashboard, server-rendered.

The case view's small script (static/console.js) asks POST /v1/suggest for a suggestion, and posts
what the agent does with it to POST /v1/events, with the page's CSRF token. What the templates show is
built in `views.py`. The console is the agent's; the dashboard the reviewer's (support-ops).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from supportcue.boundary import Text, check_text, check_time
from supportcue.data.store import Store
from supportcue.experiments.report import overview
from supportcue.monitoring.helpdesks import helpdesk_health
from supportcue.monitoring.metrics import compute_dashboard, parse_range
from supportcue.review.stats import review_stats
from supportcue.security.roles import includes
from supportcue.service.auth import wants_page
from supportcue.service.deps import NotFound, RuntimeDep, StoreDep, require
from supportcue.service.runtime import Runtime
from supportcue.service.views import (
    case_data,
    dashboard_context,
    date_box,
    freshness_panels,
    helpdesk_panel,
    marked,
    served_models,
)
from supportcue.settings import Settings
from supportcue.vocab import CaseStatus, EventKind, Role

HERE = Path(__file__).resolve().parent.parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["can"] = lambda caller, role: caller is not None and includes(caller.role, Role(role))
templates.env.filters["path_part"] = lambda value: quote(str(value), safe="")
templates.env.globals["date_box"] = date_box
templates.env.filters["marked"] = marked
templates.env.filters["breakable"] = lambda value: Markup(str(escape(str(value))).replace("_", "_<wbr>"))
"""A topic may break after its underscores (`payment_methods` is one word to the browser)."""
"""`/cases/{{ c.id|path_part }}`: an external id may hold `#`, `?`, `/` or `%`."""
router = APIRouter(include_in_schema=False)
INBOX_LIMIT = 200
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}
STATIC_FILES = {p.name: p for p in STATIC.iterdir() if p.is_file() and not p.name.startswith(".")}
"""The files /static/ serves, listed once: a requested name is looked up here, never on the disk."""


def static_file(files: dict[str, Path], name: str) -> FileResponse:
    """One of `files` by name, or a 404 (whatever the name: too long, NUL bytes, `..`)."""
    path = files.get(name)
    if path is None:
        raise HTTPException(404, detail="no static file with this name")
    media_type = TYPES.get(path.suffix, "application/octet-stream")
    return FileResponse(path, media_type=media_type, headers={"cache-control": "no-cache"})


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    """The pages' own scripts and style sheet (vendored; nothing is fetched from elsewhere)."""
    return static_file(STATIC_FILES, name)


@router.get("/", response_class=HTMLResponse, dependencies=[require(Role.AGENT)])
async def inbox(request: Request, store: StoreDep, before: str | None = None) -> Response:
    """Open cases, newest first, `INBOX_LIMIT` a page; `before=<created_at>,<id>` (the last case of
    the page before, as the "Older cases" link gives it) lists the ones after it (keyset: one query a
    page however deep, and a case opened meanwhile does not shift the pages)."""
    after = _inbox_cursor(before) if before is not None else None
    if before is not None and after is None:
        detail = "before must be a case's time and id, as the Older cases link gives"
        return templates.TemplateResponse(
            request, "invalid.html", {"detail": detail, "back": "/"}, status_code=422
        )
    rows = await run_in_threadpool(
        store.cases.list, status=CaseStatus.OPEN, newest_first=True, limit=INBOX_LIMIT + 1, after=after
    )
    cases, more = rows[:INBOX_LIMIT], len(rows) > INBOX_LIMIT
    # past the cases listed, how many are open (the list's length said "200 open" of thousands)
    total = (
        len(cases)
        if not more and after is None
        else await run_in_threadpool(store.cases.count, CaseStatus.OPEN)
    )
    older = None
    if more:
        last = cases[-1]
        older = "/?before=" + quote(f"{last.created_at.isoformat()},{last.id}", safe=":")
    context: dict[str, Any] = {"cases": cases, "total": total, "older": older, "paged": after is not None}
    response = templates.TemplateResponse(request, "inbox.html", context)
    # Back from a case just resolved showed the inbox kept from before, the case still open in it: a
    # list that holds no form the agent typed into is read afresh every time (`no-store`)
    response.headers["cache-control"] = "private, no-store"
    return response


def _inbox_cursor(before: str) -> tuple[datetime, str] | None:
    """`<created_at>,<id>` as the "Older cases" link writes it, or None when it is not that: a time
    outside what a case can have (`check_time`: year 1 east of UTC could not be converted to UTC to be
    bound, a 500) or an id that is not storable text (a NUL byte, which PostgreSQL refused: a 500)."""
    at, comma, case_id = before.partition(",")
    if not comma or not case_id:
        return None
    try:
        return check_time(datetime.fromisoformat(at)), check_text(case_id)
    except ValueError:
        return None


@router.get("/cases/{case_id:path}", response_class=HTMLResponse, dependencies=[require(Role.AGENT)])
async def case_view(request: Request, case_id: Text, store: StoreDep) -> Response:
    """One case: the customer's message, the conversation, and the reply box with the suggestion; a
    closed case shows the last reply sent to it (the answer to its latest message; earlier replies are in
    its conversation) instead of the reply box."""
    case = await run_in_threadpool(store.cases.get, case_id)
    if case is None:
        return templates.TemplateResponse(
            request, "missing.html", {"what": "case with this id"}, status_code=404
        )
    answers = await run_in_threadpool(store.library.answers)
    titles = {a.id: a.title for a in answers}
    sent = None
    if case.status != CaseStatus.OPEN:
        events = await run_in_threadpool(store.events.list, case_id, EventKind.SENT)
        sent = next((e for e in reversed(events) if e.text), None)
    return templates.TemplateResponse(
        request, "case.html", {"case": case, "data": case_data(case), "titles": titles, "sent": sent}
    )


@router.post("/cases/{case_id:path}/resolve", response_model=None, dependencies=[require(Role.AGENT)])
async def resolve(request: Request, case_id: Text, store: StoreDep) -> Response:
    """Mark a case resolved (after the reply is sent); answers the next open case."""
    case = await run_in_threadpool(store.cases.get, case_id)
    if case is None:
        raise NotFound("case")
    await run_in_threadpool(store.cases.set_status, case_id, CaseStatus.RESOLVED)
    following = await run_in_threadpool(store.cases.list, status=CaseStatus.OPEN, newest_first=True, limit=1)
    next_url = f"/cases/{quote(following[0].id, safe='')}" if following else "/"
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"case_id": case_id, "status": CaseStatus.RESOLVED, "next": next_url})
    return RedirectResponse(next_url, status_code=303)


@router.get("/dashboard", response_class=HTMLResponse, dependencies=[require(Role.REVIEWER)])
async def dashboard(
    request: Request,
    runtime: RuntimeDep,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    """Is the assistant used, and where does it fail: rates over time, topics, funnel, shadow stages;
    which model versions are live in the registry, and which this server serves; the newest
    experiments (over their whole run, whatever the dates chosen); and the online precision the
    reviewers measured on the suggestions of the period (whenever reviewed) beside their match rate.
    Dates that are not ISO dates, or backwards: a browser gets a page saying so with the date form
    (422), a script JSON."""
    try:
        start, end = parse_range(since, until)
    except ValueError as exc:
        if not wants_page(request.method, request.headers):
            raise HTTPException(422, detail=str(exc)) from None
        again = {
            "detail": str(exc),
            "since": since or "",
            "until": until or "",
            "one_day": _one_day(since, until),
        }
        return templates.TemplateResponse(request, "dashboard_dates.html", again, status_code=422)
    data = await run_in_threadpool(compute_dashboard, runtime.store, runtime.settings, start, end)
    settings = runtime.settings
    experiments = await run_in_threadpool(
        overview,
        runtime.store,
        settings.match.threshold,
        max_handle_seconds=settings.experiments.handle_cap,
    )
    context = dashboard_context(data, since, until, served_models(runtime), experiments)
    context["help_desks"] = await run_in_threadpool(_help_desks, request, runtime.store, runtime.settings)
    context |= await run_in_threadpool(freshness_panels, runtime.store, runtime.settings, start, end)
    context["findings"] = [*context.pop("library_findings"), *context["findings"]]
    context["review"] = await run_in_threadpool(
        review_stats, runtime.store, None, data["match_rate"], (start, end)
    )
    return templates.TemplateResponse(request, "dashboard.html", context)


def _one_day(since: str | None, until: str | None) -> dict[str, str] | None:
    """The same date chosen as From and Until (which is exclusive): that day, and the Until that shows
    it, for the page to offer in one click."""
    try:
        day = date.fromisoformat(since or "") if since == until else None
    except ValueError:
        return None
    if day is None or day >= date.max:
        return None
    return {"day": day.isoformat(), "until": (day + timedelta(days=1)).isoformat()}


def _help_desks(request: Request, store: Store, settings: Settings) -> list[dict[str, Any]]:
    """Each help desk's connection health, and what the service (every worker) counted since it started."""
    runtime: Runtime = request.app.state.runtime
    base = settings.service.public_url or str(request.base_url).rstrip("/")
    return [
        helpdesk_panel(
            helpdesk_health(store, name),
            runtime.telemetry.counts(runtime.telemetry.webhooks, name),
            desk.unable_to_post,
            f"{base}/integrations/{name}/webhook",
        )
        for name, desk in request.app.state.help_desks.items()
    ]
