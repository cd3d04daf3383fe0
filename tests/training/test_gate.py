"""The gate's floors, as functions of a version's recorded backtest and the `[gate]` settings."""

from __future__ import annotations

from typing import Any

from supportcue.settings import GateSettings
from supportcue.training.gate import class_warnings, floors


def topic_metrics(accuracy: float, coverage_at_90: float) -> dict[str, Any]:
    return {
        "summary": {"accuracy": accuracy, "macro_f1": accuracy},
        "coverage_at_precision": {"0.90": {"coverage": coverage_at_90, "threshold": 0.5}},
        "classes": {"a": 40, "b": 40},
    }


def test_a_topic_model_must_be_accurate_and_answer_enough_at_the_target_precision() -> None:
    gate = GateSettings()
    assert floors("topic", topic_metrics(0.85, 0.6), gate) == []
    (low,) = floors("topic", topic_metrics(0.036, 0.6), gate)
    assert low == "backtest accuracy 0.036 is below [gate] min_topic_accuracy = 0.5"
    (narrow,) = floors("topic", topic_metrics(0.85, 0.05), gate)
    assert narrow == (
        "at precision 0.90 it would answer 5.0% of the backtest's cases, "
        "below [gate] min_topic_coverage = 0.2"
    )
    assert len(floors("topic", topic_metrics(0.036, 0.0), gate)) == 2


def test_the_floors_are_settings() -> None:
    lenient = GateSettings(min_topic_accuracy=0.0, min_topic_coverage=0.0)
    assert floors("topic", topic_metrics(0.036, 0.0), lenient) == []
    stricter = GateSettings(target_precision=0.95)
    (missing,) = floors("topic", topic_metrics(0.85, 0.6), stricter)
    assert "no coverage at precision 0.95" in missing and "retrain" in missing


def test_validation_must_have_seen_both_classes() -> None:
    (only_valid,) = floors("validation", {"classes": {"valid": 80}}, GateSettings())
    assert only_valid == (
        "its validity labels have no invalid case (80 valid), so it cannot learn what is not a question "
        "([gate] validation_both_classes)"
    )
    assert floors("validation", {"classes": {"valid": 80, "invalid": 3}}, GateSettings()) == []
    assert floors("validation", {"classes": {"valid": 80}}, GateSettings(validation_both_classes=False)) == []


def test_labels_with_few_cases_are_named_in_a_warning() -> None:
    (warning,) = class_warnings("topic", {"a": 40, "b": 3, "c": 19, "d": 20}, 20)
    assert warning.startswith("2 topic label(s) have fewer than 20 labeled cases")
    assert "b (3), c (19);" in warning
    assert class_warnings("topic", {"a": 40}, 20) == []
