"""The registry of stage kinds, in the order the pipeline runs them.

This is the one place that names the stages. The pipeline, the trainer, the loader and `eval` work
from the kinds' declared contract (`Stage.fit_data`, `label_task`, `services`, `policy`, ...), so a
new stage kind is one module plus one line here.
"""

from __future__ import annotations

from supportcue.errors import SupportcueError
from supportcue.stages.base import Stage
from supportcue.stages.draft import DraftStage
from supportcue.stages.response import ResponseStage
from supportcue.stages.tone import ToneStage
from supportcue.stages.topic import TopicStage
from supportcue.stages.validation import ValidationStage

REGISTRY: dict[str, type[Stage]] = {
    "validation": ValidationStage,
    "topic": TopicStage,
    "response": ResponseStage,
    "draft": DraftStage,
    "tone": ToneStage,
}


def names() -> list[str]:
    """Every registered kind, in pipeline order."""
    return list(REGISTRY)


def kind(name: str) -> type[Stage]:
    """The stage class registered as `name`."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise SupportcueError(f"unknown stage {name!r}; allowed: {', '.join(REGISTRY)}") from None


def trainable() -> list[str]:
    """Kinds that learn (from labels or history) and are versioned in the model registry."""
    return [n for n, cls in REGISTRY.items() if cls.fit_data != "none"]


def labeled() -> dict[str, str]:
    """Kinds trained on labels, with the label task each learns (these are backtested and gated)."""
    return {n: cls.label_task for n, cls in REGISTRY.items() if cls.fit_data == "labels" and cls.label_task}
