"""Dependencies of the routes, declared once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from supportcue.data.store import Store
from supportcue.service.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_store(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Store:
    return runtime.store


def get_ready_runtime(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Runtime:
    if not runtime.ready:
        detail = runtime.error or "models are still loading; retry in a few seconds"
        raise HTTPException(status_code=503, detail=detail)
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ReadyRuntimeDep = Annotated[Runtime, Depends(get_ready_runtime)]
StoreDep = Annotated[Store, Depends(get_store)]
