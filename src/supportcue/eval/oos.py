"""`supportcue eval oos`: out-of-scope detection measured on labeled files.

The decision is built to transfer to traffic it was not tuned on, not to be the best trade-off on
one validation split:

1. Held-out scores of the training rows: one `calibration_share` slice of each label (seeded) is
   held out; the topic stage, the nearest-neighbour density (`OutOfScopeScorer`) and a validity
   classifier (logistic regression on the vectors: in-scope rows against out-of-scope rows and
   negatives) are fitted on the rest and score it honestly. The scorers are then refitted on every
   training row (small data, 8-25 examples per intent, loses no examples; CLINC150, +0.3 to +0.7
   points in scope, see BENCHMARKS.md), unless that would push the topic stage past its exact solver
   (`max_exact_rows`): larger data keeps the slice's exact fit rather than switch to the Nystrom
   approximation, which costs about a point of accuracy. Cross-fitting (`crossfit` folds per label,
   every row scored by scorers fitted on the others) replaces the slice when the training rows hold
   out-of-scope examples (`crossfit_labeled_oos`) and the refit keeps the exact solver: the threshold
   is set on the labeled out-of-scope rows, and one slice would give only a fifth of the training
   file's ones a held-out score (CLINC150: 67 labeled rows in calibration instead of 135, and a
   threshold whose spread under resampling of the calibration rows is 1.4-4 times wider; cross-fitted,
   in-scope accuracy rose by 0.1 to 3.9 points, see BENCHMARKS.md). It costs six topic fits, not two.
   Without labeled out-of-scope training rows it only adds in-scope rows, of which the slice gives
   plenty: then it is used for training sets of at most `crossfit_rows` rows, off by default (on the
   small-data proxies it did no better than one slice).
2. Negatives come from several sources: the out-of-scope rows of --train and --val, the package's
   built-in non-questions (`supportcue.stages.negatives`), the demo catalog's non-question messages,
   and any --negatives file (e.g. public chit-chat). Each source is split in two: one half trains the
   validity classifier, the other is scored for calibration.
3. A `ScoreCombiner` (logistic regression over six score features: top in-scope probability, top and
   runner-up ridge scores, out-of-scope class probability, density, validity logit; each through a
   cubic spline, `knots`, since their effects are not linear) is fitted on the held-out scores: the
   held-out training rows (scored by the scorers that did not see them), and --val and the held-out
   halves of the negatives (scored by the final scorers, as --test will be).
4. The threshold is the lowest at which every source of out-of-scope examples that belongs to the
   data reaches `target_recall + margin` (`recall_threshold`): the labeled out-of-scope rows (the
   held-out training rows' and --val's, pooled) and the --negatives file. The generic lists
   (built-in, demo) train the scores but do not set the threshold: how far they are from scope
   depends on the domain (CLINC150's in-scope intents include greetings and thanks). When the data's
   own sources hold fewer than `min_oos_rows` rows (a val split with a handful of out-of-scope
   messages), their threshold is shrunk toward the one the pooled generic lists give, weight
   n / `min_oos_rows`. That threshold is lowered, when needed, to the one where the calibration
   rows' in-scope accuracy and out-of-scope recall balance (`balance`, `balanced_threshold`): a
   recall target that the data cannot afford (on small, noisy data 0.93 recall cost 0.15-0.23 of
   in-scope accuracy) is not bought with more in-scope accuracy than it gains in recall;
   where the scores separate (CLINC150) the balanced point lies above the target's and nothing
   changes. The combiner is fitted without the in-scope rows the topic stage misroutes
   (`right_only`): they are errors whether kept or rejected. --test is then scored once.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from supportcue.data.files import write_rows
from supportcue.embeddings import Embedder
from supportcue.errors import SupportcueError, TrainingDataError
from supportcue.eval.labeled import (
    Labeled,
    check_labels,
    default_embedder,
    in_train,
    load_labeled,
    load_texts,
    messages,
    overlap_figures,
    unseen_label_figures,
)
from supportcue.stages.calibration import softmax
from supportcue.stages.negatives import BUILTIN_NEGATIVES
from supportcue.stages.topic import TopicStage
from supportcue.stages.validation import (
    OutOfScopeScorer,
    ScoreCombiner,
    balanced_threshold,
    recall_threshold,
)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
FEATURES = ("p_top", "score_top", "score_second", "p_oos", "density", "validity")


def oos_metrics(
    labels: list[str], predicted: list[str], rejected: Bools, oos_label: str
) -> dict[str, float | None]:
    """In-scope accuracy (right and not rejected), out-of-scope recall and precision of rejection;
    a figure with nothing to count (no out-of-scope test rows, nothing rejected) is None (JSON null),
    not 0.0, which would read as "every out-of-scope message got through"."""
    is_oos = np.array([label == oos_label for label in labels])
    right = np.array([p == t for p, t in zip(predicted, labels, strict=True)])
    in_scope = ~is_oos
    return {
        "in_scope_accuracy": float(np.mean(right[in_scope] & ~rejected[in_scope]))
        if in_scope.any()
        else None,
        "oos_recall": float(np.mean(rejected[is_oos])) if is_oos.any() else None,
        "oos_precision": float(np.mean(is_oos[rejected])) if rejected.any() else None,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def demo_non_questions() -> list[str]:
    """The demo catalog's non-question messages without template slots (greetings, thanks, ...)."""
    from supportcue.demo.catalog_replies import INVALID_MESSAGES

    return [m for kind in INVALID_MESSAGES.values() for m in kind if not re.search(r"\{\w+\}", m)]


