"""Offline metrics as functions over arrays (labels, predictions, confidences), for any model.

The coverage-versus-precision curve answers the question the product lives by: if we only suggest
when the model is at least this confident, how many cases get a suggestion, and how often is it right?
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np


def per_label_report(
    y_true: Sequence[str], y_pred: Sequence[str | None]
) -> dict[str, dict[str, float | None]]:
    """Precision, recall, F1 and support per label (an abstention counts as a miss for recall). A
    label predicted but absent from `y_true` (a topic with no test rows) has a precision (0: every
    prediction of it was wrong) and no recall or F1 (None), which would be 0 / 0."""
    labels = sorted(set(y_true) | {p for p in y_pred if p is not None})
    out: dict[str, dict[str, float | None]] = {}
    for label in labels:
        tp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == label and p == label)
        predicted = sum(1 for p in y_pred if p == label)
        support = sum(1 for t in y_true if t == label)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if not support:
            out[label] = {"precision": precision, "recall": None, "f1": None, "support": 0.0}
            continue
        out[label] = {"precision": precision, "recall": recall, "f1": f1, "support": float(support)}
    return out


def summary(y_true: Sequence[str], y_pred: Sequence[str | None]) -> dict[str, float]:
    """Accuracy (abstentions wrong) and macro-F1 over the labels present in `y_true`."""
    n = len(y_true)
    if n == 0:
        return {"accuracy": 0.0, "macro_f1": 0.0, "n": 0.0}
    report = per_label_report(y_true, y_pred)
    present = set(y_true)
    correct = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == p)
    macro = float(np.mean([report[k]["f1"] or 0.0 for k in present]))
    return {"accuracy": correct / n, "macro_f1": macro, "n": float(n)}


def confusion_pairs(
    y_true: Sequence[str], y_pred: Sequence[str | None], top: int = 10
) -> list[dict[str, Any]]:
    """The most frequent (true, predicted) mistakes, which are the ones worth a look. An abstention
    (None) is no mistake of this kind: give the predictions as answered, so that the pairs agree with
    `per_label_report`'s precision (a topic at precision 1 is in no pair as `predicted`)."""
    pairs = Counter((t, p) for t, p in zip(y_true, y_pred, strict=True) if p is not None and t != p)
    support = Counter(y_true)
    return [
        {"true": t, "predicted": p, "count": n, "share_of_true": n / support[t]}
        for (t, p), n in pairs.most_common(top)
    ]


def coverage_precision_curve(
    correct: Sequence[bool], confidence: Sequence[float], points: int = 50
) -> list[dict[str, float]]:
    """For thresholds over the confidences: coverage (share answered) and precision of those.

    Each point is what answering the cases scored at least `threshold` gives: cases with equal
    confidences are answered together, so the curve only steps between distinct scores (as
    `coverage_at_precision` cuts)."""
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    if conf.size == 0:
        return []
    order = np.argsort(-conf, kind="stable")
    conf, ok = conf[order], ok[order]
    hits = np.cumsum(ok)
    n = conf.size
    # the last case of each run of equal confidences: where a threshold can cut
    ends = np.flatnonzero(np.append(conf[1:] != conf[:-1], True)) + 1
    wanted = {round(x) for x in np.linspace(1, n, min(points, n))}
    cuts = sorted({int(ends[np.searchsorted(ends, k)]) for k in wanted})
    return [
        {"threshold": float(conf[k - 1]), "coverage": k / n, "precision": float(hits[k - 1] / k)}
        for k in cuts
    ]


PRECISION_TARGETS = (0.90, 0.95, 0.98)
"""The target precisions every backtest reports coverage at (plus `[gate] target_precision`)."""


def coverage_at_precision(
    correct: Sequence[bool], confidence: Sequence[float], targets: Sequence[float] = PRECISION_TARGETS
) -> dict[str, dict[str, float | None]]:
    """The largest coverage whose precision stays at or above each target, and its threshold."""
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    out: dict[str, dict[str, float | None]] = {}
    if conf.size == 0:
        return {f"{t:.2f}": {"coverage": 0.0, "threshold": None} for t in targets}
    order = np.argsort(-conf, kind="stable")
    conf, ok = conf[order], ok[order]
    precision = np.cumsum(ok) / np.arange(1, conf.size + 1)
    # only cut between distinct confidences: equal scores are answered together or not at all
    boundary = np.append(conf[1:] != conf[:-1], True)
    for target in targets:
        good = np.where((precision >= target) & boundary)[0]
        if good.size == 0:
            out[f"{target:.2f}"] = {"coverage": 0.0, "threshold": None}
        else:
            k = int(good.max())
            out[f"{target:.2f}"] = {"coverage": (k + 1) / conf.size, "threshold": float(conf[k])}
    return out
