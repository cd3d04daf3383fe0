"""POST /v1/events: what agents did with a suggestion. 202 only once the event is committed.

The rules of a valid event live in `monitoring/events.py`; this route translates HTTP to them, their
`InvalidEvent` to a 422 and `IdempotencyConflict` to a 409.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool

from supportcue.errors import IdempotencyConflict, InvalidEvent
from supportcue.monitoring.events import record_event
from supportcue.service.body import StrictJSONRoute
from supportcue.service.deps import CallerDep, StoreDep, TelemetryDep
from supportcue.service.schemas import EventCreate, EventPublic, problem_responses

router = APIRouter(prefix="/v1", tags=["events"], route_class=StrictJSONRoute)


@router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EventPublic,
    responses=problem_responses(409, 413, 422),
)
async def create_event(
    body: EventCreate, store: StoreDep, telemetry: TelemetryDep, caller: CallerDep
) -> EventPublic:
    """Record an event once per caller and `idempotency_key`: a retry of the same request is
    acknowledged (`duplicate`) and not stored again; the same key with another request is a 409."""
    try:
        recorded = await run_in_threadpool(record_event, store, body.model_dump(), caller=caller)
    except InvalidEvent as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except IdempotencyConflict as exc:
        raise HTTPException(409, detail=str(exc)) from None
    if not recorded.duplicate:
        telemetry.events.labels(body.kind).inc()
    event = recorded.event
    return EventPublic(
        id=event.id,
        idempotency_key=event.idempotency_key,
        case_id=event.case_id,
        kind=event.kind,
        duplicate=recorded.duplicate,
    )