@dataclass
class Negatives:
    """One source of out-of-scope examples: a name, its texts and their vectors."""

    name: str
    texts: list[str]
    vectors: F32
    sets_threshold: bool = True
    """False for generic lists (built-in, demo): they train the scores but do not set the threshold."""


@dataclass
class Decision:
    """Predicted topics, probability of being in scope, and which rows are rejected."""

    topics: list[str]
    p_in_scope: F64
    rejected: Bools = field(default_factory=lambda: np.zeros(0, dtype=bool))


def _logit(p: F64) -> F64:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    out: F64 = np.log(q / (1 - q))
    return out


def _split(n: int, share: float, rng: np.random.Generator) -> Bools:
    """A seeded random `share` of `n` rows (at least one when n >= 2, never all)."""
    take = np.zeros(n, dtype=bool)
    k = min(n - 1, max(int(n >= 2), round(share * n)))
    take[rng.permutation(n)[:k]] = True
    return take


class OosDetector:
    """Topic stage + density + validity classifier, combined and thresholded on held-out scores.

    Parameters
    ----------
    target_recall: the out-of-scope recall every source of negatives must reach on held-out scores.
    margin: added to `target_recall` when choosing the threshold.
    calibration_share: share of each training label held out to calibrate on.
    k: neighbours of the density score.
    conflict: generic negatives at least this close (cosine) to an in-scope training row are dropped.
    crossfit: folds of the training rows when there are at most `crossfit_rows` of them (0: never;
        the default, as one slice + refit did as well on the small-data proxies, see BENCHMARKS.md),
        or when `crossfit_labeled_oos` applies.
    crossfit_labeled_oos: cross-fit whenever the training rows include out-of-scope ones and no more
        than the topic stage's `max_exact_rows`, so that every one of them gets a held-out score for
        the threshold (one slice holds out a fifth of them).
    min_oos_rows: below this many labeled out-of-scope rows (train and val) the threshold is shrunk
        toward the generic negatives' one.
    knots: the combiner's spline knots per feature (`ScoreCombiner`; 0: a linear combiner).
    balance: never set the threshold above the one where the calibration rows' in-scope accuracy and
        out-of-scope recall balance (`balanced_threshold`): the recall target is not bought with more
        in-scope accuracy than it gains in recall.
    right_only: fit the combiner on the in-scope calibration rows the topic stage routes right (and
        every out-of-scope row); the misrouted ones count as errors whether kept or rejected.
    """

    def __init__(
        self,
        target_recall: float = 0.9,
        margin: float = 0.03,
        calibration_share: float = 0.2,
        k: int = 5,
        conflict: float = 0.8,
        seed: int = 0,
        stage: TopicStage | None = None,
        crossfit: int = 5,
        crossfit_rows: int = 0,
        min_oos_rows: int = 20,
        knots: int = 5,
        crossfit_labeled_oos: bool = True,
        balance: bool = True,
        right_only: bool = True,
    ) -> None:
        self.balance = balance
        self.right_only = right_only
        self.crossfit_labeled_oos = crossfit_labeled_oos
        self.knots = knots
        self.min_oos_rows = min_oos_rows
        self.crossfit = crossfit
        self.crossfit_rows = crossfit_rows
        self.conflict = conflict
        self.target_recall = target_recall
        self.margin = margin
        self.calibration_share = calibration_share
        self.k = k
        self.seed = seed
        self.stage = stage or TopicStage()

    def fit(
        self,
        train: Labeled,
        train_vectors: F32,
        val: Labeled,
        val_vectors: F32,
        negatives: list[Negatives],
        oos_label: str,
    ) -> Self:
        rng = np.random.default_rng(self.seed)
        self.oos_label = oos_label
        labels = np.array(train.labels)
        train_oos = labels == oos_label
        folds = self._folds(labels, rng)
        negatives = self._without_conflicts(negatives, train_vectors[~train_oos])
        halves = [_split(len(n.texts), 0.5, rng) for n in negatives]
        self.crossfit_folds_ = len(folds)
        # Held-out scores of the training rows: each calibration part scored by the scorers fitted on
        # the other rows. `held` marks the rows that have one.
        held = np.zeros(len(labels), dtype=bool)
        train_features = np.zeros((len(labels), len(FEATURES)))
        train_topics = [""] * len(labels)
        for part in folds:
            held[part] = True
            self._fit_scorers(train, train_vectors, ~part, negatives, halves)
            topics, features = self._features(
                [train.texts[i] for i in np.flatnonzero(part)], train_vectors[part]
            )
            train_features[part] = features
            for i, topic in zip(np.flatnonzero(part), topics, strict=True):
                train_topics[i] = topic
        # The final scorers: on every training row when there are several folds, or when one slice
        # was held out and refitting on all rows keeps the topic stage's exact solver; otherwise
        # (data past `max_exact_rows`) the slice's scorers are kept.
        everything = np.ones(len(labels), dtype=bool)
        self.refit_ = len(folds) > 1 or len(labels) <= getattr(self.stage, "max_exact_rows", len(labels))
        if self.refit_:
            self._fit_scorers(train, train_vectors, everything, negatives, halves)

        # Calibration rows: the held-out training rows, --val, and the other half of each source of
        # negatives; the last two are scored by the final scorers.
        texts = [train.texts[i] for i in np.flatnonzero(held)] + val.texts
        vectors = [val_vectors]
        is_oos = [*train_oos[held], *(label == oos_label for label in val.labels)]
        groups = ["labeled oos" if o else "in" for o in train_oos[held]]
        groups += ["labeled oos" if label == oos_label else "in" for label in val.labels]
        deciding = {"labeled oos"} | {n.name for n in negatives if n.sets_threshold}
        truth = [*labels[held], *val.labels]
        for source, half in zip(negatives, halves, strict=True):
            texts += [t for t, h in zip(source.texts, half, strict=True) if h]
            vectors.append(source.vectors[half])
            is_oos += [True] * int(half.sum())
            groups += [source.name] * int(half.sum())
            truth += [oos_label] * int(half.sum())
        n_held = int(held.sum())
        other_topics, other_features = self._features(texts[n_held:], np.concatenate(vectors))
        topics = [train_topics[i] for i in np.flatnonzero(held)] + other_topics
        features = np.concatenate([train_features[held], other_features])
        positive = ~np.array(is_oos)
        right = np.array([t == p for t, p in zip(truth, topics, strict=True)]) & positive
        # In-scope rows given the wrong topic count as errors whether kept or rejected: with
        # `right_only` the combiner learns to keep the rows routed right, and leaves those out.
        fit = right | ~positive if self.right_only and right.any() else np.ones(len(positive), dtype=bool)
        self.combiner_ = ScoreCombiner(knots=self.knots).fit(
            features[fit], positive[fit], [g for g, f in zip(groups, fit, strict=True) if f]
        )
        logit = self.combiner_.logit(features)
        negative_groups = [g for g, p in zip(groups, positive, strict=True) if not p]
        self.threshold_ = self._threshold(
            logit, groups, deciding, {n.name for n in negatives} - deciding, (positive, right)
        )
        rejected = logit < self.threshold_
        self.calibration_scores_ = (logit, groups, [t == p for t, p in zip(truth, topics, strict=True)])
        predicted = [oos_label if r else t for t, r in zip(topics, rejected, strict=True)]
        self.calibration_ = {
            "rows": len(texts),
            "in_scope_accuracy": _rounded(
                oos_metrics(truth, predicted, rejected, oos_label)["in_scope_accuracy"]
            ),
            "oos_recall": {
                g: round(float(np.mean(rejected[np.array(groups) == g])), 4)
                for g in sorted(set(negative_groups))
            },
            "negatives_dropped_as_in_scope": self.dropped_negatives_,
            "crossfit_folds": self.crossfit_folds_,
            "refit_on_all_rows": self.refit_,
            "threshold_weight_of_labeled_oos": round(self.threshold_weight_, 4),
            "threshold_balanced": self.balanced_,
            "combiner_weights": dict(zip(FEATURES, self.combiner_.weights(), strict=True)),
        }
        return self

    def _threshold(
        self,
        logit: F64,
        groups: list[str],
        deciding: set[str],
        generic: set[str],
        in_scope: tuple[Bools, Bools] | None = None,
    ) -> float:
        """`recall_threshold` over the sources that belong to the data. When they hold fewer than
        `min_oos_rows` rows in all, that estimate is too noisy alone: it is shrunk toward the threshold
        the pooled generic negatives give, in proportion to the rows missing.

        `in_scope`: which rows are in scope and which of those have the right topic; with `balance`,
        the data's own threshold is at most the one balancing in-scope accuracy and recall on them."""
        chosen = np.array([g in deciding for g in groups])
        n_data = int(chosen.sum())
        pooled = np.array([g in generic for g in groups])
        small = pooled.any() and n_data < self.min_oos_rows
        self.threshold_weight_ = n_data / self.min_oos_rows if small else 1.0
        if n_data == 0 and not pooled.any():
            raise TrainingDataError("choosing an out-of-scope threshold needs out-of-scope examples")
        own = (
            recall_threshold(
                logit[chosen],
                [g for g, c in zip(groups, chosen, strict=True) if c],
                self.target_recall,
                self.margin,
            )
            if n_data
            else 0.0
        )
        self.balanced_ = False
        if self.balance and in_scope is not None and n_data and in_scope[0].any():
            positive, right = in_scope
            balanced = balanced_threshold(
                logit[positive],
                right[positive],
                logit[chosen],
                [g for g, c in zip(groups, chosen, strict=True) if c],
            )
            self.balanced_ = balanced < own
            own = min(own, balanced)
        if self.threshold_weight_ >= 1.0:
            return own
        prior = recall_threshold(
            logit[pooled], ["generic"] * int(pooled.sum()), self.target_recall, self.margin
        )
        return float(self.threshold_weight_ * own + (1.0 - self.threshold_weight_) * prior)

    def _folds(self, labels: npt.NDArray[np.str_], rng: np.random.Generator) -> list[Bools]:
        """The held-out parts of the training rows: `crossfit` folds per label (every row held out
        once) when there are at most `crossfit_rows` rows, or when some are out of scope (and the
        refit stays exact: `crossfit_labeled_oos`), else one `calibration_share` slice."""
        labeled_oos = (
            self.crossfit_labeled_oos
            and bool(np.any(labels == self.oos_label))
            and len(labels) <= getattr(self.stage, "max_exact_rows", len(labels))
        )
        if (len(labels) > self.crossfit_rows and not labeled_oos) or self.crossfit < 2:
            held = np.zeros(len(labels), dtype=bool)
            for label in sorted(set(labels)):
                rows = np.flatnonzero(labels == label)
                held[rows[_split(len(rows), self.calibration_share, rng)]] = True
            return [held]
        # Each label's rows are dealt round-robin after a shuffle, the deal starting at a random fold,
        # so labels with fewer rows than folds do not all land in the first folds.
        fold = np.zeros(len(labels), dtype=int)
        for label in sorted(set(labels)):
            rows = rng.permutation(np.flatnonzero(labels == label))
            fold[rows] = (np.arange(len(rows)) + rng.integers(self.crossfit)) % self.crossfit
        parts = [fold == f for f in range(self.crossfit)]
        return [part for part in parts if part.any() and not part.all()]

    def _fit_scorers(
        self,
        train: Labeled,
        train_vectors: F32,
        fit: Bools,
        negatives: list[Negatives],
        halves: list[Bools],
    ) -> None:
        """The topic stage, density and validity classifier on the training rows `fit` (and the
        training half of each source of negatives)."""
        labels = np.array(train.labels)
        train_oos = labels == self.oos_label
        fit_rows = np.flatnonzero(fit)
        self.stage.fit(messages([train.texts[i] for i in fit_rows], train_vectors[fit]), list(labels[fit]))
        self.in_scope_ = [i for i, t in enumerate(self.stage.topics_) if t != self.oos_label]
        self.oos_column_ = (
            self.stage.topics_.index(self.oos_label) if self.oos_label in self.stage.topics_ else None
        )
        self.density_ = OutOfScopeScorer(self.k).fit(train_vectors[fit & ~train_oos])
        negative_vectors = [train_vectors[fit & train_oos]] + [
            n.vectors[~half] for n, half in zip(negatives, halves, strict=True)
        ]
        bad = np.concatenate(negative_vectors)
        good = train_vectors[fit & ~train_oos]
        self.validity_ = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
        self.validity_.fit(np.concatenate([good, bad]), np.r_[np.ones(len(good)), np.zeros(len(bad))])

    def _without_conflicts(self, negatives: list[Negatives], in_scope: F32) -> list[Negatives]:
        """Drop generic negatives that paraphrase an in-scope training row (cosine >= `conflict`):
        the labels of the data at hand win over a generic list ("thank you" is a topic of some bots)."""
        nearest = OutOfScopeScorer(k=1).fit(in_scope)
        kept = []
        self.dropped_negatives_ = {}
        for source in negatives:
            keep = nearest.score(source.vectors) < self.conflict if len(source.texts) else np.zeros(0, bool)
            self.dropped_negatives_[source.name] = int((~keep).sum())
            if keep.sum() >= 2:
                texts = [t for t, k in zip(source.texts, keep, strict=True) if k]
                kept.append(Negatives(source.name, texts, source.vectors[keep], source.sets_threshold))
        return kept

    def _features(self, texts: list[str], vectors: F32) -> tuple[list[str], F64]:
        scores = self.stage.decision_scores(messages(texts, vectors))
        proba = softmax(scores / self.stage.temperature_)
        inside = scores[:, self.in_scope_]
        best = proba[:, self.in_scope_].argmax(1)
        ranked = np.sort(inside, axis=1)
        second = ranked[:, -2] if inside.shape[1] > 1 else np.zeros(len(texts))
        p_oos = proba[:, self.oos_column_] if self.oos_column_ is not None else np.zeros(len(texts))
        features = np.column_stack(
            [
                _logit(proba[:, self.in_scope_].max(1)),
                ranked[:, -1],
                second,
                _logit(p_oos),
                self.density_.score(vectors),
                self.validity_.decision_function(vectors),
            ]
        )
        topics = [self.stage.topics_[self.in_scope_[i]] for i in best]
        return topics, np.asarray(features, dtype=np.float64)

    @property
    def threshold(self) -> float:
        """The threshold as a probability of being in scope (rows below it are rejected)."""
        return float(1.0 / (1.0 + np.exp(-self.threshold_)))

    def decide(self, texts: list[str], vectors: F32) -> Decision:
        topics, features = self._features(texts, vectors)
        logit = self.combiner_.logit(features)
        return Decision(topics, 1.0 / (1.0 + np.exp(-logit)), logit < self.threshold_)

    def evaluate(self, rows: Labeled, vectors: F32) -> dict[str, float | None]:
        decision = self.decide(rows.texts, vectors)
        predicted = [
            self.oos_label if r else t for t, r in zip(decision.topics, decision.rejected, strict=True)
        ]
        return oos_metrics(rows.labels, predicted, decision.rejected, self.oos_label)


