"""Dependencies of the routes, declared once as `Annotated` aliases.

Each is a plain function of the request, so a test can replace any of them through
`app.dependency_overrides[get_app_settings] = ...`. The pipeline itself has no per-request dependency:
requests reach it only through the micro-batcher (`SuggesterDep`), and a test gives the app its
pipeline through `create_app(..., pipeline_loader=...)`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from supportcue.data.store import Store
from supportcue.pipeline import SuggestRequest, SuggestResult
from supportcue.service.batcher import MicroBatcher
from supportcue.service.runtime import Runtime, Telemetry
from supportcue.settings import Settings

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
        detail = runtime.error or "models are still loading; retry in a few seconds"
        raise HTTPException(status_code=503, detail=detail)
    suggester: Suggester = request.app.state.batcher
    return suggester


API_CALLER = "api"
"""The one caller there is until authentication lands (see `caller_id`)."""


def caller_id() -> str:
    """Who is calling: scopes idempotency keys (and, later, roles). A PLACEHOLDER: every request is
    the caller "api" until authentication lands; then this returns the authenticated API key's or
    user's id (never "", which is supportcue's own importer's namespace)."""
    return API_CALLER


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
CallerDep = Annotated[str, Depends(caller_id)]
StoreDep = Annotated[Store, Depends(get_store)]
TelemetryDep = Annotated[Telemetry, Depends(get_telemetry)]
SuggesterDep = Annotated[Suggester, Depends(get_suggester)]
