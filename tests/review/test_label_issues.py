"""The label issue finder flags planted flips on separable synthetic data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from supportcue.data.store import Store
from supportcue.review import find_label_issues, out_of_sample_probs


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_classes, per_class, dim = 4, 50, 8
    centres = rng.normal(size=(n_classes, dim)) * 4
    X = np.concatenate([c + rng.normal(size=(per_class, dim)) for c in centres])
    X /= np.linalg.norm(X, axis=1, keepdims=True)  # like the product's embeddings
    truth = np.repeat(np.arange(n_classes), per_class)
    noisy = truth.copy()
    flipped = rng.choice(len(truth), size=10, replace=False)
    noisy[flipped] = (truth[flipped] + rng.integers(1, n_classes, size=10)) % n_classes
    return X, truth, noisy, np.sort(flipped)


def test_flags_planted_flips() -> None:
    X, truth, noisy, flipped = _data()
    names = np.array(["a", "b", "c", "d"])[noisy]
    probs, classes = out_of_sample_probs(X, names, n_splits=5, seed=0)
    assert classes == ["a", "b", "c", "d"] and probs.shape == (200, 4)
    issues = find_label_issues(noisy, probs)
    found = set(issues.indices.tolist())
    assert len(found & set(flipped.tolist())) >= 9
    assert len(found - set(flipped.tolist())) <= 2
    assert (np.diff(issues.scores) >= 0).all()  # most suspicious first
    hits = np.isin(issues.indices, flipped)
    assert (issues.suggested[hits] == truth[issues.indices[hits]]).mean() >= 0.9
    assert issues.to_dict()["indices"] == issues.indices.tolist()


def test_validation() -> None:
    with pytest.raises(ValueError, match="shape"):
        find_label_issues([0, 1], np.ones((3, 2)) / 2)
    with pytest.raises(ValueError, match="indices"):
        find_label_issues([0, 5], np.ones((2, 2)) / 2)
    assert find_label_issues([], np.zeros((0, 2))).indices.size == 0
    with pytest.raises(ValueError, match="at least two rows"):
        out_of_sample_probs(np.zeros((3, 2)), ["a", "a", "b"])


def test_label_stats_counts_each_case_under_the_label_training_learns(store: Store, tmp_path: Path) -> None:
    """`labels stats` counted a case under whichever person's label was stored last (an agent's
    after an expert's), not the label training resolves it to; a machine's label is not counted."""
    from supportcue.review.store_issues import label_stats
    from supportcue.settings import init_workspace, load_settings

    init_workspace(tmp_path)
    settings = load_settings(tmp_path, environ={})
    store.cases.upsert([{"id": c, "message": "m"} for c in ("c1", "c2", "c3")])

    def label(case_id: str, value: str, source: str, annotator: str) -> dict[str, object]:
        return {"case_id": case_id, "task": "topic", "value": value, "source": source, "annotator": annotator}

    store.labels.add(
        [
            label("c1", "refunds", "expert", "maya"),
            label("c1", "payouts", "agent", "lea"),
            label("c2", "payouts", "expert", "maya"),
            label("c3", "payouts", "weak", "label_model:majority"),
        ]
    )
    stats = label_stats(store, settings, "topic")
    assert stats["labeled_cases"] == 2
    assert {c["label"]: c["count"] for c in stats["counts"]} == {"refunds": 1, "payouts": 1}
