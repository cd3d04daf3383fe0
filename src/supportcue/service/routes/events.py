"""POST /v1/events: what agents did with a suggestion. 202 only once the event is committed.

The rules of a valid event live in `monitoring/events.py`; this route translates HTTP to them, their
`InvalidEvent` to a 422 and `IdempotencyConflict` to a 409. Idempotency keys are scoped to the caller
(`caller.id`). An event posted from a logged-in browser (the console) carries that user's name as its
`agent_id`, whatever the body says; a key's caller (a help desk, the Chatwoot embed page) names the
agent. An `embed` key (whose page runs in agents' browsers, so it is the least secret of keys) may post
only what an agent does with a suggestion (`EMBED_KINDS`), never a `sent` reply or a resolution: those
come from the help desk itself.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from supportcue.data.store import Store
from supportcue.errors import IdempotencyConflict, InvalidEvent
from supportcue.monitoring.events import record_event
from supportcue.service.body import StrictJSONRoute
from supportcue.service.deadline import within
from supportcue.service.deps import CallerDep, Forbidden, SettingsDep, StoreDep, TelemetryDep, require
from supportcue.service.schemas import EventCreate, EventPublic, problem_responses
from supportcue.vocab import EventKind, Role

router = APIRouter(
    prefix="/v1",
    tags=["events"],
    route_class=StrictJSONRoute,
    dependencies=[require(Role.AGENT, Role.INTEGRATION, Role.EMBED)],
)
NOT_STORED = (
    "suggestion_id: no suggestion with this id is stored; give the `suggestion_id` that POST "
    "/v1/suggest (or /v1/messages) answered, or leave it out (a `sent` reply is then paired with the "
    "case's newest suggestion)"
)
NO_ANSWER = (
    "answer_id: no answer with this id is in the library; give the `id` of the answer inserted (one of "
    "the suggestion's `alternatives`, or one GET /v1/answers lists)"
)
OTHER_CASE = "suggestion_id: this suggestion was made for another case; give the case_id it was made for"
EMBED_KINDS = (
    EventKind.SHOWN,
    EventKind.INSERTED,
    EventKind.DISMISSED,
    EventKind.UNDISMISSED,
    EventKind.ALTERNATIVE,
)


@router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EventPublic,
    responses=problem_responses(409, 413, 422, 503),
)
async def create_event(
    body: EventCreate, store: StoreDep, settings: SettingsDep, telemetry: TelemetryDep, caller: CallerDep
) -> EventPublic:
    """Record an event once per caller and `idempotency_key`: a retry of the same request is
    acknowledged (`duplicate`) and not stored again; the same key with another request is a 409.
    Both are decided before the checks of a new event, so a retry of an accepted request gets the
    answer the first one got even if the suggestion it names is no longer stored."""
    if caller.role == Role.EMBED and body.kind not in EMBED_KINDS:
        allowed = ", ".join(EMBED_KINDS)
        raise Forbidden(f"an embed key may post {allowed} events; {body.kind} ones come from the help desk")
    timeout_s = settings.service.write_timeout_ms / 1000
    # a key used before is `record_event`'s to answer (a duplicate, or a 409), not the checks'
    if await within(timeout_s, store.events.get, caller.id, body.idempotency_key) is None:
        if body.suggestion_id is not None:
            await _check_suggestion(store, body.suggestion_id, body.case_id, timeout_s)
        if body.kind == EventKind.ALTERNATIVE and body.answer_id:
            await _check_answer(store, body.answer_id, timeout_s)
    row = body.model_dump()
    if caller.by_cookie:
        row["agent_id"] = caller.name
    try:
        # given up after write_timeout_ms (503): a retry with the same key is stored once
        recorded = await within(timeout_s, record_event, store, row, caller=caller.id)
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


async def _check_suggestion(store: Store, suggestion_id: str, case_id: str, timeout_s: float) -> None:
    """422 when the event names a suggestion supportcue never made (a mistyped id, another system's),
    or one made for another case: stored, it would count in no metric (a reply paired with nothing)
    and say nothing. A suggestion made without a case may be named with any case id."""
    made = await within(timeout_s, store.cases.suggestion, suggestion_id)
    if made is None:
        raise HTTPException(422, detail=NOT_STORED)
    if made.case_id is not None and made.case_id != case_id:
        raise HTTPException(422, detail=OTHER_CASE)


async def _check_answer(store: Store, answer_id: str, timeout_s: float) -> None:
    """422 when an `alternative` event names an answer the library does not have (a mistyped id,
    another system's): stored, it would credit an answer that is not there. A retired one is still
    an answer that was inserted."""
    if await within(timeout_s, store.library.answer, answer_id) is None:
        raise HTTPException(422, detail=NO_ANSWER)
