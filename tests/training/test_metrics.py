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


def test_per_label_report_topic_without_test_rows_has_no_recall() -> None:
    """A topic predicted but absent from the test rows has a precision (every prediction of it was
    wrong) and no recall or F1 to speak of: not 0, which ranked it as the worst topic."""
    report = per_label_report(["a", "a", "b"], ["a", "c", "b"])
    assert report["c"] == {"precision": 0.0, "recall": None, "f1": None, "support": 0.0}
    assert summary(["a", "a", "b"], ["a", "c", "b"])["macro_f1"] == pytest.approx((2 / 3 + 1.0) / 2)


def test_backtest_tables_put_topics_without_test_rows_last() -> None:
    from rich.console import Console

    from supportcue.training.report import backtest_html, print_backtest

    per_label = per_label_report(["a", "a", "b"], ["a", "c", "b"])
    stage = {
        "summary": summary(["a", "a", "b"], ["a", "c", "b"]),
        "coverage": 1.0,
        "precision_answered": 2 / 3,
        "n_train": 10,
        "n_test": 3,
        "split": {"description": "random"},
        "coverage_at_precision": {},
        "per_label": per_label,
        "confusions": [],
        "curve": [],
    }
    console = Console(record=True, width=200)
    print_backtest({"stages": {"topic": stage}}, console)
    cells = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in console.export_text().splitlines()
        if line.count("│") == 6
    ]
    assert [row[0] for row in cells] == ["a", "b", "c"]
    assert cells[2] == ["c", "0.000", "-", "-", "0"]
    page = backtest_html({"stages": {"topic": stage}})
    assert page.index("<td>a</td>") < page.index("<td>c</td>")
    assert "<td>c</td><td>0.000</td><td>-</td><td>-</td><td>0</td>" in page


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


def test_curve_points_are_reachable_with_tied_confidences() -> None:
    """Each point is what answering at `threshold` gives: every case scored at least that, so tied
    cases are answered together (a point between them claimed a coverage no threshold gives)."""
    correct = [True, False, True, True, False]
    confidence = [0.9, 0.9, 0.7, 0.7, 0.7]
    curve = coverage_precision_curve(correct, confidence)
    for point in curve:
        answered = [c for c, s in zip(correct, confidence, strict=True) if s >= point["threshold"]]
        assert point["coverage"] == pytest.approx(len(answered) / len(correct))
        assert point["precision"] == pytest.approx(sum(answered) / len(answered))
    assert [(p["threshold"], p["coverage"]) for p in curve] == [(0.9, 0.4), (0.7, 1.0)]
    assert [p["precision"] for p in curve] == pytest.approx([0.5, 0.6])
