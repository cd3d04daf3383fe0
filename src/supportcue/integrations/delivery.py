"""The notes a help desk is owed, posted from the outbox by a worker thread, with retries.

The webhook only stores what arrived (the turn, and an outbox item, in one transaction) and answers;
this worker does the rest, so a help desk that is slow or down never delays a webhook and loses
nothing (items survive a restart; another process takes over an item whose lease ran out: every
worker of `serve --workers N` runs one of these, and the claim in the database gives each item to
one). For each due item, in order:

1. the suggestion: made once (through `suggest`, the service's micro-batcher) with the turns before
   it as context, and recorded on the turn; while the pipeline is still loading the item waits. One
   suggestion per message: one the help desk's page beside the conversation (the Chatwoot Dashboard
   App) already asked `POST /v1/suggest` for is the turn's, and while that page's request is making
   it (it holds the message's claim, `Cases.claim_message`) the item waits;
2. skipped, not posted, when there is nothing to show (the pipeline abstained), notes are off or
   not configured, or a later message came first (a late note would only confuse);
3. after a failed attempt, `find_note` first: a timed-out attempt may have posted it;
4. `post_note`. A failure is retried after `Backoff.delay` (exponential, with jitter), or the help
   desk's `Retry-After` when that is longer, up to `max_attempts`; a help desk's refusal (a 4xx) is
   not retried. Each failed attempt is one log line (the item, its case id, the reason, when the
   next attempt comes; never the message), so a help desk that is down or a mistyped `base_url`
   shows at once, not when the note is given up.

Outcomes are counted by the `Observer` (Prometheus) and kept on the item (the dashboard).
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from supportcue.data.conversations import Added
from supportcue.data.store import Store
from supportcue.data.tables import ConversationMessage, OutboxItem, Suggestion, utcnow
from supportcue.errors import HelpDeskError
from supportcue.integrations import conversation
from supportcue.integrations.base import HelpDesk, note_for
from supportcue.pipeline import SuggestRequest, SuggestResult, worth_reusing
from supportcue.vocab import DeliveryStatus

log = logging.getLogger("supportcue.integrations")

Suggest = Callable[[SuggestRequest], SuggestResult]
"""Makes and stores a suggestion (the service's micro-batcher, from this thread)."""


class NotReady(Exception):
    """The pipeline is not loaded yet: the item waits without using up an attempt."""


class Observer(Protocol):
    def delivered(self, help_desk: str, outcome: str) -> None:
        """Count an outcome: posted, skipped, failed_attempt or failed (given up)."""


@dataclass(frozen=True)
class Backoff:
    """`first_s` after the first failed attempt, doubling after each, at most `max_s`; each wait is
    spread by +-`jitter` so that many items failing together do not retry together."""

    first_s: float = 5.0
    max_s: float = 3600.0
    jitter: float = 0.2

    def delay(self, failures: int, rng: random.Random) -> float:
        base = min(self.max_s, self.first_s * 2.0 ** max(0, failures - 1))
        return base * (1 + self.jitter * (2 * rng.random() - 1))


class NoteWorker:
    """Posts the outbox's notes for one help desk: `start` a thread, or call `run_once` (tests)."""

    def __init__(
        self,
        store: Store,
        help_desk: HelpDesk,
        suggest: Suggest,
        *,
        max_attempts: int = 10,
        backoff: Backoff | None = None,
        observer: Observer | None = None,
        clock: Callable[[], datetime] = utcnow,
        lease: timedelta = timedelta(minutes=2),
        claim_lease_s: float = 60.0,
        poll_s: float = 5.0,
        concurrency: int = 4,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.help_desk = help_desk
        self.suggest = suggest
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.observer = observer
        self.clock = clock
        self.lease = lease
        self.claim_lease_s = claim_lease_s
        self.poll_s = poll_s
        self.rng = rng or random.Random()
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix=f"{help_desk.name}-notes")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the thread ----------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"{self.help_desk.name}-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.run_once():
                    continue
                wait = self._until_due()
            except Exception as exc:  # the database is down, say: try again later, never die
                log.warning("the %s outbox worker failed: %s", self.help_desk.name, type(exc).__name__)
                wait = self.poll_s
            self._wake.wait(wait)
            self._wake.clear()

    def _until_due(self) -> float:
        due = self.store.outbox.next_due(self.help_desk.name)
        if due is None:
            return self.poll_s
        return min(self.poll_s, max(0.01, (due - self.clock()).total_seconds()))

    # -- one round -----------------------------------------------------------------------------------
    def run_once(self) -> int:
        """Attempt every due item once (a few at a time); how many were taken."""
        now = self.clock()
        items = [
            i
            for i in self.store.outbox.due(self.help_desk.name, now)
            if self.store.outbox.claim(i.id, now, self.lease)
        ]
        list(self._pool.map(self._attempt, items))
        return len(items)

    def _attempt(self, item: OutboxItem) -> None:
        try:
            self._deliver(item)
        except Exception as exc:  # never leave an item held: a failed attempt (logged), tried again later
            self._failed(item, f"the attempt failed ({type(exc).__name__})")

    def _deliver(self, item: OutboxItem) -> None:
        outbox, now = self.store.outbox, self.clock()
        turn = self.store.conversations.get(item.message_pk)
        if turn is None:
            outbox.done(item.id, DeliveryStatus.FAILED, now, reason="its message is gone", failed=True)
            return
        try:
            suggestion = self._suggestion(item, turn.id)
        except NotReady:
            outbox.postpone(item.id, now + timedelta(seconds=min(2.0, self.poll_s)))
            return
        if suggestion is None or suggestion.text is None:
            stage = suggestion.abstained_at if suggestion is not None else "the pipeline"
            return self._skip(item, f"no suggestion to show (stopped at {stage})")
        if self.help_desk.unable_to_post:
            return self._skip(item, self.help_desk.unable_to_post)
        if self.store.conversations.followed(turn):
            return self._skip(item, "a later message came first")
        topics = {t.key: t.name for t in self.store.library.topics(status=None)}
        topic = topics.get(suggestion.topic or "", suggestion.topic)
        note = note_for(item.target, suggestion.text, topic, item.link_base, item.case_id, suggestion.id)
        try:
            remote = self.help_desk.find_note(note) if item.attempts else None
            if remote is None:
                remote = self.help_desk.post_note(note)
        except HelpDeskError as exc:
            return self._failed(item, str(exc), retryable=exc.retryable, retry_after=exc.retry_after)
        outbox.done(item.id, DeliveryStatus.POSTED, self.clock(), remote_id=remote, attempted=True)
        self._count("posted")

    def _suggestion(self, item: OutboxItem, turn_id: int) -> Suggestion | None:
        """The suggestion for the item's turn, made now if no attempt made it before."""
        turn = self.store.conversations.get(turn_id)
        assert turn is not None
        suggestion_id = turn.suggestion_id
        if suggestion_id is None:
            suggestion_id = self._made_once(turn)
        if item.suggestion_id != suggestion_id:
            self.store.outbox.remember(item.id, suggestion_id)
        return self.store.cases.suggestion(suggestion_id)

    def _made_once(self, turn: ConversationMessage) -> str:
        """The suggestion of the turn's message, recorded on the turn: the one made for it by the
        Dashboard App page, else made now under the message's claim (the page's request, asking
        meanwhile, waits for it and answers it). `NotReady` while the page's request holds the claim."""
        key = (turn.case_id, turn.message_id) if turn.message_id else None
        if key is None:
            return self._make(turn)
        owner = uuid.uuid4().hex
        if (made := self._made_for(key)) is None and not self.store.cases.claim_message(
            *key, owner, self.claim_lease_s
        ):
            raise NotReady("the suggestion of this message is being made for the Dashboard App")
        try:
            if made is None:
                made = self._made_for(key)  # stored just before that request let the claim go
            if made is not None:
                return str(conversation.adopt(self.store, turn, made)["suggestion_id"])
            return self._make(turn)
        finally:
            self.store.cases.release_message(*key, owner)

    def _made_for(self, key: tuple[str, str]) -> Suggestion | None:
        made = self.store.cases.suggestion_for_message(*key)
        return made if made is not None and worth_reusing(made.reason, made.trace) else None

    def _make(self, turn: ConversationMessage) -> str:
        request = conversation.suggestion_request(self.store, Added(turn, False))
        return str(conversation.answer(self.store, turn, self.suggest(request))["suggestion_id"])

    def _skip(self, item: OutboxItem, reason: str) -> None:
        self.store.outbox.done(item.id, DeliveryStatus.SKIPPED, self.clock(), reason=reason)
        self._count("skipped")

    def _failed(
        self, item: OutboxItem, reason: str, retryable: bool = True, retry_after: float | None = None
    ) -> None:
        failures = item.attempts + 1
        self._count("failed_attempt")
        if retryable and failures < self.max_attempts:
            # never sooner than the help desk asked (a rate limit's Retry-After): an early attempt is
            # refused again and uses up one of max_attempts
            wait = max(self.backoff.delay(failures, self.rng), min(retry_after or 0.0, self.backoff.max_s))
            self.store.outbox.retry(item.id, self.clock() + timedelta(seconds=wait), reason)
            log.warning(
                "note %s for case %s: attempt %d of %d failed (%s); next attempt in %.0f s",
                item.id,
                item.case_id,
                failures,
                self.max_attempts,
                reason,
                wait,
            )
            return
        why = reason if not retryable else f"{reason} (gave up after {failures} attempts)"
        self.store.outbox.done(item.id, DeliveryStatus.FAILED, self.clock(), reason=why, failed=True)
        self._count("failed")
        log.warning("note %s for case %s not posted: %s", item.id, item.case_id, why)

    def _count(self, outcome: str) -> None:
        if self.observer is not None:
            self.observer.delivered(self.help_desk.name, outcome)
