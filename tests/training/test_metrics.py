"""Offline metrics over arrays, checked on hand-computed examples."""

from __future__ import annotations

import pytest

from supportcue.training.dataset import resolve
from supportcue.training.metrics import (
    confusion_pairs,
    coverage_at_precision,
    coverage_precision_curve,
    per_label_report,
    summary,
)


def test_per_label_report_counts_abstentions_as_misses() -> None:
    y_true = ["a", "a", "b", "b"]
    y_pred = ["a", None, "a", "b"]
    report = per_label_report(y_true, y_pred)
    assert report["a"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2.0})
    assert report["b"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2.0})
    assert summary(y_true, y_pred) == pytest.approx(
        {"accuracy": 0.5, "macro_f1": (0.5 + 2 / 3) / 2, "n": 4.0}
    )


def test_confusion_pairs_most_frequent_first() -> None:
    pairs = confusion_pairs(["a", "a", "a", "b", "c"], ["b", "b", "c", "b", "a"])
    assert [(p["true"], p["predicted"], p["count"]) for p in pairs] == [
        ("a", "b", 2),
        ("a", "c", 1),
        ("c", "a", 1),
    ]
    assert pairs[0]["share_of_true"] == pytest.approx(2 / 3)


def test_coverage_at_precision_cuts_only_between_distinct_scores() -> None:
    correct = [True, True, True, False, True, False]
    confidence = [0.99, 0.95, 0.9, 0.8, 0.8, 0.5]
    at = coverage_at_precision(correct, confidence, targets=(0.75, 0.95, 1.0))
    assert at["0.75"] == {"coverage": pytest.approx(5 / 6), "threshold": 0.8}
    assert at["0.95"] == {"coverage": pytest.approx(3 / 6), "threshold": 0.9}
    assert at["1.00"] == {"coverage": pytest.approx(3 / 6), "threshold": 0.9}
    assert coverage_at_precision([False], [0.9], targets=(0.9,))["0.90"] == {
        "coverage": 0.0,
        "threshold": None,
    }


def test_curve_is_monotone_in_coverage() -> None:
    curve = coverage_precision_curve([True, False, True, True], [0.9, 0.8, 0.7, 0.6])
    assert [p["coverage"] for p in curve] == [0.25, 0.5, 0.75, 1.0]
    assert [p["precision"] for p in curve] == pytest.approx([1.0, 0.5, 2 / 3, 0.75])


def test_resolve_weighs_sources() -> None:
    votes = [("c1", "fees", 1.0), ("c1", "refunds", 0.5), ("c1", "refunds", 0.8), ("c2", "fees", 0.3)]
    assert resolve(votes) == {"c1": ("refunds", 1.0), "c2": ("fees", 0.3)}
