"""A case is a conversation: customer turns get suggestions, agent turns are the replies sent.

`POST /v1/messages` and every help desk's webhook go through here:

- a **customer** turn grows the case's conversation (`Conversations.add_customer`) and gets a
  suggestion made with the earlier turns as its context (`suggestion_request`, then `answer`: the
  suggestion is recorded on the turn, and its public answer kept for a repeat);
- an **agent** turn is the reply sent: the `sent` event (`monitoring/events.py`) of the case's
  latest suggestion that had a text to show (`mode` live), whose similarity to the reply is the match
  (`monitoring/match.py`). "Latest" is by the turns' times, not their arrival: a reply delivered
  after the customer's next message answers the suggestion of a customer turn sent before it (the
  case's latest one when no turn of the conversation before the reply has a suggestion); a reply
  that names the customer turn it answers (`reply_to`: Chatwoot's "reply to" a message) answers
  the latest suggestion shown at that turn. Nor does the order in which suggestions are made count:
  a reply received before the suggestion of the turn it answers was made (the agent was quicker
  than the pipeline), or before that turn itself arrived, is paired with that suggestion when it is
  recorded (`answer`, `pair_replies`). A private agent turn (an internal note) is kept and is
  neither;
- a turn kept as **context only** (`receive_context`: a customer's message while a help desk's bot
  handles the conversation, and the bot's own) is read as a turn before later ones, and is neither
  a suggestion's turn nor a reply;
- a turn is stored once per caller and message id: a repeat changes nothing and is answered as
  the first time; the same id with another turn (case, role, text, time) is an `IdempotencyConflict`.

A help desk's resolution of a conversation (`receive_resolved`) is the case's `resolved` event, with
the time from the conversation's start (else the case's first message) to the resolution as its
`handle_seconds`; one event per resolution (key `resolved:{resolution}`), so a redelivery stores
nothing and a conversation reopened and resolved again has a second event, the one an analysis
takes (the case's last `resolved` event with a handle time, as for events sent to the API). It also
closes the case, and a reopening (`receive_reopened`) opens it again: the case's status follows the
help desk's latest change by the help desk's times (`Cases.follow_status`), so a webhook delivered
twice, or after a later change, leaves it as it is.

The event's idempotency key is `message:{message_id}` in the caller's namespace (reserved: no API
caller may send one to `POST /v1/events`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from supportcue.data.conversations import Added
from supportcue.data.store import Store
from supportcue.data.tables import ConversationMessage, Suggestion
from supportcue.errors import IdempotencyConflict
from supportcue.integrations.base import Ignored, Inbound, Reopened, Resolved
from supportcue.mailtext import clean as clean_email
from supportcue.monitoring.events import record_event
from supportcue.pipeline import SuggestRequest, SuggestResult
from supportcue.vocab import CaseStatus, EventKind, MessageRole

EVENT_KEY_PREFIX = "message:"


def event_key(message_id: str) -> str:
    """The idempotency key of the `sent` event an agent's message becomes: the prefix and the
    message id, or the id's SHA-256 when that would not fit the key's 200 characters."""
    key = EVENT_KEY_PREFIX + message_id
    return key if len(key) <= 200 else EVENT_KEY_PREFIX + hashlib.sha256(message_id.encode()).hexdigest()


@dataclass(frozen=True)
class TurnIn:
    """A turn as a caller sent it."""

    case_id: str
    message_id: str
    role: MessageRole
    text: str
    ts: datetime | None = None
    customer_name: str | None = None
    channel: str | None = None
    agent_id: str | None = None
    private: bool = False
    reply_to: str | None = None
    """The message id (the same caller's) of the customer turn an agent's reply answers, if it says."""
    context_only: bool = False
    """Kept as context alone (a help desk's bot phase: `receive_context`)."""

    def __post_init__(self) -> None:
        # an e-mail's quoted history, signature, footer and HTML are left out (`mailtext.clean`): the
        # turn stored, its suggestion's context and the reply measured are what was written in it
        object.__setattr__(self, "text", clean_email(self.text))


def turn_of(inbound: Inbound) -> TurnIn:
    """A help desk's message as a turn (its private notes never get here: `HelpDesk.read` ignores them)."""
    return TurnIn(**{f.name: getattr(inbound, f.name) for f in fields(TurnIn) if hasattr(inbound, f.name)})


def fingerprint(turn: TurnIn) -> str:
    """SHA-256 of what makes the turn itself (not the case's details): a repeat must match it."""
    ts = turn.ts.astimezone(UTC).isoformat() if turn.ts is not None else None
    body = {"case_id": turn.case_id, "role": turn.role, "text": turn.text, "private": turn.private}
    if ts is not None:
        body["ts"] = ts
    if turn.role == MessageRole.AGENT and turn.agent_id:
        body["agent_id"] = turn.agent_id
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _same(stored: ConversationMessage, turn: TurnIn, digest: str) -> ConversationMessage:
    if stored.fingerprint is not None and stored.fingerprint != digest:
        raise IdempotencyConflict(
            f"message_id {turn.message_id!r} was already used with a different turn; a repeat must "
            "send the same case, role, text and time"
        )
    return stored


def _row(turn: TurnIn, caller: str, digest: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "caller": caller,
        "message_id": turn.message_id,
        "case_id": turn.case_id,
        "text": turn.text,
        "fingerprint": digest,
    }
    if turn.ts is not None:
        row["ts"] = turn.ts
    return row


def receive_customer(
    store: Store, turn: TurnIn, *, caller: str, outbox: Mapping[str, Any] | None = None
) -> Added:
    """Store a customer turn (with `outbox`, queue that help-desk note for it in the same
    transaction); a repeat is returned as stored (`created` False)."""
    digest = fingerprint(turn)
    stored = store.conversations.find(caller, turn.message_id)
    if stored is not None:
        return Added(_same(stored, turn, digest), False)
    added = store.conversations.add_customer(
        _row(turn, caller, digest), channel=turn.channel, customer_name=turn.customer_name, outbox=outbox
    )
    if not added.created:
        _same(added.turn, turn, digest)
    return added


def receive_context(store: Store, turn: TurnIn, *, caller: str) -> Added:
    """Store a turn as context alone: a customer's message while a help desk's bot handles the
    conversation, or the bot's. It is a turn before the next ones (their suggestions read it) and
    nothing else: no suggestion, no note, no `sent` event, no case of its own (the first message
    after the bot hands over makes it), and no customer message awaiting a reply. A repeat is
    returned as stored (`created` False)."""
    digest = fingerprint(turn)
    stored = store.conversations.find(caller, turn.message_id)
    if stored is not None:
        return Added(_same(stored, turn, digest), False)
    row = {**_row(turn, caller, digest), "role": turn.role, "agent_id": turn.agent_id}
    kept, created = store.conversations.add_context(row)
    return Added(_same(kept, turn, digest), created)


def suggestion_request(store: Store, added: Added) -> SuggestRequest:
    """The pipeline's request for a customer turn, with the turns before it as its context."""
    if not added.created:  # a repeat whose first attempt made no suggestion: read its context again
        added = store.conversations.context(added.turn)
    return SuggestRequest(
        message=added.turn.text,
        case_id=added.turn.case_id,
        customer_name=added.customer_name,
        context=list(added.thread),
        fields={str(k): str(v) for k, v in (added.fields or {}).items()},
        message_id=added.turn.message_id,  # the suggestion of this message, shared with the embed page
    )


def answer(store: Store, turn: ConversationMessage, result: SuggestResult) -> dict[str, Any]:
    """Record the suggestion made for a customer turn; the answer kept for it (a concurrent repeat's,
    when that one was recorded first). The agent replies already received that answer this turn (sent
    before its suggestion was made, or delivered before the turn itself) are paired with it now
    (`pair_replies`)."""
    kept = store.conversations.answer(turn.id, result.suggestion_id, result.public())
    pair_replies(store, kept)
    return dict(kept.result)


def adopt(store: Store, turn: ConversationMessage, made: Suggestion) -> dict[str, Any]:
    """Record on a customer turn the suggestion already made for its message (`POST /v1/suggest` with
    its case and message id: the Dashboard App page asked before the webhook came), as `answer` does
    for one made for the turn; the answer kept for it."""
    public = {
        "suggestion_id": made.id,
        "case_id": made.case_id,
        "message_id": made.message_key,
        "text": made.text,
        "topic": made.topic,
        "answer_id": made.answer_id,
        "abstained_at": made.abstained_at,
        "reason": made.reason,
        "mode": made.mode,
        "reused": True,
    }
    kept = store.conversations.answer(turn.id, made.id, public)
    pair_replies(store, kept)
    return dict(kept.result)


def _answered(
    store: Store, case_id: str, ts: datetime | None, quoted_id: str | None, caller: str
) -> str | None:
    """The suggestion an agent reply sent at `ts` answers: the latest one shown (`live`) for a
    customer turn sent at or before it (or at or before the turn it quotes), else the case's latest."""
    shown = None
    asked_by = ts  # a reply delivered late answers what was shown before it was sent
    quoted = store.conversations.find(caller, quoted_id) if quoted_id else None
    if quoted is not None and quoted.case_id == case_id and quoted.role == MessageRole.CUSTOMER:
        asked_by = quoted.ts  # a reply to a given message answers what was shown for it
    if asked_by is not None:
        shown = store.cases.latest_suggestion(case_id, live=True, asked_by=asked_by)
    if shown is None:
        shown = store.cases.latest_suggestion(case_id, live=True)
    return shown.id if shown is not None else None


def pair_replies(store: Store, turn: ConversationMessage) -> int:
    """Pair again, by the turns' times, the agent replies sent at or after a customer turn that now
    has its suggestion: a reply received before that suggestion was made (the agent was quicker than
    the pipeline) or before the turn itself (Chatwoot delivers each webhook from its own job) was
    paired with an earlier turn's suggestion. How many changed."""
    changed = 0
    for reply in store.conversations.replies_since(turn):
        quoted = reply.result.get("reply_to") if isinstance(reply.result, dict) else None
        found = _answered(store, reply.case_id, reply.ts, quoted, reply.caller)
        if found is not None and found != reply.suggestion_id:
            store.conversations.pair(reply, found)
            changed += 1
    return changed


def receive_agent(store: Store, turn: TurnIn, *, caller: str) -> tuple[dict[str, Any], bool]:
    """Store an agent turn and, unless it is private, record it as the `sent` event of the case's
    latest suggestion that was shown; (the answer, whether it was new). A repeat changes nothing."""
    digest = fingerprint(turn)
    stored = store.conversations.find(caller, turn.message_id)
    if stored is not None:
        return dict(_same(stored, turn, digest).result), False
    suggestion_id: str | None = None
    event_id: int | None = None
    if not turn.private:
        suggestion_id = _answered(store, turn.case_id, turn.ts, turn.reply_to, caller)
        event: dict[str, Any] = {
            "idempotency_key": event_key(turn.message_id),
            "case_id": turn.case_id,
            "suggestion_id": suggestion_id,
            "kind": EventKind.SENT,
            "text": turn.text,
            "agent_id": turn.agent_id,
        }
        if turn.ts is not None:
            event["ts"] = turn.ts
        try:
            event_id = record_event(store, event, caller=caller).event.id
        except IdempotencyConflict:  # an earlier attempt stored the event, then failed: keep its event
            earlier = store.events.get(caller, event_key(turn.message_id))
            assert earlier is not None
            event_id, suggestion_id = earlier.id, earlier.suggestion_id
    result = {
        "message_id": turn.message_id,
        "case_id": turn.case_id,
        "role": MessageRole.AGENT.value,
        "private": turn.private,
        "event_id": event_id,
        "suggestion_id": suggestion_id,
    }
    if turn.reply_to and not turn.private:  # kept to pair it again (`pair_replies`); a help desk's only
        result["reply_to"] = turn.reply_to
    row = {
        **_row(turn, caller, digest),
        "private": turn.private,
        "agent_id": turn.agent_id,
        "event_id": event_id,
        "suggestion_id": suggestion_id,
        "result": result,
    }
    kept, created = store.conversations.add_agent(row)
    _same(kept, turn, digest)
    if created and event_id is not None:
        # the suggestion of the turn it answers may have been recorded meanwhile, its pairing of the
        # replies done before this one was stored: pair this one again
        found = _answered(store, turn.case_id, kept.ts, turn.reply_to, caller)
        if found is not None and found != kept.suggestion_id:
            store.conversations.pair(kept, found)
            kept = store.conversations.get(kept.id) or kept
    return dict(kept.result), created


RESOLVED_KEY_PREFIX = "resolved:"


def receive_resolved(store: Store, resolved: Resolved, *, caller: str) -> tuple[int, bool] | Ignored:
    """Record a resolution as the case's `resolved` event: (its id, whether it was new); `Ignored`
    for a conversation no message of which reached supportcue (no case: nothing to measure)."""
    case = store.cases.get(resolved.case_id)
    if case is None:
        return Ignored(
            f"no message of conversation {resolved.case_id} reached supportcue: no case to resolve"
        )
    started = resolved.started_at or case.created_at
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    key = RESOLVED_KEY_PREFIX + resolved.resolution
    event: dict[str, Any] = {
        "idempotency_key": key if len(key) <= 200 else hashlib.sha256(key.encode()).hexdigest(),
        "case_id": resolved.case_id,
        "kind": EventKind.RESOLVED,
        "agent_id": resolved.agent_id,
        "handle_seconds": max(0.0, (resolved.ts - started).total_seconds()),
        "ts": resolved.ts,
    }
    # record_event closes the case too (after the event: a failure in between leaves it open, and
    # Chatwoot's retry closes it)
    try:
        recorded = record_event(store, event, caller=caller)
    except IdempotencyConflict:  # the same resolution said otherwise (another assignee by then): the first
        earlier = store.events.get(caller, event["idempotency_key"])
        assert earlier is not None
        store.cases.follow_status(resolved.case_id, CaseStatus.RESOLVED, resolved.ts)
        return earlier.id, False
    return recorded.event.id, not recorded.duplicate


def receive_reopened(
    store: Store, reopened: Reopened, *, caller: str | None = None, outbox: Mapping[str, Any] | None = None
) -> bool | Ignored:
    """Open the case of a conversation the help desk reopened: whether that changed the case (False:
    it already showed this reopening, a repeat); `Ignored` when there is no case, or the case shows
    a later change (a resolution after it: this webhook came late).

    An agent taking the conversation over from a bot (`handover`: it was pending) opens it too: the
    customer's last message to the bot (kept as context only), if no agent answered it yet, becomes
    the customer turn it is, with `outbox` queued for it (its note), and its case is made or grown
    (`Conversations.take_over`)."""
    taken = None
    if caller is not None and reopened.handover:
        taken = store.conversations.take_over(
            reopened.case_id,
            caller,
            channel=reopened.channel,
            customer_name=reopened.customer_name,
            outbox=outbox,
        )
    case = store.cases.get(reopened.case_id)
    if taken is not None:
        store.cases.follow_status(reopened.case_id, CaseStatus.OPEN, reopened.ts)
        return True
    if case is None:
        return Ignored(f"no message of conversation {reopened.case_id} reached supportcue: no case to reopen")
    if store.cases.follow_status(reopened.case_id, CaseStatus.OPEN, reopened.ts):
        return not (case.status == CaseStatus.OPEN and case.status_changed_at == reopened.ts)
    return Ignored(f"case {reopened.case_id} changed status after this reopening: it stays {case.status}")
