"""Agent events: what a valid event of each kind is, and recording one once per idempotency key.

Events say what agents did with a suggestion; the match rate, adoption and the dismissal counts are
computed from them, so each kind carries what those need:

    kind        needs
    sent        `text`, the reply sent (the match rate compares it with the suggestion)
    dismissed   `reason`, one of DISMISS_REASONS (the dashboard counts dismissals by reason)
    the others  nothing more

An event without `ts` happened when it is recorded. The idempotency key makes recording safe to
retry: a repeated key stores nothing and answers the event stored first, marked `duplicate`. The
HTTP route, and any connector that turns a help desk's messages into events, go through
`record_event`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from supportcue.data.store import Store
from supportcue.data.tables import Event, utcnow
from supportcue.errors import InvalidEvent
from supportcue.vocab import EventKind

DISMISS_REASONS = ("wrong_topic", "outdated", "tone", "not_needed", "other")


@dataclass(frozen=True)
class Recorded:
    """The stored event, and whether an earlier event with the same key was stored instead."""

    event: Event
    duplicate: bool


def check_event(row: Mapping[str, Any]) -> None:
    """Raise `InvalidEvent`, naming the missing field, when the event lacks what its kind needs."""
    kind = row["kind"]
    if kind == EventKind.SENT and not (row.get("text") or "").strip():
        raise InvalidEvent("a `sent` event needs the sent `text`")
    if kind == EventKind.DISMISSED and row.get("reason") not in DISMISS_REASONS:
        allowed = f"{', '.join(DISMISS_REASONS[:-1])} or {DISMISS_REASONS[-1]}"
        raise InvalidEvent(f"a `dismissed` event needs a `reason`: {allowed}")


def record_event(store: Store, row: Mapping[str, Any], now: Callable[[], datetime] = utcnow) -> Recorded:
    """Check the event and store it unless its idempotency key was seen before."""
    check_event(row)
    stored, created = store.events.add({**row, "ts": row.get("ts") or now()})
    return Recorded(stored, duplicate=not created)
