"""POST /v1/messages: a turn of a case's conversation (the rules: `integrations/conversation.py`).

A customer's message is stored with its case before the pipeline runs, then answered with the
suggestion for it (as `POST /v1/suggest` answers), made with the earlier turns as context. An agent's
message is the `sent` event of the case's latest suggestion that was shown (a private one is kept
and is not). A repeat of a message id (per caller) changes nothing and gets the first answer again,
marked `Idempotent-Replayed: true`; the same id with another turn is a 409. When the pipeline cannot
answer (loading: 503; the database: 503) the turn stays stored and a retry completes it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from supportcue.errors import IdempotencyConflict
from supportcue.integrations import conversation
from supportcue.integrations.conversation import TurnIn
from supportcue.service.body import StrictJSONRoute
from supportcue.service.deadline import within
from supportcue.service.deps import CallerDep, RuntimeDep, SettingsDep, StoreDep, get_suggester, require
from supportcue.service.routes.suggest import check_length, db_timeout_s, run_pipeline
from supportcue.service.schemas import AgentMessagePublic, MessageCreate, SuggestPublic, problem_responses
from supportcue.vocab import EventKind, MessageRole, Role

REPLAYED = {"idempotent-replayed": "true"}
router = APIRouter(
    prefix="/v1",
    tags=["conversations"],
    route_class=StrictJSONRoute,
    dependencies=[require(Role.AGENT, Role.INTEGRATION)],
)


def _answer(body: dict[str, Any], replayed: bool) -> JSONResponse:
    return JSONResponse(body, headers=REPLAYED if replayed else None)


@router.post(
    "/messages",
    response_model=SuggestPublic | AgentMessagePublic,
    responses=problem_responses(409, 413, 422, 500, 503),
)
async def post_message(
    body: MessageCreate,
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    runtime: RuntimeDep,
    caller: CallerDep,
) -> Response:
    """A customer's message gets the suggestion for it (`SuggestPublic`); an agent's becomes the
    `sent` event of the case's latest suggestion that was shown (`AgentMessagePublic`)."""
    text = check_length(body.text, settings, "text")
    agent_id = caller.name if caller.by_cookie else body.agent_id
    turn = TurnIn(
        case_id=body.case_id,
        message_id=body.message_id,
        role=MessageRole(body.role),
        text=text,
        ts=body.ts,
        customer_name=body.customer_name,
        channel=body.channel,
        agent_id=agent_id if body.role == MessageRole.AGENT.value else None,
        private=body.private,
    )
    timeout_s = db_timeout_s(settings)
    try:
        if body.role == MessageRole.AGENT.value:
            answer, created = await within(
                timeout_s, conversation.receive_agent, store, turn, caller=caller.id
            )
            if created and answer.get("event_id") is not None:
                runtime.telemetry.events.labels(EventKind.SENT).inc()
            return _answer(answer, replayed=not created)
        added = await within(timeout_s, conversation.receive_customer, store, turn, caller=caller.id)
    except IdempotencyConflict as exc:
        raise HTTPException(409, detail=str(exc)) from None
    if added.turn.suggestion_id is not None:
        return _answer(dict(added.turn.result), replayed=True)
    suggester = get_suggester(request, runtime)  # 503 while loading: the turn is kept for the retry
    item = await within(timeout_s, conversation.suggestion_request, store, added)
    result = await run_pipeline(store, suggester, item, timeout_s)
    if isinstance(result, Response):
        return result
    answer = await within(timeout_s, conversation.answer, store, added.turn, result)
    return _answer(answer, replayed=answer.get("suggestion_id") != result.suggestion_id)
