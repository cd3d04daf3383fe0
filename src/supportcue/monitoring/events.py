"""Agent events: what a valid event of each kind is, and recording one once per idempotency key.

Events say what agents did with a suggestion; the match rate, adoption and the dismissal counts are
computed from them, so each kind carries what those need:

    kind         needs
    sent         `text`, the reply sent (the match rate compares it with the suggestion)
    dismissed    `reason`, one of DISMISS_REASONS (the dashboard counts dismissals by reason)
    alternative  `answer_id`, the library answer inserted instead of the suggestion (one of its
                 alternatives, or one the agent found by searching the library)
    undismissed  `suggestion_id`, the suggestion whose dismissal the agent undid (its dismissals made
                 before this event no longer count)
    the others   nothing more

An event without `ts` happened when it is recorded.

Idempotency works like a payments API's. Keys are scoped to the caller (one caller cannot pre-empt
another's key, nor the importer's `import:<case>:sent`, stored under the internal caller). The
request's `fingerprint` is stored with the event: a retry with the same key and the same request
stores nothing and answers the event stored first, marked `duplicate`; the same key with a
different request raises `IdempotencyConflict` (a 409), so a changed body is never silently dropped.
The HTTP route, and any connector that turns a help desk's messages into events, go through
`record_event`. A `resolved` event also closes its case (it leaves the console's inbox) as of its
`ts`, in the order the changes happened (`Cases.follow_status`): one older than the case's last
status change (a customer's later message, a reopening) or repeated changes nothing, and one of a
case not stored changes no case.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from supportcue.data.events import INTERNAL
from supportcue.data.store import Store
from supportcue.data.tables import Event, utcnow
from supportcue.errors import IdempotencyConflict, InvalidEvent
from supportcue.vocab import CaseStatus, DismissReason, EventKind

DISMISS_REASONS = tuple(DismissReason)


@dataclass(frozen=True)
class Recorded:
    """The stored event, and whether an earlier event with the same key was stored instead."""

    event: Event
    duplicate: bool


def check_event(row: Mapping[str, Any]) -> None:
    """Raise `InvalidEvent`, naming the missing field, when the event lacks what its kind needs."""
    kind = row["kind"]
    if kind == EventKind.SENT and not (row.get("text") or "").strip():
        raise InvalidEvent("a `sent` event needs the sent `text`", "text")
    if kind == EventKind.DISMISSED and row.get("reason") not in DISMISS_REASONS:
        allowed = f"{', '.join(DISMISS_REASONS[:-1])} or {DISMISS_REASONS[-1]}"
        raise InvalidEvent(f"a `dismissed` event needs a `reason`: {allowed}", "reason")
    if kind == EventKind.ALTERNATIVE and not (row.get("answer_id") or "").strip():
        raise InvalidEvent("an `alternative` event needs the `answer_id` of the answer inserted", "answer_id")
    if kind == EventKind.UNDISMISSED and not (row.get("suggestion_id") or "").strip():
        raise InvalidEvent(
            "an `undismissed` event needs the `suggestion_id` whose dismissal it undoes", "suggestion_id"
        )


NOT_FINGERPRINTED = ("idempotency_key", "caller", "fingerprint")
"""Left out of the fingerprint: the key itself, and what the server (not the request) says."""


def fingerprint(row: Mapping[str, Any]) -> str:
    """SHA-256 of the request as canonical JSON: sorted keys, fields not given (None) left out, times
    in UTC; so a retry of the same request has the same fingerprint however its JSON was spelt."""

    def canonical(value: Any) -> Any:
        if isinstance(value, datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=UTC)
            return aware.astimezone(UTC).isoformat()
        return value

    body = {k: canonical(v) for k, v in row.items() if v is not None and k not in NOT_FINGERPRINTED}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_event(
    store: Store, row: Mapping[str, Any], *, caller: str, now: Callable[[], datetime] = utcnow
) -> Recorded:
    """Check the event and store it under (`caller`, its idempotency key) unless that key was used
    before: by the same request, answered as a duplicate; by another, `IdempotencyConflict`."""
    if caller == INTERNAL:
        raise ValueError("record_event needs the caller's id (the empty id is supportcue's own)")
    check_event(row)
    digest = fingerprint(row)
    stored, created = store.events.add(
        {**row, "ts": row.get("ts") or now(), "caller": caller, "fingerprint": digest}
    )
    if not created and stored.fingerprint is not None and stored.fingerprint != digest:
        raise IdempotencyConflict(
            f"idempotency_key {stored.idempotency_key!r} was already used with a different request; "
            "use a new key for a new event (a retry must repeat the first request exactly)"
        )
    if stored.kind == EventKind.RESOLVED:
        # after the event, for a retry too (a failure in between leaves the case open, and the retry
        # closes it): by the stored event's time, so a repeat, or a resolution older than the case's
        # last change, changes nothing; a case not stored is left alone
        store.cases.follow_status(stored.case_id, CaseStatus.RESOLVED, stored.ts)
    return Recorded(stored, duplicate=not created)


def outcome(kinds: Sequence[str]) -> str | None:
    """How far a suggestion went, from the kinds of the events that name it in the order they
    happened: `sent` (a reply was sent for it), else `dismissed` (its last dismissal not undone),
    else `inserted` (it, or one of its alternatives, was put in the reply box), else `shown`; None
    when no event names it (an API caller may send no events at all)."""
    if EventKind.SENT in kinds:
        return EventKind.SENT
    dismissed = False
    for kind in kinds:
        if kind in (EventKind.DISMISSED, EventKind.UNDISMISSED):
            dismissed = kind == EventKind.DISMISSED
    if dismissed:
        return EventKind.DISMISSED
    if EventKind.INSERTED in kinds or EventKind.ALTERNATIVE in kinds:
        return EventKind.INSERTED
    return EventKind.SHOWN if EventKind.SHOWN in kinds else None
