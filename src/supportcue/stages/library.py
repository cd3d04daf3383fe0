"""The answer library and KB articles as stages see them: providers of snapshots, injected like the
embedder.

A stage never reads the store. It asks its bound `AnswerLibrary` for the current `LibrarySnapshot`;
the snapshot's `version` changes whenever the library does, so a stage can cache what it derives
from the answers (their vectors) and redo it only after a change. `StaticLibrary` serves a fixed
list (training, evaluation, tests); the workspace's live provider (`supportcue.providers`) follows
the store's version counter, so an answer edited or approved reaches a running server. Articles
(the context of the generative response mode) come the same way, cut into passages (`chunks`) that
are retrieved by embedding: a provider given an embedder hands out their vectors with the snapshot
(`TextVectors` embeds each passage once, and the workspace's embedding cache keeps them between
runs: `supportcue import articles` and `train` fill it).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from supportcue.vocab import AnswerStatus

if TYPE_CHECKING:
    from supportcue.embeddings import Embedder

Vectors = npt.NDArray[np.float32]
CHUNK_CHARS = 600
"""An article passage holds whole paragraphs (or sentences of a longer one) up to this length."""


@dataclass(frozen=True)
class LibraryAnswer:
    """One answer of the library (the "living oracle"); only approved answers are suggested."""

    id: str
    topic: str
    title: str
    body: str
    status: AnswerStatus = AnswerStatus.APPROVED
    review_due_at: datetime | None = None
    version: int = 1


@dataclass(frozen=True)
class LibrarySnapshot:
    """The library at one version."""

    version: int
    answers: tuple[LibraryAnswer, ...]


class AnswerLibrary(Protocol):
    """Anything that can hand out the current library."""

    def snapshot(self) -> LibrarySnapshot: ...


class StaticLibrary:
    """A fixed library (for training, `eval suggest` and tests)."""

    def __init__(self, answers: Sequence[LibraryAnswer], version: int = 1) -> None:
        ids = [a.id for a in answers]
        if len(set(ids)) != len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"library answer ids must be unique; repeated: {dupes[:5]}")
        self._snapshot = LibrarySnapshot(version, tuple(answers))

    def snapshot(self) -> LibrarySnapshot:
        return self._snapshot


@dataclass(frozen=True)
class KBArticle:
    """One knowledge-base article."""

    id: str
    title: str
    body: str
    topic: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ArticleChunk:
    """One passage of an article: what retrieval ranks and the LLM quotes."""

    article_id: str
    n: int
    title: str
    text: str

    @property
    def embed_text(self) -> str:
        return f"{self.title}\n{self.text}"


def chunk_article(article: KBArticle, max_chars: int = CHUNK_CHARS) -> list[ArticleChunk]:
    """Consecutive paragraphs joined up to `max_chars`; a longer paragraph is cut between sentences."""
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n", article.body.strip()):
        paragraph = " ".join(paragraph.split())
        if len(paragraph) <= max_chars:
            pieces.append(paragraph)
            continue
        part = ""
        for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
            if part and len(part) + 1 + len(sentence) > max_chars:
                pieces.append(part)
                part = ""
            part = f"{part} {sentence}".strip()
        pieces.append(part)
    chunks: list[str] = []
    for piece in (p for p in pieces if p):
        if chunks and len(chunks[-1]) + 2 + len(piece) <= max_chars:
            chunks[-1] += "\n\n" + piece
        else:
            chunks.append(piece)
    return [ArticleChunk(article.id, i, article.title, text) for i, text in enumerate(chunks)]


@dataclass(frozen=True)
class ArticleSnapshot:
    """The articles at one version; `vectors` (one row per chunk) when the provider embeds them."""

    version: int
    articles: tuple[KBArticle, ...]
    vectors: Vectors | None = None

    @cached_property
    def chunks(self) -> tuple[ArticleChunk, ...]:
        return tuple(c for a in self.articles for c in chunk_article(a))


class ArticleIndex(Protocol):
    """Anything that can hand out the current KB articles."""

    def snapshot(self) -> ArticleSnapshot: ...


class TextVectors:
    """Vectors of keyed texts, each embedded once: asked for the current texts, it embeds only the
    new or changed ones and forgets the ones no longer asked for. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._vectors: dict[tuple[str, str], Vectors] = {}

    def of(self, items: Sequence[tuple[str, str]], embedder: Embedder) -> Vectors:
        """One row per `(key, text)` item, in order."""
        with self._lock:
            todo = list(dict.fromkeys(i for i in items if i not in self._vectors))
            if todo:
                fresh = embedder.embed([text for _, text in todo])
                self._vectors.update(zip(todo, fresh, strict=True))
            wanted = set(items)
            self._vectors = {k: v for k, v in self._vectors.items() if k in wanted}
            if not items:
                return np.zeros((0, embedder.dim), dtype=np.float32)
            return np.stack([self._vectors[i] for i in items]).astype(np.float32)


def embed_articles(
    articles: Sequence[KBArticle], embedder: Embedder, cache: TextVectors | None = None
) -> Vectors:
    """The vectors of the articles' chunks (what a provider hands out with its snapshot)."""
    chunks = [c for a in articles for c in chunk_article(a)]
    return (cache or TextVectors()).of([(f"{c.article_id}#{c.n}", c.embed_text) for c in chunks], embedder)


class StaticArticles:
    """A fixed set of articles (for `eval`, benchmarks and tests), embedded when given an embedder."""

    def __init__(
        self, articles: Sequence[KBArticle], embedder: Embedder | None = None, version: int = 1
    ) -> None:
        vectors = embed_articles(articles, embedder) if embedder is not None else None
        self._snapshot = ArticleSnapshot(version, tuple(articles), vectors)

    def snapshot(self) -> ArticleSnapshot:
        return self._snapshot
