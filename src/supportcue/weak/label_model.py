"""Turn a label matrix into one label per row: snorkel's generative label model, or a majority vote.

Both share one API: `fit(L, class_balance=None) -> self`, `predict_proba(L)`, `predict(L, tie_break)`
and `predict_with_confidence(L, tie_break)`. A row where every LF abstained gets no label (-1) and
confidence 0. `choose_label_model` fits both and keeps the one more accurate on the gold rows; with fewer
than `MIN_LFS_FOR_LABEL_MODEL` functions (snorkel's model cannot be fitted then) it uses the majority vote
and says so in `LabelModelChoice.note`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Self

import numpy as np
import numpy.typing as npt

from supportcue.errors import NotFittedError
from supportcue.weak.apply import ABSTAIN_INDEX, LabelMatrix

TieBreak = Literal["abstain", "random", "first"]
Probs = npt.NDArray[np.float64]
_TIE_TOL = 1e-6
MIN_LFS_FOR_LABEL_MODEL = 3
"""snorkel's label model estimates each function's accuracy from its agreements with the others: it
needs at least three functions (columns of the label matrix)."""


def _check_matrix(L: npt.ArrayLike, cardinality: int | None = None) -> LabelMatrix:
    matrix = np.asarray(L, dtype=np.int64)
    if matrix.ndim != 2:
        raise ValueError(f"a label matrix is 2-d (rows x labeling functions), got shape {matrix.shape}")
    if matrix.size and matrix.min() < ABSTAIN_INDEX:
        raise ValueError(f"label matrix values are label indices or -1 (abstain), got {matrix.min()}")
    if cardinality is not None and matrix.size and matrix.max() >= cardinality:
        raise ValueError(f"label index {matrix.max()} out of range for cardinality {cardinality}")
    return matrix


def _decide(
    probs: Probs, covered: npt.NDArray[np.bool_], tie_break: TieBreak, seed: int
) -> npt.NDArray[np.int64]:
    labels = np.argmax(probs, axis=1).astype(np.int64) if probs.size else np.zeros(0, dtype=np.int64)
    if probs.size:
        tied = (probs >= probs.max(axis=1, keepdims=True) - _TIE_TOL).sum(axis=1) > 1
        if tie_break == "abstain":
            labels[tied] = ABSTAIN_INDEX
        elif tie_break == "random":
            rng = np.random.default_rng(seed)
            for i in np.flatnonzero(tied):
                labels[i] = rng.choice(np.flatnonzero(probs[i] >= probs[i].max() - _TIE_TOL))
        elif tie_break != "first":
            raise ValueError(f"tie_break must be abstain, random or first; got {tie_break!r}")
    labels[~covered] = ABSTAIN_INDEX
    return labels


class _Voter:
    """Shared prediction logic: subclasses implement `fit` and `_proba`."""

    seed: int
    cardinality_: int

    def _proba(self, L: LabelMatrix) -> Probs:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "cardinality_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(L) first")

    def predict_proba(self, L: npt.ArrayLike) -> Probs:
        """Class probabilities per row (rows with no votes get the prior; `predict` gives them -1)."""
        self._check_fitted()
        return self._proba(_check_matrix(L, self.cardinality_))

    def predict(self, L: npt.ArrayLike, tie_break: TieBreak = "abstain") -> npt.NDArray[np.int64]:
        """A label index per row, -1 when every LF abstained (or on a tie with `tie_break="abstain"`)."""
        return self.predict_with_confidence(L, tie_break)[0]

    def predict_with_confidence(
        self, L: npt.ArrayLike, tie_break: TieBreak = "abstain"
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Label indices and their probabilities; confidence 0 where the label is -1."""
        matrix = _check_matrix(L, getattr(self, "cardinality_", None))
        probs = self.predict_proba(matrix)
        labels = _decide(probs, (matrix != ABSTAIN_INDEX).any(axis=1), tie_break, self.seed)
        confidence = np.where(labels >= 0, probs[np.arange(len(labels)), np.maximum(labels, 0)], 0.0)
        return labels, confidence.astype(np.float64)


