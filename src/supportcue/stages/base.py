"""The stage contract: every stage of the sequential framework behaves like a scikit-learn estimator.

`__init__` only stores settings; `fit(X, y, sample_weight)` validates, learns, sets attributes ending in
`_` and returns `self`; `predict(batch)` returns one `StageResult` per `Message` and raises
`NotFittedError` before `fit`. Stages save and load with `save(path)` / `Stage.load(path)`.

A `Message` carries what every stage may read: the text, the vector the pipeline computed once, the
case's fields (for placeholders), and what earlier stages decided (topic, answer text).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import joblib
import numpy as np
import numpy.typing as npt

from supportcue.errors import NotFittedError


@dataclass
class Message:
    """One customer message as the stages see it."""

    text: str
    vector: npt.NDArray[np.float32] | None = None
    customer_name: str | None = None
    agent_name: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    """Case fields that can fill answer placeholders, e.g. {"order_id": "A-1"}."""
    topic: str | None = None
    """Set by the topic stage for the response stage."""
    answer_text: str | None = None
    """Set by the response stage for the tone stage."""


@dataclass
class StageResult:
    """A stage's decision on one message. `confidence` is calibrated and in [0, 1]."""

    label: str | None
    confidence: float
    abstained: bool = False
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0 or self.confidence != self.confidence:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")
        if self.abstained and not self.reason:
            raise ValueError("an abstaining StageResult needs a reason")

    @classmethod
    def abstain(cls, reason: str, confidence: float = 0.0, label: str | None = None, **extra: Any) -> Self:
        return cls(label=label, confidence=confidence, abstained=True, reason=reason, extra=dict(extra))

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "confidence": round(float(self.confidence), 6),
            "abstained": self.abstained,
            "reason": self.reason,
            **({"extra": self.extra} if self.extra else {}),
        }


class Stage(ABC):
    """Base class of the four stages."""

    name: ClassVar[str]
    transient: ClassVar[tuple[str, ...]] = ("embedder",)
    """Attributes not saved with the artifact (injected I/O such as the embedder); set again on load."""

    @abstractmethod
    def fit(
        self,
        X: Sequence[Message],
        y: Sequence[str] | None = None,
        sample_weight: Sequence[float] | None = None,
    ) -> Self:
        """Learn from messages and labels; refitting forgets what was learnt before."""

    @abstractmethod
    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        """One result per message, in order."""

    def is_fitted(self) -> bool:
        return any(k.endswith("_") and not k.startswith("_") for k in vars(self))

    def check_fitted(self) -> None:
        if not self.is_fitted():
            raise NotFittedError(f"the {self.name} stage is not fitted: call fit() or load a model version")

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        held = {k: getattr(self, k) for k in self.transient if hasattr(self, k)}
        try:
            for k in held:
                setattr(self, k, None)
            joblib.dump(self, path)
        finally:
            for k, v in held.items():
                setattr(self, k, v)
        return path

    @classmethod
    def load(cls, path: Path) -> Self:
        obj = joblib.load(path)
        if not isinstance(obj, cls):
            raise TypeError(f"{path} holds a {type(obj).__name__}, not a {cls.__name__}")
        return obj


def vectors_of(batch: Sequence[Message]) -> npt.NDArray[np.float32]:
    """Stack the messages' vectors; every message must have been embedded by the pipeline."""
    if not batch:
        return np.zeros((0, 0), dtype=np.float32)
    missing = [i for i, m in enumerate(batch) if m.vector is None]
    if missing:
        raise ValueError(f"messages {missing[:5]} have no vector: embed them before this stage")
    return np.stack([np.asarray(m.vector, dtype=np.float32) for m in batch])
