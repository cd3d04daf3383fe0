"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from supportcue.service.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(runtime: RuntimeDep) -> dict[str, Any] | JSONResponse:
    """200 once the models are loaded; 503 (with the reason) before that or if loading failed."""
    if not runtime.ready:
        reason = runtime.error or "models are still loading; retry in a few seconds"
        body = {"status": "failed" if runtime.error else "loading", "reason": reason}
        return JSONResponse(body, status_code=503)
    assert runtime.pipeline is not None
    return {"status": "ready", "models": runtime.pipeline.versions, "pipeline": runtime.pipeline.version}
