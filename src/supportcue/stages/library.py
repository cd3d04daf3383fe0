"""The answer library and KB articles as stages see them: providers of snapshots, injected like the
embedder.

A stage never reads the store. It asks its bound `AnswerLibrary` for the current `LibrarySnapshot`;
the snapshot's `version` changes whenever the library does, so a stage can cache what it derives
from the answers (their vectors) and redo it only after a change. `StaticLibrary` serves a fixed
list (training, evaluation, tests); the workspace's live provider (`supportcue.providers`) follows
the store's version counter, so an answer edited or approved reaches a running server. Articles
(the context of the generative response mode) come the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from supportcue.vocab import AnswerStatus


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
class ArticleSnapshot:
    """The articles at one version."""

    version: int
    articles: tuple[KBArticle, ...]


class ArticleIndex(Protocol):
    """Anything that can hand out the current KB articles."""

    def snapshot(self) -> ArticleSnapshot: ...
