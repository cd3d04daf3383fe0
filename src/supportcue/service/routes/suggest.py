"""POST /v1/suggest: a suggested reply for a customer message, stored with its trace; GET /v1/suggest:
the one stored for a message, by its case and message id (a message too long to send).

A request with a `case_id` is first given the case's arm in the running experiment
(`experiments.assign_case`, which records it the first time the case is seen); the control arm's
suggestion is computed in shadow and stored, and answered with no text. When a case with that id is
stored (imported, or grown by `POST /v1/messages`), its fields and customer name fill what the body
leaves out (`pipeline.with_case`: a field the body gives wins, key by key; the body's name wins), as
the console and `supportcue suggest --case-id` read them: one primary-key read.

One suggestion per customer message: a request with `case_id` and `message_id` (the help desk's id of
the message; the console sends one per case message) is answered with the suggestion already stored
for that message when there is one (`reused: true`), so opening a case twice, or the Chatwoot embed
page and the connector asking for the same message, never makes a second suggestion (nor a second
`shown` event, nor a second row in the adoption figures). Concurrent requests for the same message
wait for the first one's answer: within one process on an in-memory future; across processes
(`serve --workers N`, several machines on one database) through a claim row (`suggestion_claims`):
the process that inserts it makes the suggestion and deletes the row once it is stored, the others
poll for that suggestion. A claim whose maker died lapses after its lease (`claim_lease_s`) and
another process takes it over. A suggestion whose pipeline (a live stage) failed or timed out is
not reused: the next request tries again (a stage in shadow that failed changed nothing shown); nor
is one whose answer (or a drafted reply's source answer) has been retired, sent back to draft or
given new text since it was made.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse, Response

from supportcue.boundary import Text
from supportcue.data.database import unavailable_reason
from supportcue.data.store import Store
from supportcue.data.tables import Suggestion
from supportcue.errors import DatabaseUnavailable, UnstorableValue
from supportcue.experiments import assign_case, with_assignment
from supportcue.mailtext import clean as clean_email
from supportcue.pipeline import SuggestRequest, SuggestResult, shown_trace, with_case, worth_reusing
from supportcue.service import outage
from supportcue.service.body import StrictJSONRoute
from supportcue.service.deadline import within
from supportcue.service.deps import RuntimeDep, SettingsDep, Suggester, SuggesterDep, require
from supportcue.service.schemas import SuggestCreate, SuggestPublic, problem_responses
from supportcue.settings import Settings
from supportcue.vocab import AnswerStatus, Role, SuggestionMode

log = logging.getLogger("supportcue.service")
CLAIM_POLL_S = 0.05
"""How often a request waits on another process's suggestion for the same message checks for it."""
FAILED = "the pipeline failed on this message (the error is logged); reply without a suggestion"
router = APIRouter(
    prefix="/v1",
    tags=["suggestions"],
    route_class=StrictJSONRoute,
    dependencies=[require(Role.AGENT, Role.INTEGRATION, Role.EMBED)],
)


def context_turns(context: list[str | dict[str, Any]] | str | None) -> list[Any]:
    """The request's `context` as turns: a list as given, free text as one customer turn."""
    if isinstance(context, list):
        return context
    return [{"text": context}] if context else []


def body_limit(settings: Settings) -> int:
    """The most bytes a `POST /v1/suggest` (or `/v1/messages`) body may have: the longest message as
    UTF-8 (4 bytes a character at most), and 64 kB for its context and the rest."""
    return settings.service.max_message_chars * 4 + 65_536


def check_length(text: str, settings: Settings, what: str = "message") -> str:
    """The message as it is read (an e-mail's new text, `mailtext.clean`: a short reply above a
    long quoted thread is a short message), or 413 when that is over `[service] max_message_chars`;
    422 when it reads as nothing (an e-mail whose HTML holds an image alone: the Chatwoot webhook
    ignores it as "the message has no text", and a suggestion made from nothing is no suggestion)."""
    text = clean_email(text)
    if not text.strip():
        raise HTTPException(
            422, detail=f"{what} reads as nothing: it is blank, or HTML that holds no text (an image alone)"
        )
    limit = settings.service.max_message_chars
    if len(text) > limit:
        raise HTTPException(413, detail=f"{what} is {len(text):,} characters; the limit is {limit:,}")
    return text


