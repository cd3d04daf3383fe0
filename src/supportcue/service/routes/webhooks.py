"""POST /integrations/chatwoot/webhook: a help desk's webhook, known by its signature.

Answered fast (Chatwoot waits 5 s at most): the signature is checked (`signed_by`: 401 without a
valid, fresh one), the message read (`HelpDesk.read`), and what it asks stored durably before the
answer: a customer's message with its outbox item (the note), in one transaction, an agent's
reply as its `sent` event, or a conversation resolved as its case's `resolved` event (with the
resolution time as its handle time: what an experiment's `resolved` and `handle_seconds` read) that
also closes the case; a conversation reopened opens its case again.
A message while a bot handles the conversation, and the bot's, are kept as context alone (no note,
no event); an agent taking the conversation over (status open) gives the customer's last message to
the bot its outbox item, in one transaction with the case made or grown. The suggestion and the
note are the outbox worker's
(`integrations/delivery.py`). Other events, private notes (supportcue's own among them), templates and
repeats of a message id change nothing.

Chatwoot shows no webhook's answer, so a refusal (401: a secret that differs, no signature, a clock
out of step) and a webhook of another account than `[chatwoot] account_id` are also one warning
line (`deps.webhook_warnings`, at most one a minute per kind; never the body) and a count on the dashboard.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from supportcue.errors import IdempotencyConflict
from supportcue.integrations import conversation
from supportcue.integrations.base import Ignored, Inbound, Reopened, Resolved, caller_id
from supportcue.integrations.chatwoot import NAME as CHATWOOT
from supportcue.service.body import parse_json
from supportcue.service.deps import RuntimeDep, signed_by, webhook_warnings
from supportcue.service.schemas import WebhookPublic, problem_responses
from supportcue.vocab import EventKind, MessageRole

router = APIRouter(prefix="/integrations", tags=["integrations"])

_BODY = {"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}, "required": True}}


class _Invalid(Exception):
    """A body the help desk's reader cannot use: a 422 with `detail` (and `errors` per field)."""

    def answer(self) -> JSONResponse:
        detail, errors = self.args
        return JSONResponse({"detail": detail, **({"errors": errors} if errors else {})}, 422)


def _invalid(detail: str, errors: list[dict[str, Any]] | None = None) -> _Invalid:
    return _Invalid(detail, errors)


def _read(request_body: bytes, read: Any) -> Inbound | Resolved | Reopened | Ignored:
    """The help desk's reading of the body; a 422 naming what is wrong (never echoing the body)."""
    try:
        payload = parse_json(request_body)
    except json.JSONDecodeError as exc:
        raise _invalid(f"the body is not valid JSON: {exc.msg}") from None
    try:
        found: Inbound | Resolved | Reopened | Ignored = read(payload)
    except ValidationError as exc:
        errors = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in errors)
        raise _invalid(where, errors) from None
    except ValueError as exc:
        raise _invalid(str(exc)) from None
    return found


def _outbox(request: Request, runtime: RuntimeDep, name: str, target: Mapping[str, Any]) -> dict[str, Any]:
    """The outbox item of a note for a conversation (`target`: the help desk's ids)."""
    public_url = runtime.settings.service.public_url
    return {
        "help_desk": name,
        "kind": "note",
        "target": dict(target),
        "link_base": public_url or str(request.base_url).rstrip("/"),
    }


async def receive(request: Request, runtime: RuntimeDep, name: str) -> WebhookPublic | JSONResponse:
    """Store what a verified webhook of help desk `name` says, before answering."""
    desk = request.app.state.help_desks[name]
    count = runtime.telemetry.webhooks.labels
    try:  # a body of megabytes is parsed on a worker thread, as its text is read below
        found = await run_in_threadpool(_read, await request.body(), desk.read)
    except _Invalid as exc:
        count(name, "invalid").inc()
        return exc.answer()
    store, caller = runtime.store, caller_id(name)
    if isinstance(found, Resolved):
        recorded = await run_in_threadpool(conversation.receive_resolved, store, found, caller=caller)
        if not isinstance(recorded, Ignored):
            created = recorded[1]
            if created:
                runtime.telemetry.events.labels(EventKind.RESOLVED).inc()
            count(name, "accepted" if created else "duplicate").inc()
            return WebhookPublic(status="accepted" if created else "duplicate", case_id=found.case_id)
        found = recorded
    if isinstance(found, Reopened):
        outbox = _outbox(request, runtime, name, found.target)
        changed = await run_in_threadpool(
            conversation.receive_reopened, store, found, caller=caller, outbox=outbox
        )
        if changed is True:  # the customer's message to a bot may have been taken over: its note
            worker = request.app.state.note_workers.get(name)
            if worker is not None:
                worker.wake()
        if not isinstance(changed, Ignored):
            count(name, "accepted" if changed else "duplicate").inc()
            return WebhookPublic(status="accepted" if changed else "duplicate", case_id=found.case_id)
        found = changed
    if isinstance(found, Ignored):
        count(name, found.outcome).inc()
        if found.outcome != "ignored":  # a setting to fix: Chatwoot never shows our answer
            webhook_warnings(request).warning("%s webhook ignored: %s", name, found.reason)
        return WebhookPublic(status="ignored", reason=found.reason)
    # an e-mail's text is read as what was written in it (`mailtext.clean`): linear, yet seconds for
    # the megabytes a webhook may carry, which on the event loop held every other request
    turn = await run_in_threadpool(conversation.turn_of, found)
    if not turn.text.strip():  # e.g. an e-mail's HTML that holds an image alone: read, it says nothing
        count(name, "ignored").inc()
        return WebhookPublic(status="ignored", reason="the message has no text")
    try:
        if found.context_only:  # a bot's phase: kept for the context of later suggestions, no note
            added = await run_in_threadpool(conversation.receive_context, store, turn, caller=caller)
            created = added.created
        elif found.role == MessageRole.CUSTOMER:
            outbox = _outbox(request, runtime, name, found.target)
            added = await run_in_threadpool(
                conversation.receive_customer, store, turn, caller=caller, outbox=outbox
            )
            created = added.created
            worker = request.app.state.note_workers.get(name)
            if created and worker is not None:
                worker.wake()
        else:
            answer, created = await run_in_threadpool(conversation.receive_agent, store, turn, caller=caller)
            if created and answer.get("event_id") is not None:
                runtime.telemetry.events.labels(EventKind.SENT).inc()
    except IdempotencyConflict as exc:
        count(name, "invalid").inc()
        raise HTTPException(409, detail=str(exc)) from None
    count(name, "accepted" if created else "duplicate").inc()
    return WebhookPublic(
        status="accepted" if created else "duplicate", case_id=found.case_id, message_id=found.message_id
    )


@router.post(
    "/chatwoot/webhook",
    response_model=WebhookPublic,
    responses=problem_responses(401, 409, 413, 422, 503),
    dependencies=[signed_by(CHATWOOT)],
    openapi_extra=_BODY,
)
async def chatwoot_webhook(request: Request, runtime: RuntimeDep) -> WebhookPublic | JSONResponse:
    """Chatwoot's account webhook (`message_created`, `conversation_status_changed`), signed with the
    webhook's secret (`X-Chatwoot-Signature`, `X-Chatwoot-Timestamp`). An incoming contact message
    gets a suggestion as a private note (posted in the background); an outgoing agent message is the
    `sent` event; a conversation resolved is the case's `resolved` event and closes the case, and a
    conversation reopened opens it again."""
    return await receive(request, runtime, CHATWOOT)
