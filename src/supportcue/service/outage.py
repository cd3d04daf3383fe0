"""The answers of the API when a request's data could not be stored: a 503 the client may retry
(the database cannot take writes now) or a 422 (the database refuses one of its values)."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from supportcue.data.database import unavailable_reason
from supportcue.errors import UnstorableValue
from supportcue.service.runtime import RETRY_AFTER_S


def unavailable(exc: BaseException) -> JSONResponse:
    """503 with `Retry-After`: nothing was stored, the same request may be sent again."""
    reason = unavailable_reason(exc) or "the database cannot be reached or stopped answering"
    return JSONResponse(
        {"detail": f"{reason}; nothing was stored, retry in {RETRY_AFTER_S} s"},
        503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def unstorable(exc: UnstorableValue) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, 422)
