"""`supportcue eval oos`: out-of-scope detection measured on labeled files.

The topic stage is trained on --train, where out-of-scope rows (if any) form one more class. A row's
in-scope score mixes two signals: the topic stage's top in-scope probability (low when the mass goes
to the out-of-scope class or is spread), and the distance score of the validation stage
(`OutOfScopeScorer`: mean cosine of the nearest in-scope training examples). The mixing weight and
the rejection threshold are chosen on --val only, maximising the lower of in-scope accuracy and
out-of-scope recall; --test is then scored once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from supportcue.data.files import write_rows
from supportcue.embeddings import Embedder
from supportcue.errors import SupportcueError
from supportcue.eval.labeled import Labeled, default_embedder, load_labeled, messages
from supportcue.stages.topic import TopicStage
from supportcue.stages.validation import OutOfScopeScorer

F64 = npt.NDArray[np.float64]


def oos_metrics(
    labels: list[str], predicted: list[str], rejected: npt.NDArray[np.bool_], oos_label: str
) -> dict[str, float]:
    """In-scope accuracy (right and not rejected), out-of-scope recall and precision of rejection."""
    is_oos = np.array([label == oos_label for label in labels])
    right = np.array([p == t for p, t in zip(predicted, labels, strict=True)])
    in_scope = ~is_oos
    return {
        "in_scope_accuracy": float(np.mean(right[in_scope] & ~rejected[in_scope])) if in_scope.any() else 0.0,
        "oos_recall": float(np.mean(rejected[is_oos])) if is_oos.any() else 0.0,
        "oos_precision": float(np.mean(is_oos[rejected])) if rejected.any() else 0.0,
    }


class _Scorer:
    """Topic probabilities and distance score of a set of rows."""

    def __init__(self, stage: TopicStage, distance: OutOfScopeScorer, oos_label: str) -> None:
        self.stage, self.distance, self.oos_label = stage, distance, oos_label
        self.in_scope = [i for i, t in enumerate(stage.topics_) if t != oos_label]

    def features(self, rows: Labeled, vectors: npt.NDArray[np.float32]) -> tuple[list[str], F64, F64]:
        proba = self.stage.predict_proba(messages(rows.texts, vectors))[:, self.in_scope]
        topics = [self.stage.topics_[self.in_scope[i]] for i in proba.argmax(1)]
        return topics, proba.max(1), self.distance.score(vectors)


def _choose(
    labels: list[str], topics: list[str], proba: F64, distance: F64, oos_label: str
) -> tuple[float, float, dict[str, float]]:
    """(weight, threshold, val metrics) maximising min(in-scope accuracy, oos recall) on val."""
    best: tuple[tuple[float, float], float, float, dict[str, float]] | None = None
    for weight in np.linspace(0.0, 1.0, 11):
        score = weight * proba + (1.0 - weight) * distance
        for threshold in np.unique(np.quantile(score, np.linspace(0.0, 0.6, 241))):
            rejected = score < threshold
            metrics = oos_metrics(
                labels,
                [oos_label if r else t for t, r in zip(topics, rejected, strict=True)],
                rejected,
                oos_label,
            )
            key = (
                min(metrics["in_scope_accuracy"], metrics["oos_recall"]),
                metrics["in_scope_accuracy"] + metrics["oos_recall"],
            )
            if best is None or key > best[0]:
                best = (key, float(weight), float(threshold), metrics)
    assert best is not None
    return best[1], best[2], best[3]


def run_oos(
    train: Path,
    val: Path,
    test: Path,
    text_col: str = "text",
    label_col: str = "label",
    oos_label: str = "oos",
    predictions: Path | None = None,
    embedder: Embedder | None = None,
    stage: TopicStage | None = None,
) -> dict[str, Any]:
    """Train on `train`, choose weight and threshold on `val`, report on `test`."""
    embedder = embedder or default_embedder()
    train_rows = load_labeled(train, text_col, label_col)
    val_rows = load_labeled(val, text_col, label_col)
    test_rows = load_labeled(test, text_col, label_col)
    if oos_label not in val_rows.labels:
        raise SupportcueError(
            f"{val}: no row has {label_col} = {oos_label!r}; the threshold needs some (--oos-label)"
        )
    started = time.perf_counter()
    train_vectors = embedder.embed(train_rows.texts)
    stage = stage or TopicStage()
    stage.fit(messages(train_rows.texts, train_vectors), train_rows.labels)
    in_scope = np.array([label != oos_label for label in train_rows.labels])
    scorer = _Scorer(stage, OutOfScopeScorer().fit(train_vectors[in_scope]), oos_label)
    train_seconds = time.perf_counter() - started

    topics, proba, distance = scorer.features(val_rows, embedder.embed(val_rows.texts))
    weight, threshold, val_metrics = _choose(val_rows.labels, topics, proba, distance, oos_label)

    topics, proba, distance = scorer.features(test_rows, embedder.embed(test_rows.texts))
    score = weight * proba + (1.0 - weight) * distance
    rejected = score < threshold
    predicted = [oos_label if r else t for t, r in zip(topics, rejected, strict=True)]
    if predictions is not None:
        write_rows(
            predictions,
            (
                {
                    "text": text,
                    "label": label,
                    "predicted": p,
                    "confidence": round(float(np.clip(c, 0, 1)), 6),
                    "rejected": bool(r),
                }
                for text, label, p, c, r in zip(
                    test_rows.texts, test_rows.labels, predicted, score, rejected, strict=True
                )
            ),
        )
    return {
        **oos_metrics(test_rows.labels, predicted, rejected, oos_label),
        "threshold": round(threshold, 6),
        "n_test": len(test_rows.labels),
        "n_train": len(train_rows.labels),
        "n_train_oos": int((~in_scope).sum()),
        "probability_weight": round(weight, 3),
        "val_in_scope_accuracy": round(val_metrics["in_scope_accuracy"], 4),
        "val_oos_recall": round(val_metrics["oos_recall"], 4),
        "train_seconds": round(train_seconds, 3),
    }
