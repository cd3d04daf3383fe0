"""What an LLM draft may say: the sources of one message.

- **Answers**: the approved answers of the message's topic that are not overdue for review, the
  `max_answers` most similar to the message (cosine of the message's vector and the answer's title
  and body), their placeholders filled from the case and the workspace's `[placeholders]` where
  they can (the others stay, `{order_id}`).
- **Articles**: the KB article passages (`stages.library.chunk_article`) most similar to the
  message, at most `max_articles`, each at least `min_article_score`; the passages of one article
  are joined, in the article's order, under the article's id.

A source's `id` is the answer's or the article's id: what the prompt shows, what the model cites
(`[id]`), and what the suggestion's trace lists under `sources`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from supportcue.embeddings import Embedder
from supportcue.stages.library import ArticleSnapshot, LibraryAnswer, TextVectors
from supportcue.stages.placeholders import fill_answer
from supportcue.vocab import AnswerStatus

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Source:
    """One source of a draft: an approved answer or the retrieved passages of an article."""

    id: str
    kind: str
    """answer | article"""
    title: str
    text: str
    score: float

    def line(self, mask: Callable[[str], str] = str) -> str:
        """How the prompt shows it: `[id] text`, on one line."""
        return f"[{self.id}] {' '.join(mask(self.text).split())}"


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def usable_answers(
    answers: Sequence[LibraryAnswer], topic: str | None, now: datetime, grace_days: int = 0
) -> list[LibraryAnswer]:
    """The topic's approved answers that are not overdue for review (as the library stage rules)."""
    cutoff = now - timedelta(days=grace_days)
    return [
        a
        for a in answers
        if a.topic == topic
        and a.status == AnswerStatus.APPROVED
        and (a.review_due_at is None or _aware(a.review_due_at) >= _aware(cutoff))
    ]


def answer_sources(
    query: Vector,
    answers: Sequence[LibraryAnswer],
    embedder: Embedder,
    cache: TextVectors,
    values: Mapping[str, str],
    limit: int,
) -> list[Source]:
    """The `limit` answers most similar to the query, filled from the case."""
    if not answers or limit <= 0:
        return []
    keyed = [(f"{a.id}@{a.version}", f"{a.title}\n{a.body}") for a in answers]
    scores = cache.of(keyed, embedder) @ query
    order = sorted(range(len(answers)), key=lambda i: (-float(scores[i]), answers[i].id))[:limit]
    return [
        Source(
            answers[i].id,
            "answer",
            answers[i].title,
            fill_answer(answers[i].body, values).text,
            float(scores[i]),
        )
        for i in order
    ]


def article_sources(
    query: Vector, snapshot: ArticleSnapshot, vectors: npt.NDArray[np.float32], limit: int, min_score: float
) -> list[Source]:
    """The most similar article passages (at least `min_score`), grouped by article, best first."""
    chunks = snapshot.chunks
    if not chunks or limit <= 0:
        return []
    scores = vectors @ query
    best = [i for i in np.argsort(-scores, kind="stable")[:limit] if scores[i] >= min_score]
    picked: dict[str, list[int]] = {}
    for i in best:
        picked.setdefault(chunks[i].article_id, []).append(int(i))
    return [
        Source(
            article_id,
            "article",
            chunks[rows[0]].title,
            "\n\n".join(chunks[i].text for i in sorted(rows, key=lambda i: chunks[i].n)),
            float(max(scores[i] for i in rows)),
        )
        for article_id, rows in picked.items()
    ]
