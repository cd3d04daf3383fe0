"""Live data providers: what the stages read from the workspace while the service runs.

A stage is bound to a provider (see `stages.base.Services`), never to the store. The providers here
follow the store's version counter, so an answer approved, edited or retired reaches a running server
within `ttl` seconds, without retraining or restarting: the counter is read at most once per `ttl`
(one primary-key read), and the library itself only when the counter has moved.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from supportcue.data.store import Store
from supportcue.stages.library import LibraryAnswer, LibrarySnapshot
from supportcue.vocab import AnswerStatus


def library_answers(store: Store) -> tuple[LibraryAnswer, ...]:
    """The answer library as the stages see it (statuses as they are now)."""
    return tuple(
        LibraryAnswer(
            id=a.id,
            topic=a.topic,
            title=a.title,
            body=a.body,
            status=AnswerStatus(a.status),
            review_due_at=a.review_due_at,
            version=a.version,
        )
        for a in store.library.answers()
    )


class StoreLibrary:
    """The workspace's answer library, refreshed when the store's library version changes."""

    def __init__(self, store: Store, ttl: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._snapshot: LibrarySnapshot | None = None
        self._checked = float("-inf")

    def snapshot(self) -> LibrarySnapshot:
        now = self.clock()
        current = self._snapshot
        if current is not None and now - self._checked < self.ttl:
            return current
        with self._lock:
            if self._snapshot is not None and now - self._checked < self.ttl:
                return self._snapshot
            version = self.store.library.version()
            if self._snapshot is None or self._snapshot.version != version:
                self._snapshot = LibrarySnapshot(version, library_answers(self.store))
            self._checked = now
            return self._snapshot
