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
from typing import Generic, TypeVar

from supportcue.data.store import Store
from supportcue.embeddings import Embedder
from supportcue.stages.library import (
    ArticleSnapshot,
    KBArticle,
    LibraryAnswer,
    LibrarySnapshot,
    TextVectors,
    embed_articles,
)
from supportcue.vocab import AnswerStatus

Snap = TypeVar("Snap")


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


class _Versioned(Generic[Snap]):
    """A snapshot re-read from the store when the store's library version counter has moved (the
    counter is checked at most once per `ttl` seconds: one primary-key read)."""

    def __init__(
        self,
        store: Store,
        read: Callable[[int], Snap],
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.read = read
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._snapshot: Snap | None = None
        self._version = -1
        self._checked = float("-inf")

    def snapshot(self) -> Snap:
        now = self.clock()
        current = self._snapshot
        if current is not None and now - self._checked < self.ttl:
            return current
        with self._lock:
            if self._snapshot is None or now - self._checked >= self.ttl:
                version = self.store.library.version()
                if self._snapshot is None or version != self._version:
                    self._snapshot, self._version = self.read(version), version
                self._checked = now
            return self._snapshot


class StoreLibrary(_Versioned[LibrarySnapshot]):
    """The workspace's answer library, refreshed when the store's library version changes."""

    def __init__(self, store: Store, ttl: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(store, lambda v: LibrarySnapshot(v, library_answers(store)), ttl, clock)


class StoreArticles(_Versioned[ArticleSnapshot]):
    """The workspace's KB articles, refreshed like the library (the same version counter). Given an
    embedder, each snapshot carries its chunks' vectors; a chunk is embedded once, when it is new or
    changed (and with the workspace's cached embedder, once per workspace: see `warm_articles`)."""

    def __init__(
        self,
        store: Store,
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        embedder: Embedder | None = None,
    ) -> None:
        vectors = TextVectors()

        def read(version: int) -> ArticleSnapshot:
            articles = kb_articles(store)
            embedded = embed_articles(articles, embedder, vectors) if embedder is not None else None
            return ArticleSnapshot(version, articles, embedded)

        super().__init__(store, read, ttl, clock)


def warm_articles(store: Store, embedder: Embedder) -> int:
    """Embed every article chunk now (through the workspace's cached embedder, so that serving reads
    the vectors from the cache); returns the number of chunks."""
    return len(StoreArticles(store, embedder=embedder).snapshot().chunks)


def kb_articles(store: Store) -> tuple[KBArticle, ...]:
    """The KB articles as the stages see them."""
    return tuple(KBArticle(a.id, a.title, a.body, a.topic, a.url) for a in store.library.articles())
