"""The outbox worker with an in-memory help desk: retries with backoff, giving up, skipping, and
never posting a note twice (an attempt that posted but lost its answer; two workers at once)."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from supportcue.data.store import Store, open_store
from supportcue.errors import HelpDeskError
from supportcue.integrations import Backoff, NoteWorker, NotReady, RecordingHelpDesk
from supportcue.integrations.conversation import TurnIn, receive_agent, receive_customer
from supportcue.pipeline import SuggestRequest, SuggestResult
from supportcue.vocab import MessageRole
from tests.test_pipeline import make

T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
"""The workers' clock: a day after the real time at which the store queues a note (`utcnow()`, well
after the collection), so a note is due at once. It was 2026-12-01 09:00, a fixed time that every
run after it failed."""


@pytest.fixture
def db(database_url: str) -> Iterator[Store]:
    s = open_store(database_url)
    yield s
    s.close()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Counted:
    def __init__(self) -> None:
        self.outcomes: list[str] = []

    def delivered(self, help_desk: str, outcome: str) -> None:
        self.outcomes.append(outcome)


def suggester(store: Store) -> Any:
    pipeline = make()

    def suggest(request: SuggestRequest) -> SuggestResult:
        result = pipeline.suggest(request)
        store.cases.add_suggestions([result.row()])
        return result

    return suggest


def ask(
    store: Store,
    message_id: str,
    text: str = "how do I pause a payout?",
    case_id: str = "cw:1",
    ts: datetime = T0,
) -> None:
    turn = TurnIn(case_id=case_id, message_id=message_id, role=MessageRole.CUSTOMER, text=text, ts=ts)
    outbox = {
        "help_desk": "recording",
        "kind": "note",
        "target": {"conversation_id": "1"},
        "link_base": "http://sc",
    }
    assert receive_customer(store, turn, caller="webhook:recording", outbox=outbox).created


def worker(store: Store, desk: RecordingHelpDesk, clock: Clock, **kw: Any) -> NoteWorker:
    kw.setdefault("backoff", Backoff(first_s=10, jitter=0))
    return NoteWorker(store, desk, kw.pop("suggest", suggester(store)), clock=clock, **kw)


def test_backoff_doubles_up_to_its_cap_within_its_jitter() -> None:
    rng = random.Random(7)
    backoff = Backoff(first_s=5, max_s=60, jitter=0.2)
    for failures, base in ((1, 5), (2, 10), (3, 20), (4, 40), (5, 60), (9, 60)):
        assert base * 0.8 <= backoff.delay(failures, rng) <= base * 1.2


def test_failed_attempts_wait_their_backoff_and_give_up_after_max_attempts(db: Store) -> None:
    ask(db, "m1")
    desk, clock, counted = RecordingHelpDesk(fail=99), Clock(), Counted()
    w = worker(db, desk, clock, max_attempts=3, observer=counted)
    assert w.run_once() == 1
    (item,) = db.outbox.items()
    assert (item.status, item.failures, item.next_attempt_at) == ("pending", 1, T0 + timedelta(seconds=10))
    clock.now += timedelta(seconds=9)
    assert w.run_once() == 0  # not due yet
    clock.now += timedelta(seconds=1)
    assert w.run_once() == 1
    assert db.outbox.items()[0].next_attempt_at == clock.now + timedelta(seconds=20)
    clock.now += timedelta(seconds=20)
    w.run_once()
    (item,) = db.outbox.items()
    assert (item.status, item.failures, item.attempts) == ("failed", 3, 3)
    assert item.last_error == "HTTP 503 (scripted) (gave up after 3 attempts)"
    assert counted.outcomes == ["failed_attempt"] * 3 + ["failed"] and desk.attempts == 3
    assert (
        db.outbox.health("recording")["failed"] == 1 and db.outbox.health("recording")["failed_attempts"] == 3
    )
    clock.now += timedelta(days=1)
    assert w.run_once() == 0  # given up: never tried again


def test_an_attempt_that_posted_but_lost_its_answer_is_not_posted_again(db: Store) -> None:
    ask(db, "m1")
    desk, clock = RecordingHelpDesk(fail=1, lose_answers=True), Clock()
    w = worker(db, desk, clock)
    w.run_once()
    clock.now += timedelta(seconds=10)
    w.run_once()
    (item,) = db.outbox.items()
    assert item.status == "posted" and item.remote_id == "1" and len(desk.notes) == 1 and desk.attempts == 1
    assert desk.notes[0].ref == f"suggestion={item.suggestion_id}"


def test_the_suggestion_is_made_once_whatever_the_attempts(db: Store) -> None:
    ask(db, "m1")
    w = worker(db, RecordingHelpDesk(fail=2), clock := Clock())
    for _ in range(3):
        w.run_once()
        clock.now += timedelta(minutes=1)
    assert db.db.count("suggestions") == 1
    (item,) = db.outbox.items()
    (turn,) = db.conversations.turns("cw:1")
    assert item.status == "posted" and item.suggestion_id == turn.suggestion_id
    assert turn.result["suggestion_id"] == item.suggestion_id


class Off(RecordingHelpDesk):
    @property
    def unable_to_post(self) -> str | None:
        return "notes are turned off"


def test_skipped_when_nothing_to_show_a_later_message_came_or_notes_are_off(db: Store) -> None:
    ask(db, "m1", text="where is my money", case_id="a")  # the fake topic stage abstains
    ask(db, "m2", case_id="b")
    ask(db, "m3", text="thanks", case_id="b")  # b's first note would come after b's next message
    ask(db, "m4", case_id="c")
    desk = RecordingHelpDesk()
    worker(db, desk, Clock()).run_once()
    reasons = {i.case_id + ":" + str(i.message_pk): (i.status, i.last_error) for i in db.outbox.items()}
    assert sorted(reasons.values()) == [
        ("posted", None),
        ("skipped", "a later message came first"),
        ("skipped", "no suggestion to show (stopped at topic)"),
        ("skipped", "no suggestion to show (stopped at validation)"),
    ]
    assert len(desk.notes) == 1
    ask(db, "m5", case_id="d")
    worker(db, Off(), Clock()).run_once()
    item = db.outbox.items()[-1]
    assert (item.status, item.last_error) == ("skipped", "notes are turned off")
    assert item.suggestion_id is not None  # made and measured, though not posted


def test_a_pipeline_still_loading_postpones_without_using_an_attempt(db: Store) -> None:
    ask(db, "m1")
    clock = Clock()

    def loading(request: SuggestRequest) -> SuggestResult:
        raise NotReady("models are still loading")

    worker(db, RecordingHelpDesk(), clock, suggest=loading).run_once()
    (item,) = db.outbox.items()
    assert (item.status, item.attempts, item.failures) == ("pending", 0, 0)
    assert item.next_attempt_at > T0


def test_two_workers_at_once_post_each_note_once(database_url: str, db: Store) -> None:
    for i in range(6):
        ask(db, f"m{i}", case_id=f"case-{i}")
    desk = RecordingHelpDesk()
    other = open_store(database_url)  # as another process would
    workers = [worker(db, desk, Clock()), worker(other, desk, Clock())]
    threads = [threading.Thread(target=w.run_once) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert len(desk.notes) == 6 and {n.target["conversation_id"] for n in desk.notes} == {"1"}
    assert sorted(n.ref for n in desk.notes) == sorted({n.ref for n in desk.notes})
    assert [i.status for i in db.outbox.items()] == ["posted"] * 6


def test_each_failed_attempt_says_why_in_one_log_line(db: Store, caplog: pytest.LogCaptureFixture) -> None:
    """Chatwoot down, a mistyped base_url or a rate limit: the admin reading the log learns it at the
    first failed attempt, not when the note is given up (with the defaults, about 40 minutes later)."""
    ask(db, "m1", text="how do I pause a payout? I am Ana Silva, ana@example.com")
    clock = Clock()
    w = worker(db, RecordingHelpDesk(fail=99), clock, max_attempts=3)
    with caplog.at_level("WARNING", logger="supportcue.integrations"):
        w.run_once()
    (item,) = db.outbox.items()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"note {item.id} for case cw:1: attempt 1 of 3 failed (HTTP 503 (scripted)); next attempt in 10 s"
    ]
    caplog.clear()
    clock.now += timedelta(seconds=10)
    with caplog.at_level("WARNING", logger="supportcue.integrations"):
        w.run_once()
        clock.now += timedelta(seconds=20)
        w.run_once()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"note {item.id} for case cw:1: attempt 2 of 3 failed (HTTP 503 (scripted)); next attempt in 20 s",
        f"note {item.id} for case cw:1 not posted: HTTP 503 (scripted) (gave up after 3 attempts)",
    ]
    assert not any("Ana" in line or "@" in line for line in lines)


class RateLimited(RecordingHelpDesk):
    """Answers its first post with a 429 that asks for `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__()
        self.retry_after = retry_after

    def post_note(self, note: Any) -> str:
        self.attempts += 1
        if self.attempts == 1:
            raise HelpDeskError("HTTP 429", retryable=True, retry_after=self.retry_after)
        return super().post_note(note)


def test_a_help_desks_retry_after_is_waited_for_when_longer_than_the_backoff(db: Store) -> None:
    ask(db, "m1")
    clock = Clock()
    w = worker(db, RateLimited(retry_after=45), clock)  # the backoff would wait 10 s
    w.run_once()
    (item,) = db.outbox.items()
    assert item.next_attempt_at == T0 + timedelta(seconds=45) and item.last_error == "HTTP 429"
    ask(db, "m2", case_id="cw:2")
    w = worker(db, RateLimited(retry_after=1), clock)  # shorter than the backoff: the backoff
    w.run_once()
    assert db.outbox.items()[-1].next_attempt_at == T0 + timedelta(seconds=10)


def reply(
    store: Store, message_id: str, ts: datetime, text: str = "You can pause payouts in Settings."
) -> None:
    turn = TurnIn(
        case_id="cw:1", message_id=message_id, role=MessageRole.AGENT, text=text, ts=ts, agent_id="Rita"
    )
    receive_agent(store, turn, caller="webhook:recording")


def suggestion_of(store: Store, message_id: str) -> str | None:
    found = store.conversations.find("webhook:recording", message_id)
    return found.suggestion_id if found is not None else None


@pytest.mark.parametrize("order", ["reply before the suggestion", "reply before the message"])
def test_a_reply_answers_the_suggestion_of_the_message_it_followed_whenever_that_was_made(
    db: Store, order: str
) -> None:
    """The agent answers the customer's second question in Chatwoot before supportcue made its
    suggestion (a slow pipeline, a backlog), or Chatwoot delivers the reply's webhook before the
    question's (each webhook is its own background job). The reply was the `sent` event of the first
    question's suggestion: measured against another question's suggestion, and the second
    suggestion, never answered, left out of the match rate."""
    w = worker(db, RecordingHelpDesk(), Clock())
    ask(db, "q1", ts=T0 - timedelta(minutes=5))
    w.run_once()
    reply(db, "r1", T0 - timedelta(minutes=4))
    if order == "reply before the suggestion":
        ask(db, "q2", text="and a payout of last week, can I pause it too?", ts=T0 - timedelta(minutes=2))
        reply(db, "r2", T0 - timedelta(minutes=1))
    else:
        reply(db, "r2", T0 - timedelta(minutes=1))
        ask(db, "q2", text="and a payout of last week, can I pause it too?", ts=T0 - timedelta(minutes=2))
    w.run_once()
    first, second = suggestion_of(db, "q1"), suggestion_of(db, "q2")
    assert first is not None and second is not None and first != second
    sent = {e.idempotency_key: e.suggestion_id for e in db.events.list(kind="sent")}
    assert sent == {"message:r1": first, "message:r2": second}
    assert suggestion_of(db, "r2") == second  # the reply's turn says so too
    assert [i.last_error for i in db.outbox.items()] == [None, "a later message came first"]


def test_while_the_dashboard_app_makes_the_messages_suggestion_the_note_waits_for_it(db: Store) -> None:
    """The Dashboard App page's `POST /v1/suggest` for the same message holds its claim: the worker
    made a second suggestion meanwhile. Now it waits (no attempt used) and posts the page's."""
    ask(db, "m1")
    assert db.cases.claim_message("cw:1", "m1", "the page's request", 60)
    desk, clock = RecordingHelpDesk(), Clock()
    w = worker(db, desk, clock)
    w.run_once()
    (item,) = db.outbox.items()
    assert (item.status, item.attempts) == ("pending", 0) and db.db.count("suggestions") == 0
    request = SuggestRequest(message="how do I pause a payout?", case_id="cw:1", message_id="m1")
    made = suggester(db)(request)  # the page's request stores its suggestion and lets the claim go
    db.cases.release_message("cw:1", "m1", "the page's request")
    clock.now += timedelta(seconds=3)
    w.run_once()
    (item,) = db.outbox.items()
    assert item.status == "posted" and item.suggestion_id == made.suggestion_id
    assert desk.notes[0].ref == f"suggestion={made.suggestion_id}" and db.db.count("suggestions") == 1
    assert suggestion_of(db, "m1") == made.suggestion_id
