"""The rules of an agent event, per kind, and recording once per idempotency key (on each backend)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from supportcue.data.store import Store
from supportcue.errors import InvalidEvent
from supportcue.monitoring.events import DISMISS_REASONS, check_event, record_event

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def event(kind: str, key: str = "k1", **kw: Any) -> dict[str, Any]:
    return {"idempotency_key": key, "case_id": "c1", "suggestion_id": "s1", "kind": kind, **kw}


@pytest.mark.parametrize(
    ("row", "says"),
    [
        (event("sent"), "a `sent` event needs the sent `text`"),
        (event("sent", text=" \n"), "a `sent` event needs the sent `text`"),
        (event("dismissed"), "needs a `reason`: wrong_topic, outdated, tone, not_needed or other"),
        (event("dismissed", reason="boring"), "needs a `reason`: wrong_topic"),
    ],
)
def test_an_event_lacking_what_its_kind_needs_is_refused_and_not_stored(
    store: Store, row: dict[str, Any], says: str
) -> None:
    with pytest.raises(InvalidEvent, match=says.replace("`", ".")):
        record_event(store, row)
    assert store.db.count("events") == 0


@pytest.mark.parametrize(
    "row",
    [
        event("shown"),
        event("inserted"),
        event("edited"),
        event("resolved", handle_seconds=42.0),
        event("feedback"),
        event("sent", text="Hi Ana, done."),
        *(event("dismissed", reason=r) for r in DISMISS_REASONS),
    ],
)
def test_valid_events_pass(row: dict[str, Any]) -> None:
    check_event(row)


def test_recorded_once_per_key_and_a_repeat_answers_the_first(store: Store) -> None:
    first = record_event(store, event("dismissed", reason="outdated", ts=T0))
    again = record_event(store, event("dismissed", reason="tone"))
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.event.id == first.event.id and again.event.reason == "outdated"
    assert [(e.kind, e.reason) for e in store.events.list()] == [("dismissed", "outdated")]


def test_an_event_without_ts_happened_when_recorded(store: Store) -> None:
    record_event(store, event("shown", key="a"), now=lambda: T0)
    record_event(store, event("inserted", key="b", ts=datetime(2026, 10, 2, tzinfo=UTC)), now=lambda: T0)
    assert [(e.kind, e.ts.replace(tzinfo=UTC)) for e in store.events.list()] == [
        ("shown", T0),
        ("inserted", datetime(2026, 10, 2, tzinfo=UTC)),
    ]
