"""A toy stage kind, to show that a new kind is one module plus one registry line: it shouts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

from supportcue.stages.base import FitData, Message, Outcome, Stage, StageResult


@dataclass(frozen=True)
class ShoutResult(StageResult):
    text: str | None = None

    def advance(self, message: Message, outcome: Outcome) -> tuple[Message, Outcome]:
        if outcome.text is None:
            return message, outcome
        return message, Outcome(outcome.topic, outcome.confidence, outcome.answer_id, self.text)


class ShoutStage(Stage):
    name = "shout"
    fit_data: ClassVar[FitData] = "none"

    def fit(
        self,
        X: Sequence[Message],
        y: Sequence[str] | None = None,
        sample_weight: Sequence[float] | None = None,
    ) -> Self:
        self.fitted_ = True
        return self

    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        self.check_fitted()
        return [ShoutResult("loud", 1.0, text=(m.answer_text or "").upper()) for m in batch]
