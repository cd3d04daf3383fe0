"""The answer library, read side: GET /v1/answers (search), POST /v1/answers/{id}/compose (an answer
made into a reply for a case).

These are the agent's fallback when the pipeline has no suggestion, and how an alternative of a
suggestion is inserted: the console and the Chatwoot embed page search the approved answers as the
agent types, and compose the one picked, its placeholders filled from the case and its text restyled
by the live tone stage (`Pipeline.compose`), so it reads like a suggestion. Agents, help-desk
connectors and embed keys read approved answers only; reviewers (and admins) any status. Writing the
library (POST, PATCH, versions and diffs) is the reviewers' and lives in `routes/library.py`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool

from supportcue.boundary import Text
from supportcue.pipeline import Composed, SuggestRequest
from supportcue.security.roles import includes
from supportcue.service.body import StrictJSONRoute
from supportcue.service.deps import CallerDep, Forbidden, NotFound, RuntimeDep, StoreDep, require
from supportcue.service.paging import Offset, page
from supportcue.service.schemas import (
    AnswerPublic,
    AnswersPublic,
    ComposeCreate,
    ComposedPublic,
    problem_responses,
)
from supportcue.stages.placeholders import case_values, fill
from supportcue.vocab import AnswerStatus, Role

router = APIRouter(
    prefix="/v1",
    tags=["answers"],
    route_class=StrictJSONRoute,
    dependencies=[require(Role.AGENT, Role.INTEGRATION, Role.EMBED)],
)
MAX_RESULTS = 100


@router.get("/answers", response_model=AnswersPublic, responses=problem_responses(403, 422, 503))
async def list_answers(
    store: StoreDep,
    caller: CallerDep,
    q: Annotated[Text, Query(max_length=200, description="words the title, body or topic hold")] = "",
    status: Literal["approved", "draft", "retired"] = "approved",
    topic: Annotated[Text | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = 20,
    offset: Offset = 0,
) -> AnswersPublic:
    """Search the answer library: approved answers (agents may read no others) whose title, body or
    topic holds every word of `q`, those with the words in their title first; a page of `limit` from
    `offset`, and the `next_offset` of the next page (null on the last)."""
    if status != "approved" and not includes(caller.role, Role.REVIEWER):
        raise Forbidden(f"{status} answers are for reviewers; the {caller.role} role reads approved ones")
    found = await run_in_threadpool(store.library.search, q, status, topic, limit + 1, offset)
    answers, next_offset = page(found, limit, offset)
    data = [AnswerPublic.model_validate(a, from_attributes=True) for a in answers]
    return AnswersPublic(data=data, count=len(data), next_offset=next_offset)


@router.post(
    "/answers/{answer_id:path}/compose",
    response_model=ComposedPublic,
    responses=problem_responses(404, 422),
)
async def compose(
    answer_id: Annotated[Text, Path(max_length=100)],
    body: ComposeCreate,
    store: StoreDep,
    runtime: RuntimeDep,
) -> ComposedPublic:
    """An approved answer as a reply for a case: placeholders filled from `customer_name`,
    `agent_name` and `fields`, then the live tone stage (as a suggestion's text would be)."""
    answer = await run_in_threadpool(store.library.answer, answer_id)
    if answer is None or answer.status != AnswerStatus.APPROVED:
        raise NotFound("approved answer")
    request = SuggestRequest(
        message="",
        case_id=body.case_id,
        customer_name=body.customer_name,
        agent_name=body.agent_name,
        fields=body.fields,
    )
    pipeline = runtime.pipeline
    if pipeline is None:  # still loading: the placeholders at least
        filled = fill(answer.body, case_values(body.customer_name, body.agent_name, body.fields))
        composed = Composed(filled.text, filled.missing)
    else:
        composed = await run_in_threadpool(pipeline.compose, request, answer.id, answer.body)
    return ComposedPublic(answer_id=answer.id, text=composed.text, missing=list(composed.missing))