class MajorityVoter(_Voter):
    """Each non-abstaining LF casts one vote; probabilities are the vote shares."""

    def __init__(self, cardinality: int | None = None, seed: int = 0) -> None:
        self.cardinality = cardinality
        self.seed = seed

    def fit(self, L: npt.ArrayLike, class_balance: Sequence[float] | None = None) -> Self:
        matrix = _check_matrix(L, self.cardinality)
        self.cardinality_ = self.cardinality or int(max(matrix.max(initial=0) + 1, 2))
        prior = np.full(self.cardinality_, 1.0 / self.cardinality_)
        self.class_balance_ = prior if class_balance is None else np.asarray(class_balance, dtype=np.float64)
        return self

    def _proba(self, L: LabelMatrix) -> Probs:
        counts = np.zeros((L.shape[0], self.cardinality_), dtype=np.float64)
        for j in range(L.shape[1]):
            voted = L[:, j] != ABSTAIN_INDEX
            np.add.at(counts, (np.flatnonzero(voted), L[voted, j]), 1.0)
        totals = counts.sum(axis=1, keepdims=True)
        return np.where(totals > 0, counts / np.maximum(totals, 1.0), self.class_balance_)


class LabelModel(_Voter):
    """snorkel's `LabelModel` (a generative model of LF accuracies and correlations), same API."""

    def __init__(
        self,
        cardinality: int | None = None,
        n_epochs: int = 100,
        lr: float = 0.01,
        l2: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.cardinality = cardinality
        self.n_epochs = n_epochs
        self.lr = lr
        self.l2 = l2
        self.seed = seed

    def fit(self, L: npt.ArrayLike, class_balance: Sequence[float] | None = None) -> Self:
        from snorkel.labeling.model import LabelModel as SnorkelLabelModel

        matrix = _check_matrix(L, self.cardinality)
        unfit = majority_only_reason(*matrix.shape)
        if unfit:
            raise ValueError(f"LabelModel cannot be fitted: {unfit.removeprefix('majority vote: ')}")
        self.cardinality_ = self.cardinality or int(max(matrix.max(initial=0) + 1, 2))
        model = SnorkelLabelModel(cardinality=self.cardinality_, verbose=False)
        with warnings.catch_warnings():
            # snorkel's dependencies still call deprecated numpy/torch helpers; they are not ours to fix.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            model.fit(
                matrix,
                class_balance=None if class_balance is None else list(class_balance),
                progress_bar=False,
                n_epochs=self.n_epochs,
                lr=self.lr,
                l2=self.l2,
                seed=self.seed,
            )
        self.model_ = model
        return self

    def _proba(self, L: LabelMatrix) -> Probs:
        if L.shape[0] == 0:
            return np.zeros((0, self.cardinality_))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            probs = np.asarray(self.model_.predict_proba(L), dtype=np.float64)
        return probs


def majority_only_reason(n_rows: int, n_lfs: int) -> str:
    """Why only the majority vote can combine `n_lfs` functions' votes on `n_rows` rows: snorkel's label
    model cannot be fitted on a matrix of that shape ("" when it can)."""
    if n_lfs < MIN_LFS_FOR_LABEL_MODEL:
        functions = "function" if n_lfs == 1 else "functions"
        return (
            f"majority vote: {n_lfs} labeling {functions}, and the label model needs at least "
            f"{MIN_LFS_FOR_LABEL_MODEL}"
        )
    return "" if n_rows else "majority vote: no rows to fit the label model on"


@dataclass
class LabelModelChoice:
    """The better of the two label models on the gold rows, and both scores."""

    model: MajorityVoter | LabelModel
    name: Literal["majority", "label_model"]
    scores: dict[str, float] = field(default_factory=dict)
    """Accuracy on gold rows with at least one vote, ties broken at random (seeded); only the
    models that could be fitted and compared."""
    n_gold_covered: int = 0
    note: str = ""
    """Why the choice was not a comparison on gold, for the person reading the report ("" when it was)."""
    candidates: dict[str, MajorityVoter | LabelModel] = field(default_factory=dict)
    """Every model fitted (the chosen one too), by name: `held_out_accuracy` chooses again on parts of
    the gold."""


