"""GET /metrics (Prometheus text format) and GET /v1/metrics (the online metrics as JSON)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST

from supportcue.monitoring.metrics import GROUPS, compute_report, parse_range
from supportcue.service.deps import SettingsDep, StoreDep, TelemetryDep, require
from supportcue.service.schemas import problem_responses
from supportcue.vocab import Role

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False, dependencies=[require(Role.ADMIN, Role.METRICS)])
def prometheus(telemetry: TelemetryDep) -> Response:
    """Request counts and latency per route, suggestions by outcome, events by kind, live models, and
    LLM calls (by outcome), tokens and call latency per stage; under `serve --workers N`, every
    worker's added up (whichever worker answers)."""
    return Response(telemetry.exposition(), media_type=CONTENT_TYPE_LATEST)


# support-ops (reviewers) read the online metrics too, for now
@router.get(
    "/v1/metrics", responses=problem_responses(422, 503), dependencies=[require(Role.REVIEWER, Role.METRICS)]
)
async def online_metrics(
    store: StoreDep,
    settings: SettingsDep,
    since: str | None = Query(None, description="ISO date or datetime (UTC), inclusive"),
    until: str | None = Query(None, description="ISO date or datetime (UTC), exclusive"),
    group_by: str | None = Query(
        None,
        description="day | topic | stage | model | arm | agent",
        json_schema_extra={"enum": list(GROUPS)},
    ),
) -> dict[str, Any]:
    """Match rate, adoption and coverage (overall), the funnel, latency, dismissals, shadow agreement,
    and with `group_by` the same per group under `groups`."""
    try:
        start, end = parse_range(since, until)
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    if group_by is not None and group_by not in GROUPS:
        raise HTTPException(422, detail=f"group_by={group_by!r} is not one of: {', '.join(GROUPS)}")
    return await run_in_threadpool(compute_report, store, settings, start, end, group_by)
