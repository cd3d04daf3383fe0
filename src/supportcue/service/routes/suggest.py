"""POST /v1/suggest: a suggested reply for a customer message, stored with its trace."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from supportcue.pipeline import SuggestRequest
from supportcue.service.deps import ReadyRuntimeDep
from supportcue.service.schemas import SuggestCreate, SuggestPublic

router = APIRouter(prefix="/v1", tags=["suggestions"])


@router.post("/suggest", response_model=SuggestPublic)
async def suggest(body: SuggestCreate, runtime: ReadyRuntimeDep, request: Request) -> SuggestPublic:
    """Run the four stages. `text` is null when the pipeline abstained (see `abstained_at`, `reason`)."""
    limit = runtime.settings.service.max_message_chars
    if len(body.message) > limit:
        raise HTTPException(
            413, detail=f"message is {len(body.message):,} characters; the limit is {limit:,}"
        )
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
    result = await request.app.state.batcher.submit(item)
    # the pipeline's own output is already well-formed: skip re-validating it on the hot path
    return JSONResponse(result.public())  # type: ignore[return-value]