def negative_sources(
    embedder: Embedder, extra: Path | None = None, text_col: str = "text", builtin: bool = True
) -> list[Negatives]:
    """The sources of negatives: built-in non-questions, the demo's, and an optional file."""
    sources: list[tuple[str, list[str]]] = []
    if builtin:
        sources += [("built-in", list(BUILTIN_NEGATIVES)), ("demo non-questions", demo_non_questions())]
    if extra is not None:
        sources.append((f"negatives file {extra.name}", load_texts(extra, text_col)))
    return [
        Negatives(
            name, texts, embedder.embed(texts), sets_threshold=name not in ("built-in", "demo non-questions")
        )
        for name, texts in sources
    ]


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
    negatives: Path | None = None,
    target_recall: float = 0.9,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit on `train` (calibrating on a held-out slice of it and on `val`), report on `test`."""
    embedder = embedder or default_embedder()
    train_rows = load_labeled(train, text_col, label_col)
    val_rows = load_labeled(val, text_col, label_col)
    test_rows = load_labeled(test, text_col, label_col)
    check_labels(train, [lb for lb in train_rows.labels if lb != oos_label], label_col, "in-scope row")
    if oos_label not in val_rows.labels:
        raise SupportcueError(
            f"{val}: no row has {label_col} = {oos_label!r}; the threshold needs some (--oos-label)"
        )
    if oos_label not in test_rows.labels:
        raise SupportcueError(
            f"{test}: no row has {label_col} = {oos_label!r}; the out-of-scope recall and precision need "
            "some (--oos-label)"
        )
    if all(label == oos_label for label in test_rows.labels):
        raise SupportcueError(
            f"{test}: no in-scope row (every {label_col} is {oos_label!r}); the in-scope accuracy needs some"
        )
    if not 0.0 < target_recall < 1.0:
        raise SupportcueError(f"--target-recall must be between 0 and 1, got {target_recall}")
    sources = negative_sources(embedder, negatives, text_col)
    started = time.perf_counter()
    train_vectors = embedder.embed(train_rows.texts)
    detector = OosDetector(target_recall=target_recall, seed=seed, stage=stage).fit(
        train_rows, train_vectors, val_rows, embedder.embed(val_rows.texts), sources, oos_label
    )
    train_seconds = time.perf_counter() - started

    decision = detector.decide(test_rows.texts, embedder.embed(test_rows.texts))
    predicted = [oos_label if r else t for t, r in zip(decision.topics, decision.rejected, strict=True)]
    if predictions is not None:
        write_rows(
            predictions,
            (
                {
                    "text": text,
                    "label": label,
                    "predicted": p,
                    "confidence": round(float(c), 6),
                    "rejected": bool(r),
                }
                for text, label, p, c, r in zip(
                    test_rows.texts,
                    test_rows.labels,
                    predicted,
                    decision.p_in_scope,
                    decision.rejected,
                    strict=True,
                )
            ),
        )
    return {
        **oos_metrics(test_rows.labels, predicted, decision.rejected, oos_label),
        "threshold": round(detector.threshold, 6),
        "n_test": len(test_rows.labels),
        "n_train": len(train_rows.labels),
        "n_train_oos": sum(label == oos_label for label in train_rows.labels),
        "target_recall": target_recall,
        "negative_sources": {n.name: len(n.texts) for n in sources},
        "calibration": detector.calibration_,
        "train_seconds": round(train_seconds, 3),
        **overlap_figures(in_train(train_rows.texts, test_rows.texts)),
        # the threshold is chosen on --val and the negatives: a --test text among them was scored by a
        # threshold chosen on it
        "test_in_val": sum(in_train(val_rows.texts, test_rows.texts)),
        "test_in_negatives": sum(in_train([t for n in sources for t in n.texts], test_rows.texts)),
        **unseen_label_figures(train_rows.labels, test_rows.labels, ignore=[oos_label]),
    }
