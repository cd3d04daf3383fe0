"""Embedding-based labeling on synthetic clusters, and the no-peeking guarantee."""

from __future__ import annotations

import numpy as np
import pytest

from supportcue.weak import fit_with_unlabeled, propagate


def _clusters(
    n_classes: int = 4, per_class: int = 60, dim: int = 16, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim)) * 3
    X = np.concatenate([c + rng.normal(size=(per_class, dim)) for c in centres])
    y = np.repeat([f"topic_{i}" for i in range(n_classes)], per_class)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), y


def _split(y: np.ndarray, shots: int = 3) -> tuple[np.ndarray, np.ndarray]:
    labeled = np.concatenate([np.flatnonzero(y == c)[:shots] for c in np.unique(y)])
    return labeled, np.setdiff1d(np.arange(len(y)), labeled)


def test_propagates_few_labels_through_clusters() -> None:
    X, y = _clusters()
    lab, unlab = _split(y)
    labels, confidence = propagate(X[lab], list(y[lab]), X[unlab], seed=0, min_confidence=0.0)
    assert len(labels) == len(unlab) == len(confidence)
    assert np.mean([p == t for p, t in zip(labels, y[unlab], strict=True)]) >= 0.95
    assert ((confidence >= 0) & (confidence <= 1)).all()


def test_low_confidence_rows_get_no_label() -> None:
    X, y = _clusters()
    lab, unlab = _split(y)
    labels, confidence = propagate(X[lab], list(y[lab]), X[unlab], min_confidence=1.01)
    assert labels == [None] * len(unlab)
    assert confidence.shape == (len(unlab),)


def test_hidden_labels_are_never_read() -> None:
    """The API never receives the unlabeled rows' labels; shuffling them changes nothing."""
    X, y = _clusters(seed=3)
    lab, unlab = _split(y)
    outputs = []
    for shuffle_seed in (0, 1):
        hidden = y.copy()
        hidden[unlab] = np.random.default_rng(shuffle_seed).permutation(hidden[unlab])
        labels, confidence = propagate(X[lab], list(hidden[lab]), X[unlab], seed=0)
        model = fit_with_unlabeled(X[lab], list(hidden[lab]), X[unlab], seed=0)
        outputs.append((labels, confidence, model.predict_proba(X[unlab])))
    assert outputs[0][0] == outputs[1][0]
    np.testing.assert_array_equal(outputs[0][1], outputs[1][1])
    np.testing.assert_array_equal(outputs[0][2], outputs[1][2])


def test_fit_with_unlabeled_is_a_classifier() -> None:
    X, y = _clusters()
    lab, unlab = _split(y)
    model = fit_with_unlabeled(X[lab], list(y[lab]), X[unlab], seed=0)
    assert list(model.classes_) == sorted(set(y))
    probs = model.predict_proba(X)
    assert probs.shape == (len(y), 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    assert np.mean(model.predict(X) == y) >= 0.95
    plain = fit_with_unlabeled(X[lab], list(y[lab]), X[:0], seed=0)
    assert plain.predict_proba(X[:2]).shape == (2, 4)


def test_bad_shapes() -> None:
    X, y = _clusters()
    with pytest.raises(ValueError, match="labels"):
        propagate(X[:5], list(y[:4]), X[5:])
    with pytest.raises(ValueError, match="at least two labels"):
        propagate(X[:5], ["a"] * 5, X[5:])
    with pytest.raises(ValueError, match="expected"):
        propagate(X[:10], list(y[:10]), X[10:, :3])


def _moons(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half-circles (sklearn's two moons) lifted onto the sphere: (x, y, 2) normalised,
    so cosine neighbours follow the moons. No straight line separates them."""
    from sklearn.datasets import make_moons

    points, y = make_moons(n_samples=n, noise=0.06, random_state=seed)
    X = np.column_stack([points, np.full(n, 2.0)])
    return X / np.linalg.norm(X, axis=1, keepdims=True), np.array(["upper", "lower"])[y]


@pytest.mark.parametrize("seed", [0, 1])
def test_labels_two_moons_better_than_a_linear_model_can(seed: int) -> None:
    """Two labeled points in the middle of each moon: the kNN graph carries the labels along the
    moons, around the ends that curl under the other moon, which no straight line separates."""
    X, y = _moons(seed=seed)
    middle = [np.flatnonzero(y == c) for c in ("upper", "lower")]
    lab = np.concatenate([m[np.argsort(np.abs(X[m, 0] - np.median(X[m, 0])))[:2]] for m in middle])
    unlab = np.setdiff1d(np.arange(len(y)), lab)
    labels, confidence = propagate(X[lab], list(y[lab]), X[unlab], seed=0, min_confidence=0.0)
    accuracy = np.mean(np.array(labels) == y[unlab])
    assert accuracy >= 0.88
    from sklearn.linear_model import LogisticRegression

    linear = LogisticRegression(C=10.0).fit(X[lab], y[lab])
    assert np.mean(linear.predict(X[unlab]) == y[unlab]) <= accuracy - 0.05
    assert confidence.shape == (len(unlab),) and ((confidence > 0.5) & (confidence <= 1.0)).all()