def _prepare(store: Store, item: SuggestRequest, case_id: str, read_case: bool) -> SuggestRequest:
    """`item` with its case's arm in the running experiment and, with `read_case`, what its stored
    case gives it (`with_case`: the case's fields under the request's own, its customer name when
    the request has none), in one trip to a worker thread; reading the case is one primary-key read."""
    if read_case and (stored := store.cases.details(case_id)) is not None:
        item = with_case(item, *stored)
    return with_assignment(item, assign_case(store, case_id))


async def run_pipeline(
    store: Store, suggester: Suggester, item: SuggestRequest, timeout_s: float, *, read_case: bool = False
) -> SuggestResult | Response:
    """The stored suggestion for `item`, given its case's arm in the running experiment first (and,
    with `read_case`, its stored case's fields and customer name: `_prepare`), or the error answer:
    503 when the arm or the suggestion could not be stored, or the database did not answer within
    `timeout_s` (the client retries), 422 for a value the database refuses, 500 when the pipeline
    failed on it."""
    try:
        if item.case_id:
            item = await within(timeout_s, _prepare, store, item, item.case_id, read_case)
    except Exception as exc:  # the case or the arm could not be read, or the arm recorded
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


# `response_model` documents the body; the handler returns the JSON itself, so FastAPI does not
# validate the pipeline's own, already well-formed output again on the hot path
@router.post("/suggest", response_model=SuggestPublic, responses=problem_responses(413, 422, 500, 503))
async def suggest(
    body: SuggestCreate, settings: SettingsDep, suggester: SuggesterDep, runtime: RuntimeDep
) -> Response:
    """Run the four stages. `text` is null when the pipeline abstained (see `abstained_at`, `reason`).
    With `case_id` and `message_id`, a message asked about before gets its stored suggestion (even
    one over the length limit: a help desk's webhook has none, and its note shows that suggestion)."""
    try:
        message = check_length(body.message, settings)
    except HTTPException:
        if body.case_id and body.message_id:  # the Dashboard App asking for the note's suggestion
            key = (body.case_id, body.message_id)
            if (stored := await _stored_answer(runtime.store, key, db_timeout_s(settings))) is not None:
                return stored
        raise
    item = SuggestRequest(
        message=message,
        case_id=body.case_id,
        customer_name=body.customer_name,
        agent_name=body.agent_name,
        context=context_turns(body.context),
        fields=body.fields,
        message_id=body.message_id if body.case_id else None,
    )
    timeout_s = db_timeout_s(settings)
    if item.case_id is None or item.message_id is None:
        return await _suggest(runtime.store, suggester, item, timeout_s)
    key = (item.case_id, item.message_id)
    pending = runtime.pending_suggestions
    while key in pending:  # the same message is being answered: wait for that answer
        await asyncio.shield(pending[key])
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    pending[key] = done
    try:
        return await _for_message(runtime.store, suggester, item, key, claim_lease_s(settings), timeout_s)
    finally:
        del pending[key]
        done.set_result(None)


NOT_STORED = (
    "no suggestion is stored for this message (none was made yet, or the one made is not reused: its "
    "pipeline failed, or its answer changed since); POST /v1/suggest with the message makes one"
)


@router.get("/suggest", response_model=SuggestPublic, responses=problem_responses(404, 422, 503))
async def stored_suggestion(
    case_id: Annotated[Text, Query(min_length=1, max_length=100)],
    message_id: Annotated[Text, Query(min_length=1, max_length=200)],
    settings: SettingsDep,
    runtime: RuntimeDep,
) -> Response:
    """The suggestion already made for a message (its `case_id` and `message_id`), as `POST
    /v1/suggest` answers a repeat (`reused`), without the message: a message too long for the POST's
    body (Chatwoot keeps 150,000 characters; a help desk's webhook has no such limit, and its note
    has a suggestion) is asked about so by the Chatwoot Dashboard App. 404 when there is none to
    reuse; nothing is made."""
    stored = await _stored_answer(runtime.store, (case_id, message_id), db_timeout_s(settings))
    if stored is None:
        raise HTTPException(404, detail=NOT_STORED)
    return stored


