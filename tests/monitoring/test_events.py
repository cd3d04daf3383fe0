"""The rules of an agent event, per kind, and recording once per idempotency key (on each backend)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from supportcue.data.importer import import_file
from supportcue.data.store import Store
from supportcue.errors import IdempotencyConflict, InvalidEvent
from supportcue.monitoring.events import DISMISS_REASONS, check_event, fingerprint, outcome, record_event

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
        record_event(store, row, caller="api")
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
    first = record_event(store, event("dismissed", reason="outdated", ts=T0), caller="api")
    # a retry repeats the request (the same key with another request is a conflict, tested below)
    again = record_event(store, event("dismissed", reason="outdated", ts=T0), caller="api")
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.event.id == first.event.id and again.event.reason == "outdated"
    assert [(e.kind, e.reason) for e in store.events.list()] == [("dismissed", "outdated")]


def test_an_event_without_ts_happened_when_recorded(store: Store) -> None:
    record_event(store, event("shown", key="a"), caller="api", now=lambda: T0)
    record_event(
        store, event("inserted", key="b", ts=datetime(2026, 10, 2, tzinfo=UTC)), caller="api", now=lambda: T0
    )
    assert [(e.kind, e.ts.replace(tzinfo=UTC)) for e in store.events.list()] == [
        ("shown", T0),
        ("inserted", datetime(2026, 10, 2, tzinfo=UTC)),
    ]


def test_the_same_key_with_a_different_request_is_a_conflict_and_stores_nothing(store: Store) -> None:
    first = record_event(store, event("dismissed", reason="outdated", ts=T0), caller="api")
    for changed in (
        event("dismissed", reason="tone", ts=T0),
        event("dismissed", reason="outdated"),  # no ts: a different request too
        event("shown", ts=T0),
        {**event("dismissed", reason="outdated", ts=T0), "case_id": "c2"},
    ):
        with pytest.raises(IdempotencyConflict, match="'k1' was already used with a different request"):
            record_event(store, changed, caller="api")
    assert [(e.id, e.kind, e.reason) for e in store.events.list()] == [
        (first.event.id, "dismissed", "outdated")
    ]


def test_the_fingerprint_is_canonical() -> None:
    plain = event("sent", text="Hi", ts=T0)
    same = {**dict(reversed(list(plain.items()))), "agent_id": None}
    same["ts"] = datetime(2026, 10, 1, 11, 0, tzinfo=timezone(timedelta(hours=2)))  # T0 in another zone
    assert fingerprint(plain) == fingerprint(same) == fingerprint({**plain, "idempotency_key": "other"})
    assert fingerprint(plain) != fingerprint({**plain, "text": "Hi!"})
    assert len(fingerprint(plain)) == 64


def test_keys_are_scoped_to_the_caller(store: Store) -> None:
    mine = record_event(store, event("shown"), caller="agent-a")
    theirs = record_event(store, event("dismissed", reason="tone"), caller="agent-b")
    assert not mine.duplicate and not theirs.duplicate and mine.event.id != theirs.event.id
    assert sorted((e.caller, e.kind) for e in store.events.list()) == [
        ("agent-a", "shown"),
        ("agent-b", "dismissed"),
    ]


def test_no_api_caller_writes_the_internal_namespace(store: Store) -> None:
    with pytest.raises(ValueError, match="needs the caller's id"):
        record_event(store, event("shown"), caller="")
    assert store.db.count("events") == 0


def test_an_event_stored_before_fingerprints_is_acknowledged_on_a_retry(store: Store) -> None:
    store.events.add_many([{**event("shown"), "caller": "api", "ts": T0}])  # as the migration leaves it
    again = record_event(store, event("shown"), caller="api")
    assert again.duplicate and store.db.count("events") == 1


def test_an_api_caller_cannot_pre_empt_an_imports_reply(store: Store, tmp_path: Path) -> None:
    """The attack from issue 9: a caller posts the importer's key for a case first; the import of that
    case's history must still store the agent's reply."""
    record_event(store, event("sent", key="import:c1:sent", text="pre-empted"), caller="api")
    path = tmp_path / "cases.csv"
    path.write_text("id,message,reply\nc1,How do I pause payouts?,Go to Settings > Payouts.\n")
    report = import_file(store, "cases", path)
    assert report.committed and not report.rejects
    sent = {(e.caller, e.text) for e in store.events.list(case_id="c1", kind="sent")}
    assert sent == {("api", "pre-empted"), ("", "Go to Settings > Payouts.")}
    import_file(store, "cases", path)  # and re-importing stays idempotent
    assert store.db.count("events") == 2


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        ([], None),
        (["feedback"], None),
        (["shown"], "shown"),
        (["shown", "inserted"], "inserted"),
        (["shown", "alternative"], "inserted"),
        (["shown", "dismissed"], "dismissed"),
        (["shown", "dismissed", "undismissed"], "shown"),
        (["shown", "dismissed", "undismissed", "inserted"], "inserted"),
        (["shown", "dismissed", "sent"], "sent"),
        (["sent", "dismissed"], "sent"),
    ],
)
def test_a_suggestions_outcome_is_the_furthest_it_went(kinds: list[str], expected: str | None) -> None:
    assert outcome(kinds) == expected