def choose_label_model(
    L: npt.ArrayLike,
    gold_idx: Sequence[int] | npt.NDArray[np.int64],
    gold_labels: Sequence[int] | npt.NDArray[np.int64],
    cardinality: int | None = None,
    seed: int = 0,
) -> LabelModelChoice:
    """Fit both models on all of `L` (no gold used in fitting) and keep the more accurate on gold.

    Gold rows where every LF abstained are left out (neither model can label them). Ties go to
    the majority vote, the simpler model, and so does a matrix with fewer than
    `MIN_LFS_FOR_LABEL_MODEL` functions (the label model cannot be fitted) or no row (nothing to fit).
    """
    matrix = _check_matrix(L, cardinality)
    rows = np.asarray(gold_idx, dtype=np.int64)
    gold = np.asarray(gold_labels, dtype=np.int64)
    if rows.shape != gold.shape:
        raise ValueError(f"gold_idx and gold_labels differ in length: {rows.shape[0]} vs {gold.shape[0]}")
    card = cardinality or int(max(matrix.max(initial=0) + 1, gold.max(initial=0) + 1, 2))
    covered = rows[(matrix[rows] != ABSTAIN_INDEX).any(axis=1)] if rows.size else rows
    gold_of = dict(zip(rows.tolist(), gold.tolist(), strict=True))
    truth = np.array([gold_of[int(i)] for i in covered], dtype=np.int64)
    candidates: dict[Literal["majority", "label_model"], MajorityVoter | LabelModel] = {
        "majority": MajorityVoter(card, seed=seed).fit(matrix)
    }
    note = majority_only_reason(*matrix.shape)
    if not note:
        candidates["label_model"] = LabelModel(card, seed=seed).fit(matrix)
        note = "" if covered.size else "majority vote: no human label on a voted case to compare the two on"
    scores: dict[str, float] = {}
    if covered.size:
        for name, model in candidates.items():
            scores[name] = float(np.mean(model.predict(matrix[covered], tie_break="random") == truth))
    best = _pick(scores)
    return LabelModelChoice(
        candidates[best], best, scores, int(covered.size), note, {str(k): v for k, v in candidates.items()}
    )


def _pick(scores: Mapping[str, float]) -> Literal["majority", "label_model"]:
    """The more accurate model; a tie, or no score, goes to the majority vote (the simpler)."""
    return "label_model" if scores.get("label_model", -1.0) > scores.get("majority", 0.0) else "majority"


def cross_fitted_accuracy(
    choose_on: Mapping[str, npt.NDArray[np.int64]],
    score_on: Mapping[str, npt.NDArray[np.int64]],
    truth: npt.NDArray[np.int64],
    first_half: npt.NDArray[np.bool_],
) -> tuple[float | None, int]:
    """Accuracy on gold of a model chosen without the rows it is scored on.

    Per model, `choose_on` holds its labels on the gold rows as the choice reads them (ties broken at
    random, -1 where every function abstained) and `score_on` as they are stored (-1 on a tie too);
    `truth` the gold. The model chosen on one half of the rows (as `choose_label_model` chooses) is
    scored on the other half's rows it labels, and the other way round; the two are pooled. Returns
    the accuracy (None when no row was scored) and the number of rows scored."""
    correct = scored = 0
    for pick_rows in (first_half, ~first_half):
        scores = {}
        for name, labels in choose_on.items():
            covered = pick_rows & (labels != ABSTAIN_INDEX)
            if covered.any():
                scores[name] = float(np.mean(labels[covered] == truth[covered]))
        chosen = score_on[_pick(scores)]
        voted = ~pick_rows & (chosen != ABSTAIN_INDEX)
        correct += int((chosen[voted] == truth[voted]).sum())
        scored += int(voted.sum())
    return (correct / scored if scored else None), scored


def held_out_accuracy(
    choice: LabelModelChoice,
    L: npt.ArrayLike,
    gold_idx: Sequence[int] | npt.NDArray[np.int64],
    gold_labels: Sequence[int] | npt.NDArray[np.int64],
    seed: int = 0,
) -> tuple[float | None, int]:
    """`cross_fitted_accuracy` of `choice`'s candidates on the gold rows split at random (seeded) in
    two halves: the accuracy on gold that was not also used to choose the model. Fewer than two gold
    rows cannot be split: (None, 0)."""
    rows = np.asarray(gold_idx, dtype=np.int64)
    truth = np.asarray(gold_labels, dtype=np.int64)
    if rows.size < 2:
        return None, 0
    matrix = _check_matrix(L)[rows]
    candidates = choice.candidates or {choice.name: choice.model}
    choose_on = {name: model.predict(matrix, tie_break="random") for name, model in candidates.items()}
    score_on = {name: model.predict(matrix, tie_break="abstain") for name, model in candidates.items()}
    first_half = np.zeros(rows.size, dtype=bool)
    first_half[np.random.default_rng(seed).permutation(rows.size)[: rows.size // 2]] = True
    return cross_fitted_accuracy(choose_on, score_on, truth, first_half)
