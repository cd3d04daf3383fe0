"""Liveness and readiness."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from supportcue.service.deps import RuntimeDep
from supportcue.service.runtime import RETRY_AFTER_S

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "not ready: `{status: loading|failed|unavailable, reason, database, backlog, pid}`, "
        "the `reason` in words (models loading, no trained model, the database down, full or locked); "
        "with `Retry-After` when the database is the reason"
    }
}


@router.get("/readyz", response_model=None, responses=NOT_READY)
def readyz(runtime: RuntimeDep) -> dict[str, Any] | JSONResponse:
    """200 once the models are loaded and the database takes writes; 503 (with the reason) before
    that, if loading failed (no trained model: "no trained model: run supportcue train"), or while
    the database is down, full, locked or gone. `models` are the versions this worker serves, which
    follow the registry within `[service] registry_poll_s` (`reload_error` says why not, when the
    newest live versions failed to load). `database` is "ok" or the problem (checked at most once a
    second); `backlog` counts suggestions waiting for their commit. Each worker of `serve --workers N`
    answers for itself: `pid` says which one answered."""
    problem = runtime.database_problem()
    state = {"database": problem or "ok", "backlog": runtime.backlog, "pid": os.getpid()}
    pipeline = runtime.pipeline  # read once: a promotion may swap it meanwhile
    if pipeline is None:
        status = "failed" if runtime.error else "loading"
        body = {"status": status, "reason": runtime.not_ready_reason, **state}
        return JSONResponse(body, status_code=503)
    if problem is not None:
        body = {"status": "unavailable", "reason": f"database: {problem}", **state}
        return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})
    body = {"status": "ready", "models": pipeline.versions, "pipeline": pipeline.version}
    if runtime.error:
        body["reload_error"] = runtime.error
    return {**body, **state}
