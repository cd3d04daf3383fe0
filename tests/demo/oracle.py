"""A pipeline that knows the demo's truth: the cheap way to replay the demo history in tests (no
training, no embedding model)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

from supportcue.demo import DemoData, case_values, fill_placeholders
from supportcue.embeddings import HashingEmbedder
from supportcue.pipeline import Pipeline
from supportcue.settings import PipelineSettings
from supportcue.stages.base import Message, Stage, StageResult
from supportcue.stages.response import AnswerResult
from supportcue.stages.topic import TopicResult
from supportcue.stages.validation import ValidityResult


def oracle_pipeline(data: DemoData) -> Pipeline:
    """Stages that know each demo case's truth, and a stale response stage that keeps suggesting the
    outdated answer for its topic (what a model trained before the policy change would do)."""
    truth = {c.message: c for c in data.cases}
    answers = {a.id: a for a in data.answers}
    outdated = answers[data.outdated_answer_id]

    class Oracle(Stage):
        def __init__(self, name: str) -> None:
            self.which = name

        def fit(
            self, X: Sequence[Message], y: Sequence[str] | None = None, sample_weight: object = None
        ) -> Self:
            self.fitted_ = True
            return self

        def predict(self, batch: Sequence[Message]) -> list[StageResult]:
            return [self._one(m, truth[m.text]) for m in batch]

        def _one(self, m: Message, c: Any) -> StageResult:
            if self.which == "validation":
                return ValidityResult("valid" if c.valid else "invalid", 0.9)
            if self.which == "topic":
                return TopicResult(c.topic, 0.9) if c.topic else TopicResult.abstain("no topic")
            answer = outdated if c.topic == outdated.topic else answers.get(c.sent_answer_id or "")
            if answer is None:
                return AnswerResult.abstain("no answer")
            return AnswerResult(answer.id, 0.8, text=fill_placeholders(answer.body, case_values(c)))

    stages = {s: Oracle(s).fit([]) for s in ("validation", "topic", "response")}
    return Pipeline(
        {**stages, "tone": None}, HashingEmbedder(dim=32), PipelineSettings(tone="off"), {"topic": "v1"}
    )
