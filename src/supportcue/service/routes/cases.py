"""GET /v1/cases/{case_id}: a stored case read back as JSON (agents, as the console reads it).

What an integrator needs to follow a case: its status, its fields (for answer placeholders) without
the personal data the product keeps out of logs and error bodies (`security.redaction.holds_personal`;
the customer's name neither: both are named in `withheld`), its conversation a page at a time (a
conversation grows without end), and the latest suggestions made for it, each with the events that
name it and how far it went (`monitoring.events.outcome`; a `sent` one whether its reply matched,
by the match rate's definition). An imported case that no turn has reached yet has its context and
message as its conversation, as the console shows it. Every read is bounded: a page of turns, the
latest `MAX_SUGGESTIONS` suggestions and their events.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool

from supportcue.boundary import Text
from supportcue.data.store import Store
from supportcue.data.tables import Case, ConversationMessage, Event, Suggestion
from supportcue.monitoring.events import outcome
from supportcue.monitoring.match import is_match
from supportcue.security.redaction import holds_personal
from supportcue.service.body import StrictJSONRoute
from supportcue.service.deps import NotFound, SettingsDep, StoreDep, require
from supportcue.service.paging import Offset, page
from supportcue.service.schemas import (
    CaseEventPublic,
    CaseMessagePublic,
    CasePublic,
    CaseSuggestionPublic,
    problem_responses,
)
from supportcue.service.views import case_turns
from supportcue.stages.placeholders import text_fields
from supportcue.vocab import EventKind, MessageRole, Role

router = APIRouter(
    prefix="/v1", tags=["cases"], route_class=StrictJSONRoute, dependencies=[require(Role.AGENT)]
)
MAX_MESSAGES = 200
MAX_SUGGESTIONS = 20
MAX_EVENTS = 1000
"""At most this many events of the suggestions shown (a caller that posts thousands for one is cut)."""


@router.get(
    "/cases/{case_id:path}", response_model=CasePublic, responses=problem_responses(403, 404, 422, 503)
)
async def get_case(
    case_id: Annotated[Text, Path(min_length=1, max_length=100)],
    store: StoreDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_MESSAGES, description="messages a page")] = 50,
    offset: Offset = 0,
) -> CasePublic:
    """A stored case: its status, its fields without personal data, a page of its conversation
    (`limit` turns from `offset`, oldest first; `next_offset` the next page's, null on the last), and
    its latest suggestions with their events and outcome. 404 when no case has this id."""
    found = await run_in_threadpool(_read, store, case_id, limit, offset, settings.match.threshold)
    if found is None:
        raise NotFound("case")
    return found


def _read(store: Store, case_id: str, limit: int, offset: int, threshold: float) -> CasePublic | None:
    case = store.cases.get(case_id)
    if case is None:
        return None
    turns = store.conversations.page(case_id, limit + 1, offset)
    if turns or (offset and store.conversations.page(case_id, 1, 0)):
        kept, next_offset = page(turns, limit, offset)
        shown = [_message(t) for t in kept]
    else:  # an imported case no turn has reached: its context and message, as the console shows it
        imported = case_turns(case)[offset : offset + limit + 1]
        shown, next_offset = page([_imported(case, t) for t in imported], limit, offset)
    suggestions = store.cases.suggestions_of(case_id, MAX_SUGGESTIONS + 1)
    latest = suggestions[:MAX_SUGGESTIONS]
    events = store.events.of_suggestions(case_id, [s.id for s in latest], MAX_EVENTS)
    fields = text_fields(case.fields)
    personal = sorted(k for k, v in fields.items() if holds_personal(v))
    return CasePublic(
        case_id=case.id,
        channel=case.channel,
        status=case.status,
        status_changed_at=case.status_changed_at,
        created_at=case.created_at,
        arm=case.arm,
        purged_at=case.purged_at,
        fields={k: v for k, v in fields.items() if k not in personal},
        withheld=(["customer_name"] if case.customer_name else []) + personal,
        messages=shown,
        next_offset=next_offset,
        suggestions=[_suggestion(s, events, case.customer_name, threshold) for s in latest],
        more_suggestions=len(suggestions) > MAX_SUGGESTIONS,
    )


def _message(turn: ConversationMessage) -> CaseMessagePublic:
    return CaseMessagePublic(
        message_id=turn.message_id,
        role=turn.role,
        text=turn.text,
        ts=turn.ts,
        private=turn.private,
        agent_id=turn.agent_id,
        suggestion_id=turn.suggestion_id,
    )


def _imported(case: Case, turn: dict[str, str]) -> CaseMessagePublic:
    role = (
        MessageRole(turn["role"])
        if turn["role"] in (MessageRole.AGENT, MessageRole.BOT)
        else MessageRole.CUSTOMER
    )
    return CaseMessagePublic(
        message_id=None,
        role=role,
        text=turn["text"],
        ts=case.created_at,
        private=False,
        agent_id=None,
        suggestion_id=None,
    )


def _suggestion(
    s: Suggestion, events: list[Event], customer_name: str | None, threshold: float
) -> CaseSuggestionPublic:
    mine = [e for e in events if e.suggestion_id == s.id]
    went = outcome([e.kind for e in mine])
    sent = next((e for e in reversed(mine) if e.kind == EventKind.SENT), None)
    match = None if sent is None else is_match(s.text, sent.text, threshold, customer_name)
    return CaseSuggestionPublic(
        suggestion_id=s.id,
        message_id=s.message_key,
        created_at=s.created_at,
        text=s.text,
        topic=s.topic,
        confidence=s.confidence,
        answer_id=s.answer_id,
        abstained_at=s.abstained_at,
        reason=s.reason,
        mode=s.mode,
        arm=s.arm,
        events=[_event(e) for e in mine],
        outcome=went,
        match=match,
    )


def _event(e: Event) -> CaseEventPublic:
    return CaseEventPublic(
        id=e.id,
        kind=e.kind,
        ts=e.ts,
        agent_id=e.agent_id,
        reason=e.reason,
        answer_id=e.answer_id,
        text=e.text,
    )
