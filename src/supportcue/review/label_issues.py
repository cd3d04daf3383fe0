"""Find labels that are probably wrong, from labels and out-of-sample probabilities (like cleanlab).

`find_label_issues(labels, pred_probs)` takes any model's probabilities, so it works with whatever
produced them; `out_of_sample_probs(X, y)` gives honest ones (cross-validated logistic regression on
embeddings: each row's probabilities come from a model that never saw that row's label).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

RankBy = Literal["self_confidence", "normalized_margin", "confidence_weighted_entropy"]
FilterBy = Literal[
    "low_self_confidence",
    "low_normalized_margin",
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
]


@dataclass
class LabelIssues:
    """Rows whose given label looks wrong, most suspicious first."""

    indices: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float64]
    """Label quality per flagged row, in [0, 1]; lower is more suspicious."""
    suggested: npt.NDArray[np.int64]
    """The label index the probabilities prefer for each flagged row."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "indices": self.indices.tolist(),
            "scores": [round(float(s), 6) for s in self.scores],
            "suggested": self.suggested.tolist(),
        }


def find_label_issues(
    labels: Sequence[int] | npt.NDArray[np.integer[Any]],
    pred_probs: npt.ArrayLike,
    rank_by: RankBy = "self_confidence",
    filter_by: FilterBy = "low_self_confidence",
) -> LabelIssues:
    """cleanlab's confident learning: the rows to review, ranked, with a quality score each.

    The default flags the rows of lowest self-confidence, as many as confident learning estimates
    are mislabeled (`cleanlab.count.num_label_issues`): on Banking77 with 5% flips it finds 94% of
    them at 94% precision, where `prune_by_noise_rate` gives 80% / 67% (BENCHMARKS.md).

    `labels[i]` is the given label index of row i and `pred_probs[i]` out-of-sample class
    probabilities (columns in label-index order).
    """
    from cleanlab.filter import find_label_issues as cl_find_label_issues
    from cleanlab.rank import get_label_quality_scores

    given = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(pred_probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] != given.shape[0]:
        raise ValueError(f"pred_probs has shape {probs.shape}; expected ({given.shape[0]}, n_labels)")
    if given.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return LabelIssues(empty, np.zeros(0), empty)
    if given.min() < 0 or given.max() >= probs.shape[1]:
        raise ValueError(f"labels must be indices in [0, {probs.shape[1]}); got {given.min()}..{given.max()}")
    with warnings.catch_warnings():
        # cleanlab warns about classes with very few rows; the caller sees that in the counts report.
        warnings.simplefilter("ignore", UserWarning)
        ranked = cl_find_label_issues(
            given, probs, filter_by=filter_by, return_indices_ranked_by=rank_by, n_jobs=1
        )
        quality = get_label_quality_scores(given, probs, method=rank_by)
    indices = np.asarray(ranked, dtype=np.int64)
    return LabelIssues(indices, quality[indices].astype(np.float64), probs[indices].argmax(axis=1))


def out_of_sample_probs(
    X: npt.ArrayLike,
    y: Sequence[str] | npt.NDArray[Any],
    n_splits: int = 5,
    seed: int = 0,
    C: float = 10.0,
) -> tuple[npt.NDArray[np.float64], list[str]]:
    """Cross-validated logistic-regression probabilities, and the class names of their columns.

    Labels with fewer rows than `n_splits` reduce the number of folds (down to 2, the minimum).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    features = np.asarray(X, dtype=np.float64)
    classes, encoded = np.unique(np.asarray(y).astype(str), return_inverse=True)
    if len(classes) < 2:
        raise ValueError("out-of-sample probabilities need at least two labels")
    counts = np.bincount(encoded)
    if counts.min() < 2:
        rare = [str(c) for c in classes[counts < 2]][:5]
        raise ValueError(f"every label needs at least two rows for out-of-sample probabilities; not {rare}")
    smallest = int(counts.min())
    folds = max(2, min(n_splits, smallest))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    model = LogisticRegression(C=C, max_iter=300, tol=1e-3)
    probs = cross_val_predict(model, features, encoded, cv=splitter, method="predict_proba")
    return np.asarray(probs, dtype=np.float64), [str(c) for c in classes]
