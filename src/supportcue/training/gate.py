"""The promotion gate's floors: what a model version's recorded backtest must show before it may go
live, and the warnings worth reading even when it may.

Functions over the metrics a version records (`Trainer.train` writes them), so `train` (for a first
version) and `promote` apply the same floors, those of the current `[gate]` settings:

- topic: backtest accuracy >= `min_topic_accuracy` (an abstention counts as wrong), and coverage at
  `target_precision` >= `min_topic_coverage` (the share of the backtest's cases it would answer
  while staying that precise);
- validation: labels of both classes, `valid` and `invalid` (`validation_both_classes`); without
  `invalid` ones it learns only "everything is a question".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from supportcue.settings import GateSettings

VALIDITY_CLASSES = ("valid", "invalid")


def precision_key(target: float) -> str:
    """How `coverage_at_precision` names a target precision: "0.90"."""
    return f"{target:.2f}"


def floors(stage: str, metrics: Mapping[str, Any], gate: GateSettings) -> list[str]:
    """Why a version of `stage` with these recorded metrics may not go live (empty: it may)."""
    problems = []
    classes: Mapping[str, int] = metrics.get("classes") or {}
    if stage == "validation" and gate.validation_both_classes and classes:
        missing = [c for c in VALIDITY_CLASSES if not classes.get(c)]
        if missing:
            have = ", ".join(f"{n} {c}" for c, n in classes.items())
            problems.append(
                f"its validity labels have no {' or '.join(missing)} case ({have}), so it cannot learn "
                "what is not a question ([gate] validation_both_classes)"
            )
    if stage == "topic":
        accuracy = float(metrics.get("summary", {}).get("accuracy", 0.0))
        if accuracy < gate.min_topic_accuracy:
            problems.append(
                f"backtest accuracy {accuracy:.3f} is below "
                f"[gate] min_topic_accuracy = {gate.min_topic_accuracy:g}"
            )
        key = precision_key(gate.target_precision)
        at = metrics.get("coverage_at_precision", {}).get(key)
        if at is None:
            problems.append(
                f"its backtest has no coverage at precision {key} ([gate] target_precision): retrain"
            )
        elif float(at["coverage"]) < gate.min_topic_coverage:
            problems.append(
                f"at precision {key} it would answer {float(at['coverage']):.1%} of the backtest's cases, "
                f"below [gate] min_topic_coverage = {gate.min_topic_coverage:g}"
            )
    return problems


def advice(stage: str, version: str) -> str:
    """What to do about a version the gate refused."""
    force = f"`supportcue promote {stage} {version} --force` puts it live anyway"
    if stage == "validation":
        return (
            "label messages that are not questions (task validity, value invalid: greetings, thanks, "
            "spam, auto-replies), then `supportcue train --stage validation`; or set [gate] "
            f"validation_both_classes = false; {force}"
        )
    return (
        f"look at the backtest (`supportcue backtest --stage {stage}`), fix or add labels "
        f"(`supportcue labels issues`; more labels for the weakest labels), then `supportcue train "
        f"--stage {stage}`; or change the floors in [gate]; {force}"
    )


def class_warnings(task: str, counts: Mapping[str, int], minimum: int) -> list[str]:
    """A warning naming the labels with fewer than `minimum` cases (their figures are noise)."""
    few = sorted(((label, n) for label, n in counts.items() if n < minimum), key=lambda kv: (kv[1], kv[0]))
    if not few:
        return []
    shown = ", ".join(f"{label} ({n})" for label, n in few[:8])
    more = f" and {len(few) - 8} more" if len(few) > 8 else ""
    return [
        f"{len(few)} {task} label(s) have fewer than {minimum} labeled cases ([gate] min_labels_per_class): "
        f"{shown}{more}; their backtest figures are noisy and the model will rarely predict them"
    ]
