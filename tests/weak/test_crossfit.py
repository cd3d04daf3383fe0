"""Cross-fitted refinement of pseudo-labels: a row is never judged by a model fitted on it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pytest

from supportcue.stages.base import Message
from supportcue.weak.crossfit import refine_cross_fitted


class Centroids:
    """A nearest-centroid model over the messages' vectors that records what it was fitted on."""

    fitted: ClassVar[list[set[str]]] = []
    predicted: ClassVar[list[set[str]]] = []

    def fit(self, X: Sequence[Message], y: Sequence[str], sample_weight: Sequence[float]) -> Centroids:
        self.topics_ = sorted(set(y))
        vectors = np.array([m.vector for m in X])
        labels, weights = np.array(y), np.array(sample_weight)
        self.centres = np.array(
            [np.average(vectors[labels == t], axis=0, weights=weights[labels == t]) for t in self.topics_]
        )
        Centroids.fitted.append({m.text for m in X})
        return self

    def predict_proba(self, X: Sequence[Message]) -> np.ndarray[Any, Any]:
        Centroids.predicted.append({m.text for m in X})
        vectors = np.array([m.vector for m in X])
        scores = -((vectors[:, None, :] - self.centres[None]) ** 2).sum(-1) / 0.1
        scores -= scores.max(axis=1, keepdims=True)
        probs = np.exp(scores)
        return np.asarray(probs / probs.sum(axis=1, keepdims=True))


def _data(seed: int = 0) -> tuple[list[Message], list[str], list[Message], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    centres = np.array([[4.0, 0.0], [0.0, 4.0], [-4.0, -4.0]])
    labeled = [
        Message(text=f"lab-{c}-{i}", vector=centres[c] + rng.normal(size=2))
        for c in range(3)
        for i in range(2)
    ]
    y = [f"t{c}" for c in range(3) for _ in range(2)]
    truth = np.repeat(np.arange(3), 40)
    unlabeled = [Message(text=f"un-{i}", vector=centres[c] + rng.normal(size=2)) for i, c in enumerate(truth)]
    return labeled, y, unlabeled, truth


def test_refinement_corrects_wrong_pseudo_labels() -> None:
    labeled, y, unlabeled, truth = _data()
    probs = np.full((len(truth), 3), 0.05)
    probs[np.arange(len(truth)), truth] = 0.9
    wrong = np.arange(0, len(truth), 6)  # one in six rows confidently mislabeled
    probs[wrong] = 0.05
    probs[wrong, (truth[wrong] + 1) % 3] = 0.9
    refined = refine_cross_fitted(Centroids, labeled, y, unlabeled, ["t0", "t1", "t2"], probs, rounds=2)
    assert refined.shape == probs.shape
    np.testing.assert_allclose(refined.sum(axis=1), 1.0)
    before = np.mean(probs.argmax(1) == truth)
    after = np.mean(refined.argmax(1) == truth)
    assert before < 0.85 and after == 1.0


def test_no_row_is_judged_by_a_model_fitted_on_it() -> None:
    labeled, y, unlabeled, truth = _data(1)
    Centroids.fitted, Centroids.predicted = [], []
    probs = np.full((len(truth), 3), 1 / 3)
    probs[np.arange(len(truth)), truth] = 0.8
    refine_cross_fitted(Centroids, labeled, y, unlabeled, ["t0", "t1", "t2"], probs, rounds=2, folds=3)
    assert len(Centroids.fitted) == len(Centroids.predicted) == 6
    for fitted, predicted in zip(Centroids.fitted, Centroids.predicted, strict=True):
        assert predicted and not fitted & predicted
        assert {m.text for m in labeled} <= fitted
    # Each round predicts every unlabeled row exactly once.
    for start in (0, 3):
        rows = [t for part in Centroids.predicted[start : start + 3] for t in part]
        assert sorted(rows) == sorted(m.text for m in unlabeled)


def test_rows_below_the_bar_train_nothing() -> None:
    labeled, y, unlabeled, truth = _data(2)
    Centroids.fitted = []
    probs = np.full((len(truth), 3), 1 / 3)  # every confidence is 1/3, below the bar
    refine_cross_fitted(
        Centroids, labeled, y, unlabeled, ["t0", "t1", "t2"], probs, rounds=1, min_confidence=0.5
    )
    assert all(fitted == {m.text for m in labeled} for fitted in Centroids.fitted)


def test_bad_arguments() -> None:
    labeled, y, unlabeled, truth = _data()
    probs = np.full((len(truth), 3), 1 / 3)
    with pytest.raises(ValueError, match="shape"):
        refine_cross_fitted(Centroids, labeled, y, unlabeled, ["t0", "t1"], probs)
    with pytest.raises(ValueError, match="2 folds"):
        refine_cross_fitted(Centroids, labeled, y, unlabeled, ["t0", "t1", "t2"], probs, folds=1)
    with pytest.raises(ValueError, match="mix"):
        refine_cross_fitted(Centroids, labeled, y, unlabeled, ["t0", "t1", "t2"], probs, mix=1.5)
