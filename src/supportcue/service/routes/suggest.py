"""POST /v1/suggest: a suggested reply for a customer message, stored with its trace.

A request with a `case_id` is first given the case's arm in the running experiment
(`experiments.assign_case`, which records it the first time the case is seen); the control arm's
suggestion is computed in shadow and stored, and answered with no text.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from supportcue.data.database import unavailable_reason
from supportcue.data.store import Store
from supportcue.errors import DatabaseUnavailable, UnstorableValue
from supportcue.experiments import assign_case, with_assignment
from supportcue.pipeline import SuggestRequest, SuggestResult
from supportcue.service import outage
from supportcue.service.body import StrictJSONRoute
from supportcue.service.deps import SettingsDep, StoreDep, Suggester, SuggesterDep, require
from supportcue.service.schemas import SuggestCreate, SuggestPublic, problem_responses
from supportcue.settings import Settings
from supportcue.vocab import Role

log = logging.getLogger("supportcue.service")
FAILED = "the pipeline failed on this message (the error is logged); reply without a suggestion"
router = APIRouter(
    prefix="/v1",
    tags=["suggestions"],
    route_class=StrictJSONRoute,
    dependencies=[require(Role.AGENT, Role.INTEGRATION)],
)


# `response_model` documents the body; the handler returns the JSON itself, so FastAPI does not
# validate the pipeline's own, already well-formed output again on the hot path
def check_length(text: str, settings: Settings, what: str = "message") -> None:
    """413 for a message over `[service] max_message_chars`."""
    limit = settings.service.max_message_chars
    if len(text) > limit:
        raise HTTPException(413, detail=f"{what} is {len(text):,} characters; the limit is {limit:,}")


async def run_pipeline(store: Store, suggester: Suggester, item: SuggestRequest) -> SuggestResult | Response:
    """The stored suggestion for `item`, given its case's arm in the running experiment first, or
    the error answer: 503 when the arm or the suggestion could not be stored (the client retries),
    422 for a value the database refuses, 500 when the pipeline failed on it."""
    try:
        if item.case_id:
            item = with_assignment(item, await run_in_threadpool(assign_case, store, item.case_id))
    except Exception as exc:  # the arm could not be read or recorded
        if unavailable_reason(exc) is None:
            raise
        return outage.unavailable(exc)
    try:
        return await suggester.submit(item)
    except DatabaseUnavailable as exc:  # not stored, so not answered: the client retries
        return outage.unavailable(exc)
    except UnstorableValue as exc:
        return outage.unstorable(exc)
    except Exception:  # answered here, not re-raised: the server would drop the keep-alive connection
        log.exception("suggestion for case %s failed", item.case_id)  # ids only, never the message
        return JSONResponse({"detail": FAILED}, status_code=500)


@router.post("/suggest", response_model=SuggestPublic, responses=problem_responses(413, 422, 500, 503))
async def suggest(
    body: SuggestCreate, settings: SettingsDep, store: StoreDep, suggester: SuggesterDep
) -> Response:
    """Run the four stages. `text` is null when the pipeline abstained (see `abstained_at`, `reason`)."""
    check_length(body.message, settings)
    context = (
        body.context if isinstance(body.context, list) else ([{"text": body.context}] if body.context else [])
    )
    item = SuggestRequest(
        message=body.message,
        case_id=body.case_id,
        customer_name=body.customer_name,
        agent_name=body.agent_name,
        context=context,
        fields=body.fields,
    )
    result = await run_pipeline(store, suggester, item)
    return result if isinstance(result, Response) else JSONResponse(result.public())
