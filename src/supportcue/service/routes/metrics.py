"""GET /metrics (Prometheus text format)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from supportcue.service.deps import RuntimeDep

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
def prometheus(runtime: RuntimeDep) -> Response:
    """Request counts and latency per route, suggestions by outcome, events by kind, live models."""
    return Response(generate_latest(runtime.telemetry.registry), media_type=CONTENT_TYPE_LATEST)
