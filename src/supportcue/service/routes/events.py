"""POST /v1/events: what agents did with a suggestion. 202 only once the event is committed."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool

from supportcue.data.tables import utcnow
from supportcue.service.deps import RuntimeDep
from supportcue.service.schemas import EventCreate, EventPublic

router = APIRouter(prefix="/v1", tags=["events"])


@router.post("/events", status_code=status.HTTP_202_ACCEPTED, response_model=EventPublic)
async def create_event(body: EventCreate, runtime: RuntimeDep, request: Request) -> EventPublic:
    """Record an event once per `idempotency_key`; a repeat is acknowledged and not stored again."""
    if body.kind == "sent" and not (body.text and body.text.strip()):
        raise HTTPException(422, detail="a `sent` event needs the sent `text`")
    if body.kind == "dismissed" and body.reason is None:
        raise HTTPException(
            422,
            detail="a `dismissed` event needs a `reason`: wrong_topic, outdated, tone, not_needed or other",
        )
    row = body.model_dump()
    row["ts"] = row["ts"] or utcnow()
    event, created = await run_in_threadpool(runtime.store.add_event, row)
    if created:
        runtime.telemetry.events.labels(body.kind).inc()
    return EventPublic(
        id=event.id,
        idempotency_key=event.idempotency_key,
        case_id=event.case_id,
        kind=event.kind,
        duplicate=not created,
    )