def db_timeout_s(settings: Settings) -> float:
    """How long a request waits for one read or write of the database before it is answered 503."""
    return settings.service.write_timeout_ms / 1000.0


def claim_lease_s(settings: Settings) -> float:
    """How long a claim on a message holds before another process may take it over: twice the
    longest a suggestion can take (the pipeline's timeout, then the wait to store it)."""
    return 2.0 * (settings.pipeline.timeout_ms + settings.service.write_timeout_ms) / 1000.0


async def _for_message(
    store: Store,
    suggester: Suggester,
    item: SuggestRequest,
    key: tuple[str, str],
    lease_s: float,
    timeout_s: float,
) -> Response:
    """The stored suggestion for the message, or a new one made by this process once it holds the
    message's claim (`Cases.claim_message`); while another process holds it, wait for its answer."""
    owner = uuid.uuid4().hex
    while True:
        if (reused := await _stored_answer(store, key, timeout_s)) is not None:
            return reused
        if await within(timeout_s, store.cases.claim_message, *key, owner, lease_s):
            break
        await asyncio.sleep(CLAIM_POLL_S)
    try:
        # the process that held the claim before may have stored its suggestion just before releasing
        return await _stored_answer(store, key, timeout_s) or await _suggest(
            store, suggester, item, timeout_s
        )
    finally:
        try:
            await within(timeout_s, store.cases.release_message, *key, owner)
        except Exception:  # the answer stands; the claim lapses after its lease
            log.warning("could not release the claim on a message of case %s", item.case_id)


async def _stored_answer(store: Store, key: tuple[str, str], timeout_s: float) -> Response | None:
    """The answer of the suggestion stored for the message, when there is one worth reusing."""
    stored = await within(timeout_s, store.cases.suggestion_for_message, *key)
    if stored is None or not worth_reusing(stored.reason, stored.trace):
        return None
    if not await within(timeout_s, _answers_unchanged, store, stored):
        return None
    return JSONResponse(stored_public(stored))


async def _suggest(store: Store, suggester: Suggester, item: SuggestRequest, timeout_s: float) -> Response:
    result = await run_pipeline(store, suggester, item, timeout_s, read_case=True)
    return result if isinstance(result, Response) else JSONResponse(result.public())


def _answers_unchanged(store: Store, stored: Suggestion) -> bool:
    """False when an answer the suggestion was made from (its answer, or a drafted reply's source
    answers) has been retired, sent back to draft or given new text since: a reviewer changed the
    library, so the old text is not shown again as its answer."""
    ids = {stored.answer_id} if stored.answer_id else set()
    for entry in shown_trace(stored.trace or []):
        if entry.get("mode") == "live":
            ids.update(str(i) for i in (entry.get("extra") or {}).get("sources") or [])
    for answer_id in ids:
        answer = store.library.answer(answer_id)
        if answer is None:  # an article passage (or an answer since deleted by an import)
            continue
        if answer.status != AnswerStatus.APPROVED:
            return False
        newest = store.library.versions(answer_id)[:1]
        if newest and _naive(newest[0].created_at) > _naive(stored.created_at):
            return False
    return True


def _naive(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def stored_public(stored: Suggestion) -> dict[str, Any]:
    """A stored suggestion as /v1/suggest answers it (`reused`); its alternatives are the live
    chain's, read back from the trace."""
    alternatives: list[Any] = []
    if stored.text is not None:
        for entry in stored.trace or []:
            found = (entry.get("extra") or {}).get("alternatives")
            if entry.get("mode") == "live" and found:
                alternatives = list(found)
    return {
        "suggestion_id": stored.id,
        "case_id": stored.case_id,
        "message_id": stored.message_key,
        "reused": True,
        "text": stored.text,
        "topic": stored.topic,
        "confidence": stored.confidence,
        "answer_id": stored.answer_id,
        "abstained_at": stored.abstained_at,
        "reason": stored.reason,
        # what the live stages did: "shadow" (only the shadow chain made one) is stored, not answered
        "mode": SuggestionMode.NONE if stored.mode == SuggestionMode.SHADOW else stored.mode,
        "alternatives": alternatives,
        "trace": shown_trace(stored.trace or []),
        "latency_ms": round(stored.latency_ms, 3),
        "arm": stored.arm,
    }
