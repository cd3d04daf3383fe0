"""Stage 2, topic: which topic a valid message is about, with a calibrated confidence or an abstention.

The model is kernel ridge regression onto one-hot topics over a sum of two kernels, which are
complementary views of a message:

- the pipeline's sentence vector (MiniLM): k = exp((cos - 1) / bandwidth), an RBF on the sphere
  (minus its constant term, see `_rbf`);
- the raw text: TF-IDF word 1-2-grams and character 2-5-grams, a linear (cosine) kernel.

Kernel ridge beats a logistic regression on the same vectors (Banking77: 0.932 vs 0.918) and has a
closed-form fit, so training is one linear solve. The TF-IDF part is linear, so at prediction time it
folds into one weight matrix (a single sparse transform and a dot product per message).

Scores become probabilities by a softmax whose temperature is fitted on out-of-fold predictions;
the same predictions give each topic its threshold: the lowest confidence at which that topic's
predictions reach `target_precision` (topics with too few predictions get `default_threshold`).

Small data (at most `small_data` rows, e.g. 10 examples per topic): the regularisation and kernel
mix are chosen by 5-fold cross-validation, which is cheap there; larger data uses the defaults below,
measured on Banking77, and one 80/20 split for calibration.

Above `small_data` rows the exact fit builds the summed kernel once, in place, and factors it without
copies (`_fit_exact`): about 1.7 n x n doubles at the peak (CLINC150's 15,100 rows: 3.4 GB, where
the two kernels, their sum and the solver's copies took 9.1 GB before).

Large data (more than `max_exact_rows` rows): the exact solution still needs O(n^2) memory and
O(n^3) time, so the stage switches to a Nystrom approximation
of the same summed kernel (`_NystromSolver`): the ridge function is restricted to the span of
`landmarks` training rows, f(x) = k(x, L) a, and fitted on every row by the normal equations
(K_nL' W K_nL + alpha K_LL) a = K_nL' W Y, whose m x m Gram matrix is summed over chunks of rows. Time
and memory grow linearly with the rows (m^2 n for the Gram, m^3 for the solve, a chunk of K_nL at a
time); the TF-IDF vocabulary is fitted on the landmarks' texts, since only their n-grams can carry
weight. The fitted model has the exact path's form (a kernel expansion over m rows instead of n), so
scores, `min_score` (about 1 on a topic's own examples, 0 for unrelated messages), `add_topic` and
saving are unchanged. The held-out 20% for calibration costs no second pass: its Gram matrix is
kept apart and added back for the final solve.

`add_topic(key, messages)` adds a topic without refitting: the new topic is scored by its mean
kernel similarity to the given examples (a prototype), scaled to the level the fitted topics reach on
their own examples; the next `fit` makes it a full topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import scipy.linalg
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from supportcue.errors import TrainingDataError
from supportcue.stages.base import Message, Outcome, Stage, StageResult, vectors_of
from supportcue.stages.calibration import blas_threads, fit_temperature, per_class_thresholds, softmax

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]

SMALL_ALPHAS = (0.03, 0.1, 0.3, 1.0, 3.0)
"""Regularisation tried on small data; large values tend to a Parzen (prototype-like) classifier."""
SMALL_TEXT_WEIGHTS = (0.0, 0.4, 0.7)
_MAX_HELD = 20_000
"""Calibration rows of the large-data path: enough for a temperature and per-topic thresholds."""
_KERNEL_BLOCK = 1024
"""Rows of the summed kernel computed at a time by the exact fit above `small_data` (`_summed_kernel`)."""
_PREDICT_CHUNK = 2048
"""Messages scored at a time by `decision_scores`."""


class _TextFeatures:
    """TF-IDF word 1-2-grams and char 2-5-grams, each L2-normalised, concatenated (unit rows)."""

    def __init__(self) -> None:
        self.words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)
        self.chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, dtype=np.float32
        )

    def fit_transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        words = self.words.fit_transform(texts)
        try:
            chars = self.chars.fit_transform(texts)
        except ValueError:  # too few texts for min_df=2: keep every n-gram
            self.chars.set_params(min_df=1)
            chars = self.chars.fit_transform(texts)
        return sparse.hstack([words, chars], format="csr") * np.float32(np.sqrt(0.5))

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        parts = [self.words.transform(texts), self.chars.transform(texts)]
        return sparse.hstack(parts, format="csr") * np.float32(np.sqrt(0.5))


class _KernelRidge:
    """The fitted kernel ridge classifier; scores are (n, n_classes) ridge outputs."""

    def __init__(self, bandwidth: float, text_weight: float, text: _TextFeatures) -> None:
        self.bandwidth = bandwidth
        self.text_weight = text_weight
        self.text = text

    def fit(self, vectors: F32, tfidf: sparse.csr_matrix, dual: F64) -> Self:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.dual = dual.astype(np.float32)
        # The TF-IDF kernel is linear: fold it into primal weights (n_features, n_classes).
        self.text_coef = np.asarray(tfidf.T @ self.dual, dtype=np.float32) * np.float32(self.text_weight)
        return self

    def vector_kernel(self, a: F32, b: F32) -> F64:
        return _rbf(a, b, self.bandwidth)

    def scores(self, vectors: F32, texts: Sequence[str]) -> F64:
        out = self.vector_kernel(vectors, self.vectors) @ self.dual
        if self.text_weight > 0:
            out += np.asarray(self.text.transform(texts) @ self.text_coef)
        return np.asarray(out, dtype=np.float64)


def _rbf(a: F32, b: F32, bandwidth: float) -> F64:
    """exp((cos - 1) / bw) - exp(-1 / bw): still positive definite (the constant is the zeroth term of
    the exponential's series of polynomial kernels), and 0 for unrelated (orthogonal) messages, so
    their ridge scores are near 0 and the stage can tell "far from every topic"."""
    sims = np.asarray(a @ b.T, dtype=np.float64)
    kernel: F64 = np.exp((sims - 1.0) / bandwidth) - np.exp(-1.0 / bandwidth)
    return kernel


def _solve(kernel: F64, target: Ints, n_classes: int, ridge: F64, overwrite: bool = False) -> F64:
    """Dual coefficients of kernel ridge onto one-hot targets; `ridge` is alpha / sample weight.
    `overwrite`: factor `kernel` in place (it is destroyed) instead of a copy of it."""
    system = kernel if overwrite else kernel.copy()
    system[np.diag_indices_from(system)] += ridge
    onehot = np.zeros((len(target), n_classes))
    onehot[np.arange(len(target)), target] = 1.0
    # Small systems are faster on one thread (and far faster on a loaded machine).
    with blas_threads(len(system)):
        # The system is symmetric, so its transpose (a Fortran-ordered view, as LAPACK wants) is the
        # same matrix: factoring it in place spares LAPACK's own copy of a C-ordered array.
        factor = scipy.linalg.cho_factor(system.T, overwrite_a=True, check_finite=False)
        dual: F64 = scipy.linalg.cho_solve(factor, onehot, check_finite=False)
    return dual


def _summed_kernel(vectors: F32, tfidf: sparse.csr_matrix, bandwidth: float, text_weight: float) -> F64:
    """`_rbf(vectors, vectors) + text_weight * tfidf tfidf'` as one n x n array, filled a block of
    rows at a time: the two kernels and their sum are never held whole side by side."""
    n = len(vectors)
    kernel = np.empty((n, n))
    tfidf_t = tfidf.T.tocsc()
    offset = np.exp(-1.0 / bandwidth)
    for start in range(0, n, _KERNEL_BLOCK):
        block = kernel[start : start + _KERNEL_BLOCK]
        block[:] = vectors[start : start + _KERNEL_BLOCK] @ vectors.T
        block -= 1.0
        block /= bandwidth
        np.exp(block, out=block)
        block -= offset
        text = (tfidf[start : start + _KERNEL_BLOCK] @ tfidf_t).toarray()
        block += text_weight * np.asarray(text, dtype=np.float64)
    return kernel


def _rbf32(a: F32, b: F32, bandwidth: float) -> F32:
    """`_rbf` in single precision, computed in place: the large-data path's chunks of k(x, L)."""
    kernel = np.asarray(a @ b.T, dtype=np.float32)
    kernel -= np.float32(1.0)
    kernel *= np.float32(1.0 / bandwidth)
    np.exp(kernel, out=kernel)
    kernel -= np.float32(np.exp(-1.0 / bandwidth))
    return kernel


def _landmarks(target: Ints, rows: Ints, m: int, rng: np.random.Generator) -> Ints:
    """`m` of `rows` (sorted): up to 3 of every topic, so that each has kernel functions near its own
    examples, and the rest uniformly at random (Nystrom with uniform sampling)."""
    if m >= len(rows):
        return rows
    labels = target[rows]
    order = np.argsort(labels, kind="stable")
    starts = np.flatnonzero(np.r_[True, labels[order][1:] != labels[order][:-1]])
    ends = np.r_[starts[1:], len(order)]
    first = [
        rng.choice(rows[order[a:b]], size=min(3, b - a), replace=False)
        for a, b in zip(starts, ends, strict=True)
    ]
    chosen = np.unique(np.concatenate(first))[:m]
    rest = np.setdiff1d(rows, chosen, assume_unique=True)
    extra = rng.choice(rest, size=m - len(chosen), replace=False)
    return np.sort(np.concatenate([chosen, extra]))


def _solve_nystrom(gram: F64, rhs: F64, landmark_kernel: F64, alpha: float) -> F64:
    """Coefficients a of f(x) = k(x, L) a minimising sum_i w_i |f(x_i) - y_i|^2 + alpha a'K_LL a, from
    gram = K_nL' W K_nL and rhs = K_nL' W Y: one Cholesky solve of (gram + alpha K_LL) a = rhs. A
    jitter of 1e-6 of K_LL's mean diagonal keeps the system definite when landmarks are (near)
    duplicates."""
    system = gram + alpha * landmark_kernel
    system = (system + system.T) / 2
    system[np.diag_indices_from(system)] += alpha * 1e-6 * float(np.mean(np.diag(landmark_kernel)))
    with blas_threads(len(system)):
        try:
            factor = scipy.linalg.cho_factor(system, check_finite=False)
            coef: F64 = scipy.linalg.cho_solve(factor, rhs, check_finite=False)
        except np.linalg.LinAlgError:  # rounding made it indefinite: drop the non-positive directions
            values, vectors = scipy.linalg.eigh(system, check_finite=False)
            keep = values > 1e-12 * values.max()
            coef = vectors[:, keep] @ ((vectors[:, keep].T @ rhs) / values[keep, None])
    return coef


class _NystromFit:
    """The large-data fit: one pass over the rows in chunks, summing the normal equations' Gram matrix
    and right-hand side separately for the training rows and the held-out (calibration) rows."""

    chunk = 2048

    def __init__(
        self, vectors: F32, texts: Sequence[str], bandwidth: float, text_weight: float, landmarks: Ints
    ) -> None:
        self.vectors, self.texts = vectors, texts
        self.bandwidth, self.text_weight = bandwidth, text_weight
        self.landmark_vectors = np.ascontiguousarray(vectors[landmarks])
        self.text = _TextFeatures()
        self.landmark_tfidf = self.text.fit_transform([texts[i] for i in landmarks])

    def kernel(self, rows: Ints) -> F32:
        """k(x, L) of the given rows, (len(rows), m)."""
        out = _rbf32(self.vectors[rows], self.landmark_vectors, self.bandwidth)
        if self.text_weight > 0:
            tfidf = self.text.transform([self.texts[i] for i in rows])
            out += np.float32(self.text_weight) * (tfidf @ self.landmark_tfidf.T).toarray()
        return out

    def landmark_kernel(self) -> F64:
        text = np.asarray((self.landmark_tfidf @ self.landmark_tfidf.T).toarray(), dtype=np.float64)
        return _rbf(self.landmark_vectors, self.landmark_vectors, self.bandwidth) + self.text_weight * text

    def sums(
        self, target: Ints, weight: F64, n_classes: int, held: npt.NDArray[np.bool_]
    ) -> tuple[F64, F64, F64, F64, F32]:
        """(gram, rhs) of the training rows, (gram, rhs) of the held rows, and k(x, L) of the held rows."""
        m = len(self.landmark_vectors)
        gram = [np.zeros((m, m)), np.zeros((m, m))]
        rhs = [np.zeros((m, n_classes)), np.zeros((m, n_classes))]
        held_kernel = np.empty((int(held.sum()), m), dtype=np.float32)
        filled = 0
        for start in range(0, len(target), self.chunk):
            rows = np.arange(start, min(len(target), start + self.chunk))
            kernel = self.kernel(rows)
            for part in (0, 1):
                mask = held[rows] == bool(part)
                if not mask.any():
                    continue
                # Double precision: a single-precision Gram (twice as fast) lost definiteness at 200k
                # rows whose landmarks were near-duplicates.
                k = kernel[mask].astype(np.float64)
                weighted = k * weight[rows[mask], None]
                gram[part] += weighted.T @ k
                onehot = sparse.csr_matrix(
                    (np.ones(len(k)), (target[rows[mask]], np.arange(len(k)))), shape=(n_classes, len(k))
                )
                rhs[part] += np.asarray(onehot @ weighted).T
                if part == 1:
                    held_kernel[filled : filled + len(k)] = kernel[mask]
                    filled += len(k)
        return gram[0], rhs[0], gram[1], rhs[1], held_kernel


def _folds(y: Ints, n_folds: int, seed: int) -> list[Ints]:
    """Stratified fold assignment: a list of held-out index arrays."""
    rng = np.random.default_rng(seed)
    assign = np.empty(len(y), dtype=np.intp)
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        rng.shuffle(rows)
        assign[rows] = (np.arange(len(rows)) + rng.integers(n_folds)) % n_folds
    return [np.flatnonzero(assign == f) for f in range(n_folds)]


@dataclass(frozen=True)
class TopicResult(StageResult):
    """`label` is the topic; later stages read it from the message."""

    def advance(self, message: Message, outcome: Outcome) -> tuple[Message, Outcome]:
        return message.but(topic=self.label), Outcome(
            self.label, self.confidence, outcome.answer_id, outcome.text, outcome.alternatives
        )


class TopicStage(Stage):
    """Kernel ridge topic classifier with calibrated confidences and per-topic thresholds.

    Parameters
    ----------
    target_precision: each topic's threshold is the lowest confidence reaching this precision.
    default_threshold: the threshold of topics with too little data to learn one, and of added topics.
    bandwidth, text_weight, alpha: the kernel and regularisation used above `small_data` rows.
    small_data: at or below this many rows, alpha and text_weight are chosen by cross-validation.
    min_score: abstain ("far from every known topic") when the top ridge score is below it; ridge
        scores are about 1 for a typical example of a topic and about 0 for an unrelated message.
    seed: for the calibration folds (and the landmarks).
    max_exact_rows: above this many rows the exact kernel ridge (peak about 1.7 n x n doubles: 2.3 GB
        at 12,080 rows, 3.4 GB at 15,100, in all) gives way to its Nystrom approximation, whose time
        and memory grow linearly with the rows (200,000 rows: 2.1 GB, see BENCHMARKS.md). At or below
        it the exact solution is used, as it is the more accurate (Banking77's 7,967 rows: 0.934 vs
        0.928 with 3,000 landmarks; CLINC150's 15,100 training rows: 0.947 vs 0.937 on val.csv);
        the default keeps the exact fit under the 4 GB the 200,000-row fit is held to, so data sets
        of CLINC150's size keep the better fit and larger ones take the approximation.
    landmarks: the Nystrom approximation's number of landmark rows m (memory m^2, time m^2 n).
    """

    name = "topic"
    label_task = "topic"
    reads_upstream = False

    def __init__(
        self,
        target_precision: float = 0.9,
        default_threshold: float = 0.5,
        bandwidth: float = 0.5,
        text_weight: float = 0.4,
        alpha: float = 0.1,
        small_data: int = 3000,
        min_score: float = 0.25,
        seed: int = 0,
        max_exact_rows: int = 16_000,
        landmarks: int = 3000,
    ) -> None:
        self.target_precision = target_precision
        self.default_threshold = default_threshold
        self.bandwidth = bandwidth
        self.text_weight = text_weight
        self.alpha = alpha
        self.small_data = small_data
        self.min_score = min_score
        self.seed = seed
        self.max_exact_rows = max_exact_rows
        self.landmarks = landmarks

    # -- fit ---------------------------------------------------------------------------------------

    def fit(
        self,
        X: Sequence[Message],
        y: Sequence[str] | None = None,
        sample_weight: Sequence[float] | None = None,
    ) -> Self:
        """Learn topics `y` of messages `X` (each with a vector); refitting forgets the old topics."""
        vectors, texts, target, weight, classes = self._validate(X, y, sample_weight)
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, key)
        if len(target) > self.max_exact_rows:
            return self._fit_nystrom(vectors, texts, target, weight, classes)
        if len(target) > self.small_data:
            return self._fit_exact(vectors, texts, target, weight, classes)
        folds = _folds(target, 5, self.seed)
        grid = [(a, w) for a in SMALL_ALPHAS for w in SMALL_TEXT_WEIGHTS]
        # Both kernels are computed once; folds and settings only index and mix them. The TF-IDF
        # vocabulary is fitted on every text once (no labels are involved).
        text = _TextFeatures()
        tfidf = text.fit_transform(texts)
        vector_kernel = _rbf(vectors, vectors, self.bandwidth)
        text_kernel = np.asarray((tfidf @ tfidf.T).toarray(), dtype=np.float64)
        oof = {params: np.zeros((len(target), len(classes))) for params in grid}
        held = np.concatenate(folds)
        for fold in folds:
            train = np.setdiff1d(np.arange(len(target)), fold)
            for alpha, text_weight in grid:
                kernel = vector_kernel + text_weight * text_kernel
                dual = _solve(
                    kernel[np.ix_(train, train)], target[train], len(classes), alpha / weight[train]
                )
                oof[(alpha, text_weight)][fold] = kernel[np.ix_(fold, train)] @ dual
        accuracy = {p: float(np.mean(s[held].argmax(1) == target[held])) for p, s in oof.items()}
        self.alpha_, self.text_weight_ = max(grid, key=lambda p: (accuracy[p], -grid.index(p)))
        scores = oof[(self.alpha_, self.text_weight_)][held]
        self.cv_accuracy_ = accuracy[(self.alpha_, self.text_weight_)]
        kernel = vector_kernel + self.text_weight_ * text_kernel
        del vector_kernel, text_kernel
        dual = _solve(kernel, target, len(classes), self.alpha_ / weight)
        self.model_ = _KernelRidge(self.bandwidth, self.text_weight_, text).fit(vectors, tfidf, dual)
        self.solver_, self.landmarks_ = "exact", len(target)
        return self._finish(classes, scores, target[held])

    def _fit_exact(
        self, vectors: F32, texts: list[str], target: Ints, weight: F64, classes: list[str]
    ) -> Self:
        """Between `small_data` and `max_exact_rows` rows: fixed `alpha` and `text_weight`, one held-out
        fifth of the rows for calibration, as the small-data path with a single fold and setting, but
        lean on memory. The summed kernel is built once, in place (`_summed_kernel`); the held-out
        fit factors a copy of its training block, and the final fit factors the kernel itself. Peak:
        about 1.7 n x n doubles (1.95 GB at 12,080 rows), where the two kernels, their sum and the
        solver's copies held about five."""
        held = _folds(target, 5, self.seed)[0]
        train = np.setdiff1d(np.arange(len(target)), held)
        self.alpha_, self.text_weight_ = self.alpha, self.text_weight
        text = _TextFeatures()
        tfidf = text.fit_transform(texts)
        kernel = _summed_kernel(vectors, tfidf, self.bandwidth, self.text_weight)
        ridge = self.alpha / weight
        dual = _solve(kernel[np.ix_(train, train)], target[train], len(classes), ridge[train], overwrite=True)
        scores = kernel[np.ix_(held, train)] @ dual
        self.cv_accuracy_ = float(np.mean(scores.argmax(1) == target[held]))
        dual = _solve(kernel, target, len(classes), ridge, overwrite=True)
        del kernel
        self.model_ = _KernelRidge(self.bandwidth, self.text_weight, text).fit(vectors, tfidf, dual)
        self.solver_, self.landmarks_ = "exact", len(target)
        return self._finish(classes, scores, target[held])

    def _fit_nystrom(
        self, vectors: F32, texts: list[str], target: Ints, weight: F64, classes: list[str]
    ) -> Self:
        """The large-data fit (see the module docstring): fixed `alpha` and `text_weight`, one held-out
        fifth of the rows (at most `_MAX_HELD`) for calibration."""
        rng = np.random.default_rng(self.seed)
        held_rows = _folds(target, 5, self.seed)[0]
        if len(held_rows) > _MAX_HELD:
            held_rows = np.sort(rng.choice(held_rows, size=_MAX_HELD, replace=False))
        held = np.zeros(len(target), dtype=bool)
        held[held_rows] = True
        landmarks = _landmarks(target, np.flatnonzero(~held), self.landmarks, rng)
        self.alpha_, self.text_weight_ = self.alpha, self.text_weight
        nystrom = _NystromFit(vectors, texts, self.bandwidth, self.text_weight, landmarks)
        gram, rhs, held_gram, held_rhs, held_kernel = nystrom.sums(target, weight, len(classes), held)
        landmark_kernel = nystrom.landmark_kernel()
        scores = held_kernel.astype(np.float64) @ _solve_nystrom(gram, rhs, landmark_kernel, self.alpha)
        del held_kernel
        gram += held_gram
        rhs += held_rhs
        del held_gram
        dual = _solve_nystrom(gram, rhs, landmark_kernel, self.alpha)
        self.cv_accuracy_ = float(np.mean(scores.argmax(1) == target[held]))
        self.model_ = _KernelRidge(self.bandwidth, self.text_weight, nystrom.text).fit(
            nystrom.landmark_vectors, nystrom.landmark_tfidf, dual
        )
        self.solver_, self.landmarks_ = "nystrom", len(landmarks)
        return self._finish(classes, scores, target[held])

    def _finish(self, classes: list[str], scores: F64, truth: Ints) -> Self:
        """Temperature, per-topic thresholds and the own-example score scale, from held-out `scores`."""
        self.temperature_ = fit_temperature(scores, truth)
        proba = softmax(scores / self.temperature_)
        predicted = proba.argmax(1)
        self.thresholds_ = per_class_thresholds(
            classes,
            predicted,
            proba.max(1),
            predicted == truth,
            self.target_precision,
            self.default_threshold,
        )
        self.classes_ = list(classes)
        # The mean score a topic gets on its own examples: the scale added topics are mapped to.
        self.own_score_ = float(np.mean(scores[np.arange(len(truth)), truth]))
        self.min_score_ = self.min_score
        self.added_: dict[str, tuple[F32, sparse.csr_matrix, float]] = {}
        return self

    def _validate(
        self, X: Sequence[Message], y: Sequence[str] | None, sample_weight: Sequence[float] | None
    ) -> tuple[F32, list[str], Ints, F64, list[str]]:
        if y is None:
            raise ValueError("the topic stage needs topic labels y")
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} messages but y has {len(y)} labels")
        weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if len(weight) != len(y) or np.any(weight < 0) or not np.all(np.isfinite(weight)):
            raise ValueError("sample_weight must have one finite, non-negative weight per message")
        keep = [int(i) for i in np.flatnonzero(weight > 0)]
        classes = sorted({y[i] for i in keep})
        if len(classes) < 2:
            raise TrainingDataError(f"the topic stage needs at least 2 topics with examples, got {classes}")
        index = {c: i for i, c in enumerate(classes)}
        vectors = vectors_of([X[i] for i in keep])
        target = np.array([index[y[i]] for i in keep], dtype=np.intp)
        return vectors, [X[i].text for i in keep], target, weight[keep], classes

    # -- new topics --------------------------------------------------------------------------------

    def add_topic(self, key: str, messages: Sequence[Message]) -> Self:
        """Add (or replace) topic `key` from a few example messages, without refitting the model."""
        self.check_fitted()
        if not messages:
            raise ValueError(f"add_topic({key!r}) needs at least one example message")
        if key in self.classes_:
            raise ValueError(f"topic {key!r} is already known; fit again to change it")
        vectors = vectors_of(messages)
        tfidf = self.model_.text.transform([m.text for m in messages])
        raw = self._prototype_raw(vectors, [m.text for m in messages], vectors, tfidf)
        scale = self.own_score_ / max(float(raw.mean()), 1e-6)
        self.added_[key] = (vectors, tfidf, scale)
        self.thresholds_[key] = self.default_threshold
        return self

    def _prototype_raw(
        self, vectors: F32, texts: Sequence[str], proto_vectors: F32, proto_tfidf: sparse.csr_matrix
    ) -> F64:
        model = self.model_
        raw: F64 = model.vector_kernel(vectors, proto_vectors).mean(axis=1)
        if model.text_weight > 0:
            query = model.text.transform(texts)
            raw += model.text_weight * np.asarray((query @ proto_tfidf.T).mean(axis=1)).ravel()
        return raw

    @property
    def topics_(self) -> list[str]:
        """Every topic the stage can predict: fitted ones, then added ones."""
        return [*self.classes_, *self.added_]

    # -- predict -----------------------------------------------------------------------------------

    def predict_proba(self, batch: Sequence[Message]) -> F64:
        """Calibrated probabilities, one column per topic in `topics_` order."""
        return softmax(self.decision_scores(batch) / self.temperature_)

    def decision_scores(self, batch: Sequence[Message]) -> F64:
        """Raw ridge scores (about 1 for a typical example of a topic, about 0 far from it).

        Large batches are scored 2,048 messages at a time: a message's kernel row against every
        kernel row of the model (up to `max_exact_rows`) is 8 bytes each, twice over."""
        with blas_threads(len(batch), small=64):
            if len(batch) <= _PREDICT_CHUNK:
                return self._scores(batch)
            parts = [
                self._scores(batch[start : start + _PREDICT_CHUNK])
                for start in range(0, len(batch), _PREDICT_CHUNK)
            ]
            return np.vstack(parts)

    def _scores(self, batch: Sequence[Message]) -> F64:
        self.check_fitted()
        if not batch:
            return np.zeros((0, len(self.topics_)))
        vectors = vectors_of(batch)
        texts = [m.text for m in batch]
        scores = self.model_.scores(vectors, texts)
        if self.added_:
            extra = [
                scale * self._prototype_raw(vectors, texts, proto_vectors, proto_tfidf)
                for proto_vectors, proto_tfidf, scale in self.added_.values()
            ]
            scores = np.column_stack([scores, *extra])
        return scores

    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        scores = self.decision_scores(batch)
        proba = softmax(scores / self.temperature_)
        topics = self.topics_
        results: list[StageResult] = []
        for row, top in zip(proba, scores.max(axis=1, initial=-np.inf), strict=True):
            best = int(row.argmax())
            topic, confidence = topics[best], float(min(1.0, max(0.0, row[best])))
            threshold = self.thresholds_.get(topic, self.default_threshold)
            if top < self.min_score_:
                reason = f"far from every known topic (score {top:.2f} < {self.min_score_:.2f})"
                results.append(TopicResult.abstain(reason, confidence=confidence, label=topic))
            elif confidence < threshold:
                reason = f"low confidence {confidence:.2f} < {threshold:.2f} for topic {topic}"
                results.append(TopicResult.abstain(reason, confidence=confidence, label=topic))
            else:
                results.append(TopicResult(label=topic, confidence=confidence))
        return results

    def describe(self) -> dict[str, Any]:
        """What was learnt, for model cards and logs."""
        self.check_fitted()
        return {
            "topics": len(self.topics_),
            "alpha": self.alpha_,
            "text_weight": self.text_weight_,
            "temperature": round(self.temperature_, 4),
            "cv_accuracy": round(self.cv_accuracy_, 4),
            "solver": self.solver_,
            "kernel_rows": self.landmarks_,
            "added": list(self.added_),
        }
