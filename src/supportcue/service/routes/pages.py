"""The web pages: the agent console (inbox and case view) and the dashboard, server-rendered.

The case view's small script (static/console.js) asks POST /v1/suggest for a suggestion, and posts
what the agent does with it to POST /v1/events. The dashboard's charts are inline SVG drawn here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from supportcue.data.tables import Case
from supportcue.monitoring.metrics import compute_dashboard, parse_time
from supportcue.service.deps import SettingsDep, StoreDep

HERE = Path(__file__).resolve().parent.parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)
INBOX_LIMIT = 200
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


def _case_json(case: Case) -> dict[str, Any]:
    return {
        "case_id": case.id,
        "message": case.message,
        "customer_name": case.customer_name,
        "context": [t if isinstance(t, dict) else {"text": str(t)} for t in case.context or []],
        "fields": {k: str(v) for k, v in (case.fields or {}).items()},
    }


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    """The console's own script and style sheet (vendored; nothing is fetched from elsewhere)."""
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise HTTPException(404, detail=f"no static file {name!r}")
    return FileResponse(
        path,
        media_type=_TYPES.get(path.suffix, "application/octet-stream"),
        headers={"cache-control": "no-cache"},
    )


@router.get("/", response_class=HTMLResponse)
async def inbox(request: Request, store: StoreDep) -> Response:
    """Open cases, newest first."""
    cases = await run_in_threadpool(store.cases, status="open", newest_first=True, limit=INBOX_LIMIT)
    return templates.TemplateResponse(request, "inbox.html", {"cases": cases, "limit": INBOX_LIMIT})


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_view(request: Request, case_id: str, store: StoreDep) -> Response:
    """One case: the customer's message, the conversation, and the reply box with the suggestion."""
    case = await run_in_threadpool(store.case, case_id)
    if case is None:
        return templates.TemplateResponse(
            request, "missing.html", {"what": f"case {case_id}"}, status_code=404
        )
    answers = await run_in_threadpool(store.answers)
    titles = {a.id: a.title for a in answers}
    return templates.TemplateResponse(
        request, "case.html", {"case": case, "data": _case_json(case), "titles": titles}
    )


@router.post("/cases/{case_id}/resolve", response_model=None)
async def resolve(request: Request, case_id: str, store: StoreDep) -> Response:
    """Mark a case resolved (after the reply is sent); answers the next open case."""
    case = await run_in_threadpool(store.case, case_id)
    if case is None:
        raise HTTPException(404, detail=f"no case {case_id!r}")
    await run_in_threadpool(store.set_case_status, case_id, "resolved")
    following = await run_in_threadpool(store.cases, status="open", newest_first=True, limit=1)
    next_url = f"/cases/{following[0].id}" if following else "/"
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"case_id": case_id, "status": "resolved", "next": next_url})
    return RedirectResponse(next_url, status_code=303)


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    """Is the assistant used, and where does it fail: rates over time, topics, funnel, shadow stages."""
    try:
        start, end = parse_time(since, "since"), parse_time(until, "until")
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    data = await run_in_threadpool(compute_dashboard, store, settings, start, end)
    charts = [
        line_chart(data["by_day"], "match_rate", "matches", "sent_pairs", "Match rate", "sent replies"),
        line_chart(data["by_day"], "adoption", "inserted", "shown", "Adoption", "shown"),
        line_chart(data["by_day"], "coverage", "suggested", "valid", "Coverage", "valid cases"),
    ]
    context = {
        "r": data,
        "charts": charts,
        "findings": findings(data),
        "since": since or "",
        "until": until or "",
        "histogram": histogram(data["similarity"]),
    }
    return templates.TemplateResponse(request, "dashboard.html", context)


def line_chart(
    days: list[dict[str, Any]], rate: str, num: str, den: str, title: str, unit: str
) -> dict[str, Any]:
    """Geometry of a rate over days (a line, 0-100%) over its denominator (grey bars)."""
    width, height, left, right, top, bottom = 560, 170, 40, 8, 10, 24
    w, h = width - left - right, height - top - bottom
    n = max(1, len(days))
    step = w / n
    peak = max([d[den] for d in days] + [1])
    bars, dots, ticks = [], [], []
    for i, d in enumerate(days):
        x = left + (i + 0.5) * step
        bh = 0.35 * h * d[den] / peak
        bars.append({"x": x - step * 0.35, "y": top + h - bh, "w": max(1.0, step * 0.7), "h": bh})
        value = d[rate]
        if value is not None:
            tip = f"{d['key']}: {value:.0%} ({d[num]:,} / {d[den]:,} {unit})"
            dots.append({"x": x, "y": top + (1 - value) * h, "tip": tip})
        if i in (0, n // 2, n - 1):
            ticks.append({"x": x, "label": d["key"][5:]})
    last = next((d for d in reversed(days) if d[rate] is not None), None)
    return {
        "title": title,
        "width": width,
        "height": height,
        "points": " ".join(f"{p['x']:.1f},{p['y']:.1f}" for p in dots),
        "bars": bars,
        "dots": dots,
        "ticks": ticks,
        "grid": [{"y": top + (1 - v) * h, "label": f"{v:.0%}"} for v in (0.0, 0.5, 1.0)],
        "left": left,
        "right": width - right,
        "base": top + h,
        "label": f"{title} per day; latest {last['key']}: {last[rate]:.0%}" if last else f"{title}: no data",
        "unit": unit,
    }


def histogram(sim: dict[str, Any]) -> list[dict[str, Any]]:
    """Bars of the similarity histogram, as percentages of the tallest bucket."""
    peak = max(sim["histogram"] + [1])
    return [
        {"bucket": b, "n": n, "pct": 100 * n / peak}
        for b, n in zip(sim["buckets"], sim["histogram"], strict=True)
    ]


def findings(r: dict[str, Any]) -> list[str]:
    """A few sentences a person reads first: is it used, and where it fails."""
    out = []
    if r["adoption"] is not None:
        out.append(f"Agents inserted {r['adoption']:.0%} of the {r['shown']:,} suggestions shown to them.")
    if r["match_rate"] is not None:
        out.append(
            f"{r['match_rate']:.0%} of suggestions matched the reply the agent sent"
            f" ({r['sent_pairs']:,} replies)."
        )
    topics = [t for t in r["by_topic"] if t["shown"] >= 10 and t["adoption"] is not None]
    if topics:
        worst = min(topics, key=lambda t: t["adoption"])
        reasons = ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in list(worst["dismiss_reasons"].items())[:2]
        )
        out.append(
            f"Least used topic: {worst['key']} ({worst['adoption']:.0%} adoption"
            + (f"; dismissed as {reasons}" if reasons else "")
            + ")."
        )
    funnel = [f for f in r["funnel"] if f["entered"]]
    if funnel:
        top = max(funnel, key=lambda f: f["stopped"])
        if top["stopped"]:
            out.append(
                f"Most abstentions at the {top['stage']} stage ({top['stopped']:,} of {top['entered']:,})."
            )
    return out
