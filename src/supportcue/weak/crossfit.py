"""Refine pseudo-labels with a stronger classifier by cross-fitting: never judge a row with a model
that was trained on that row's own pseudo-label.

`weak.propagation` labels the unlabeled rows with cheap models over the embedding alone. A stronger
model (the topic stage: kernel ridge over the embedding *and* the text's n-grams) sees what those
miss, but fitted on every pseudo-labeled row it would only reproduce their labels. So each round
splits the unlabeled rows into `folds`; for each fold a fresh model is fitted on the labeled rows plus
the other folds' pseudo-labels (weighted by confidence, the ones below `min_confidence` left out) and
predicts that fold. The round's probabilities are mixed with the previous ones (`mix`), and the next
round starts from the mixture.

Like `propagate`, the function receives the unlabeled rows' texts and vectors, never their labels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from supportcue.stages.base import Message

Array = npt.NDArray[np.float64]

ROUNDS = 2
FOLDS = 2
MIX = 0.5
"""Weight of a round's cross-fitted probabilities against the previous round's."""


def refine_cross_fitted(
    make_model: Callable[[], Any],
    labeled: Sequence[Message],
    y_labeled: Sequence[str],
    unlabeled: Sequence[Message],
    classes: Sequence[str],
    probs: npt.ArrayLike,
    rounds: int = ROUNDS,
    folds: int = FOLDS,
    mix: float = MIX,
    min_confidence: float = 0.3,
    seed: int = 0,
) -> Array:
    """The unlabeled rows' probabilities over `classes` after `rounds` of cross-fitted refinement.

    `make_model()` returns an unfitted model with `fit(messages, labels, sample_weight=...)`,
    `predict_proba(messages)` and the column order in `topics_` (the topic stage's interface).
    """
    current = np.asarray(probs, dtype=np.float64)
    classes = list(classes)
    if current.shape != (len(unlabeled), len(classes)):
        raise ValueError(f"probs has shape {current.shape}; expected ({len(unlabeled)}, {len(classes)})")
    if folds < 2:
        raise ValueError("cross-fitting needs at least 2 folds")
    if not 0.0 <= mix <= 1.0:
        raise ValueError("mix must be within [0, 1]")
    if len(unlabeled) < folds:
        return current
    column = {c: i for i, c in enumerate(classes)}
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        fold = rng.permutation(np.arange(len(unlabeled)) % folds)
        confidence, best = current.max(axis=1), current.argmax(axis=1)
        fresh = np.zeros_like(current)
        for k in range(folds):
            train = np.flatnonzero((fold != k) & (confidence >= min_confidence))
            model = make_model()
            model.fit(
                [*labeled, *(unlabeled[int(i)] for i in train)],
                [*y_labeled, *(classes[best[i]] for i in train)],
                sample_weight=[*([1.0] * len(labeled)), *confidence[train].tolist()],
            )
            rows = np.flatnonzero(fold == k)
            predicted = model.predict_proba([unlabeled[int(i)] for i in rows])
            for j, topic in enumerate(model.topics_):
                if topic in column:
                    fresh[rows, column[topic]] = predicted[:, j]
        totals = fresh.sum(axis=1, keepdims=True)
        fresh = np.where(totals > 0, fresh / np.where(totals > 0, totals, 1.0), current)
        current = mix * fresh + (1.0 - mix) * current
    return current
