"""The API documentation (Swagger UI), served from the installed `swagger-ui-bundle-v2` package: it
works offline, and its start-up code is a static file (static/docs.js), so the page needs no inline
script under the Content-Security-Policy (FastAPI's own /docs page has one, and loads from a CDN).

/docs and /openapi.json are for callers of any role (the API's shape is not for anyone on the
network); Swagger UI's own assets are static files, public like the others."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path

from supportcue.service.deps import ANY_ROLE, require
from supportcue.service.routes.pages import static_file, templates

SWAGGER_UI = Path(str(swagger_ui_path))
SWAGGER_FILES = {n: SWAGGER_UI / n for n in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")}
"""Only what the docs page loads."""
OPENAPI_URL = "/openapi.json"
router = APIRouter(include_in_schema=False)


@router.get(OPENAPI_URL, dependencies=[require(*ANY_ROLE)])
def openapi(request: Request) -> dict[str, Any]:
    """The OpenAPI schema (FastAPI's own route is off: it would need no caller)."""
    schema: dict[str, Any] = request.app.openapi()
    return schema


@router.get("/docs", response_class=HTMLResponse, dependencies=[require(*ANY_ROLE)])
async def docs(request: Request) -> Response:
    """Swagger UI over the app's OpenAPI schema."""
    openapi_url = request.scope.get("root_path", "") + OPENAPI_URL
    return templates.TemplateResponse(
        request, "docs.html", {"title": request.app.title, "openapi_url": openapi_url}
    )


@router.get("/static/swagger-ui/{name}")
def swagger_asset(name: str) -> FileResponse:
    """Swagger UI's script, style sheet and icon, from the installed package."""
    return static_file(SWAGGER_FILES, name)
