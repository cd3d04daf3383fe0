"""Stage 1, validation: is the message an actionable support question ("valid") or not ("invalid")?

Three parts, in order of authority:

1. Rules win over the model. Built-in ones are named in settings (`[validation] rules`): `empty`,
   `greeting_only`, `thanks_only`, `too_short` (fewer than two words, of any script; in Chinese,
   Japanese and Thai, written without spaces, each character counts as one), and `other_language`,
   which abstains (no suggestion, the message is not judged invalid) on a message written in
   another language than English (`supportcue.language`: the bundled MiniLM reads English only).
   Users add their own:
   a regex (a match makes the message invalid) or a function `text -> "valid" | "invalid" | None`
   (module-level, so the stage can be saved).
2. Out-of-scope distance: how close the message's vector is to known valid messages (mean cosine of
   its `k` nearest neighbours, `OutOfScopeScorer`, shared with `supportcue eval oos`).
3. A validity classifier (logistic regression on the vectors): valid examples against negatives. The
   negatives are the labeled invalid messages plus the package's built-in non-questions
   (`supportcue.stages.negatives`, embedded with the bound embedder; those that paraphrase a labeled
   valid message are dropped), so the stage has negatives even when the labels hold none.

Distance and classifier are combined by a `ScoreCombiner` (a two-feature logistic regression) fitted
on held-out scores: leave-one-out distances and 5-fold out-of-fold classifier logits, since training
rows' own scores are overfit (a valid example is always close to itself). Every source of negatives
weighs the same as the valid examples together. The decision threshold is the combiner's even odds,
lowered if needed so that at least `valid_recall` of the known valid examples (held-out scores) pass:
a clear question on a topic with few examples is not stopped because it is far from the rest.

With no negatives at all (no invalid label and no embedder bound) the stage uses rules and distance
only: the distance threshold is the `1 - valid_recall` quantile of the valid examples' own
(leave-one-out) scores. Between `0.5 - margin` and `0.5 + margin` of the probability of "valid" the
stage abstains.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import SplineTransformer

from supportcue.errors import TrainingDataError
from supportcue.language import other_language
from supportcue.stages.base import Message, Stage, StageResult, vectors_of
from supportcue.stages.calibration import blas_threads
from supportcue.stages.negatives import BUILTIN_NEGATIVES

if TYPE_CHECKING:
    from supportcue.embeddings import Embedder
    from supportcue.settings import Settings

VALID, INVALID = "valid", "invalid"
OTHER_LANGUAGE = "other_language"
"""The rule that abstains (rather than calling the message invalid) on a message not in English."""
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Rule = Callable[[str], str | None] | str | re.Pattern[str]

_GREETING = re.compile(
    r"^(hi|hello|hey|hiya|howdy|yo|greetings|good (morning|afternoon|evening|day)|dear \w+)"
    r"( (there|all|team|guys|everyone|support))?$"
)
_THANKS = re.compile(
    r"^((ok(ay)?|great|perfect|awesome|cool|got it|sounds good|many|much) )*"
    r"(thanks?( you)?|thx|ty|cheers|much appreciated|appreciated)( (so|very) much| a lot| again)?"
    r"( (for|it|that)( \w+){0,4})?$"
)


_UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f"
"""Scripts written without spaces between words (kana, Han, Thai): each character counts as a word."""
_WORD = re.compile(f"[{_UNSPACED}]|(?:[^\\W_{_UNSPACED}]|')+")


def _words(text: str) -> str:
    """The message's words, lower case, one space apart: letters and digits of any script (and
    apostrophes), each character of a script written without spaces on its own. (Counting a-z and
    digits alone made every Cyrillic, Greek, Arabic, Chinese or Japanese message `too_short`.)"""
    return " ".join(_WORD.findall(text.lower()))


def _empty(text: str) -> bool:
    return not re.search(r"\w", text)


def _greeting_only(text: str) -> bool:
    return bool(_GREETING.match(_words(text)))


def _thanks_only(text: str) -> bool:
    return bool(_THANKS.match(_words(text)))


BUILTIN_RULES: dict[str, Callable[[str], bool]] = {
    "empty": _empty,
    "greeting_only": _greeting_only,
    "thanks_only": _thanks_only,
}


@dataclass(frozen=True)
class ValidityResult(StageResult):
    """`label` is "valid" or "invalid"; an invalid message ends the chain (no suggestion)."""

    def stops(self) -> bool:
        return self.abstained or self.label != VALID


class OutOfScopeScorer:
    """In-scope score of a vector: mean cosine similarity of its `k` nearest known examples."""

    def __init__(self, k: int = 5) -> None:
        self.k = k

    def fit(self, vectors: F32) -> Self:
        if len(vectors) == 0:
            raise TrainingDataError("the out-of-scope scorer needs at least one in-scope example")
        self.vectors_ = np.ascontiguousarray(vectors, dtype=np.float32)
        return self

    def score(self, vectors: F32, exclude_self: bool = False) -> F64:
        """Scores in [-1, 1]; `exclude_self` drops the best match (leave-one-out on training rows)."""
        out = np.empty(len(vectors))
        k = min(self.k, len(self.vectors_) - int(exclude_self)) or 1
        # Rows per chunk: at most 2048, and about 2^24 similarities (64 MB) a chunk whatever the
        # number of known examples (2048 x 200,000 would be 1.6 GB, twice over with the partition).
        step = max(1, min(2048, 2**24 // max(1, len(self.vectors_))))
        for start in range(0, len(vectors), step):
            sims = vectors[start : start + step] @ self.vectors_.T
            top = -np.partition(-sims, k - 1 + int(exclude_self), axis=1)[:, : k + int(exclude_self)]
            top = np.sort(top, axis=1)[:, ::-1][:, int(exclude_self) : k + int(exclude_self)]
            out[start : start + step] = top.mean(axis=1)
        return out


def group_weights(positive: npt.NDArray[np.bool_], groups: Sequence[str]) -> F64:
    """Sample weights giving the positives half the total weight and every group of negatives an
    equal share of the other half: a large source of negatives does not drown a small one."""
    weight = np.zeros(len(positive))
    if positive.any():
        weight[positive] = 0.5 / positive.sum()
    names = sorted({g for g, p in zip(groups, positive, strict=True) if not p})
    for name in names:
        rows = np.array([not p and g == name for g, p in zip(groups, positive, strict=True)])
        weight[rows] = 0.5 / len(names) / rows.sum()
    return weight * len(positive)


class ScoreCombiner:
    """A small logistic regression over a few standardised score features (for example a topic
    confidence, a nearest-neighbour density and a validity classifier's logit), fitted on scores of
    rows the scorers did not train on, so the weights are learnt rather than chosen by hand.

    knots: 0 (the default) for a linear model; otherwise each feature enters through a cubic spline
    with this many knots at its quantiles (an additive model, `SplineTransformer`), held constant
    beyond the fitted rows' range so that an unusual score cannot be extrapolated into a confident
    decision. The scores' effects are not straight lines on the logit scale (a density or a top
    probability matters near its lower end and hardly at all near the top), which `eval oos` gains
    from (BENCHMARKS.md, "Out-of-scope detection that transfers")."""

    knots: int = 0
    spline_: SplineTransformer | None = None
    """Class defaults: a combiner saved (inside a validation stage) before splines existed loads as the
    linear one it is."""

    def __init__(self, C: float = 1.0, knots: int = 0) -> None:
        self.C = C
        self.knots = knots

    def fit(self, features: F64, positive: npt.NDArray[np.bool_], groups: Sequence[str]) -> Self:
        """`positive`: in scope (valid); `groups`: each row's source, negatives weighted per group."""
        if positive.all() or not positive.any():
            raise TrainingDataError("the score combiner needs in-scope and out-of-scope rows")
        self.mean_ = features.mean(axis=0)
        self.scale_ = np.maximum(features.std(axis=0), 1e-6)
        standard = (features - self.mean_) / self.scale_
        self.spline_ = None
        if self.knots:
            self.spline_ = SplineTransformer(
                n_knots=self.knots, degree=3, knots="quantile", extrapolation="constant"
            ).fit(standard)
        self.model_ = LogisticRegression(C=self.C, max_iter=3000 if self.knots else 1000)
        self.model_.fit(self._design(standard), positive.astype(int), group_weights(positive, groups))
        self.range_ = standard.min(axis=0), standard.max(axis=0)
        return self

    def _design(self, standard: F64) -> F64:
        return standard if self.spline_ is None else np.asarray(self.spline_.transform(standard))

    def logit(self, features: F64) -> F64:
        """The fitted log-odds of "in scope"."""
        out: F64 = self.model_.decision_function(self._design((features - self.mean_) / self.scale_))
        return out

    def weights(self) -> list[float]:
        """For reports: the coefficients on the standardised features (linear), or, with splines, how
        far each feature moves the logit across its fitted range (the largest minus the smallest
        value of its term), signed by whether its highest value is more in scope than its lowest."""
        if self.spline_ is None:
            return [round(float(w), 3) for w in self.model_.coef_[0]]
        low, high = self.range_
        effects = []
        for i in range(len(low)):
            grid = np.zeros((50, len(low)))
            grid[:, i] = np.linspace(low[i], high[i], 50)
            term = self.model_.decision_function(self._design(grid))
            effects.append(round(float(np.ptp(term) * (1 if term[-1] >= term[0] else -1)), 3))
        return effects


def recall_threshold(
    scores: F64, groups: Sequence[str], target: float, margin: float = 0.03, min_group: int = 20
) -> float:
    """The lowest score threshold (reject below it) at which every group of negatives has at least
    `target + margin` of its rows rejected. Groups of fewer than `min_group` rows are pooled into one.

    Asking each source of out-of-scope examples to reach the recall on its own, with a margin, rather
    than the best trade-off on one split, is what lets the threshold hold on a new sample."""
    if len(scores) == 0:
        raise TrainingDataError("choosing an out-of-scope threshold needs out-of-scope examples")
    names = list(groups)
    sizes = {g: names.count(g) for g in set(names)}
    pooled = ["<small>" if sizes[g] < min_group else g for g in names]
    goal = min(1.0, target + margin)
    threshold = -np.inf
    for name in sorted(set(pooled)):
        group = np.sort(scores[np.array([g == name for g in pooled])])
        need = int(np.ceil(goal * len(group) - 1e-9))
        if need == 0:
            continue
        # Reject the `need` lowest: halfway between the last rejected and the next kept score.
        upper = group[need] if need < len(group) else group[-1] + 1e-6
        threshold = max(threshold, float((group[need - 1] + upper) / 2))
    return float(threshold)


def balanced_threshold(
    scores: F64, right: npt.NDArray[np.bool_], oos_scores: F64, groups: Sequence[str], min_group: int = 20
) -> float:
    """The score threshold (reject below it) where in-scope accuracy and out-of-scope recall balance.

    `scores`, `right`: in-scope rows and whether their topic is right (a row counts as accurate when
    right and kept); `oos_scores`, `groups`: out-of-scope rows and their sources, recall being that of
    the worst source (groups of fewer than `min_group` rows pooled, as in `recall_threshold`). The
    threshold maximises min(accuracy, recall); among ties, the highest (rejecting more costs nothing
    while no right in-scope row is lost)."""
    if len(oos_scores) == 0 or len(scores) == 0:
        raise TrainingDataError("balancing a threshold needs in-scope and out-of-scope rows")
    values = np.unique(np.r_[scores, oos_scores])
    candidates = np.r_[values[0] - 1e-6, (values[1:] + values[:-1]) / 2, values[-1] + 1e-6]
    kept_right = np.sort(scores[right])
    accuracy = (len(kept_right) - np.searchsorted(kept_right, candidates, side="left")) / len(scores)
    names = list(groups)
    sizes = {g: names.count(g) for g in set(names)}
    pooled = np.array(["<small>" if sizes[g] < min_group else g for g in names])
    recall = np.ones(len(candidates))
    for name in sorted(set(pooled)):
        group = np.sort(oos_scores[pooled == name])
        recall = np.minimum(recall, np.searchsorted(group, candidates, side="left") / len(group))
    balance = np.minimum(accuracy, recall)
    return float(candidates[np.flatnonzero(balance >= balance.max())[-1]])


CLASSIFIER_C = (1.0, 3.0, 10.0)
"""Regularisation tried for the validity classifier (unit-length vectors need weak regularisation)."""


def _classifier(vectors: F32, valid: F64, weight: F64, C: float) -> LogisticRegression:
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=1000)
    with blas_threads(len(vectors), small=20000):  # many small products: one thread is faster
        model.fit(vectors, valid.astype(int), sample_weight=weight)
    return model


def _question_core(text: str) -> str | None:
    """The longest question sentence (3+ words) of a message that holds more than it, else None."""
    questions = [q.strip() for q in re.findall(r"[^.!?\n]*\?", text)]
    questions = [q for q in questions if len(q.split()) >= 3]
    if not questions:
        return None
    core = max(questions, key=len)
    return core if core != text.strip() else None


class ValidationStage(Stage):
    """Rules, out-of-scope distance and (when negatives exist) a validity classifier.

    Parameters
    ----------
    rules: built-in rule names (see `BUILTIN_RULES` and `too_short`).
    custom_rules: regexes (match = invalid) or functions returning "valid", "invalid" or None.
    min_words: `too_short` fires below this many words.
    k: neighbours of the out-of-scope score.
    valid_recall: share of known valid examples (held-out scores) the decision threshold keeps.
    margin: abstain when the probability of "valid" is within `margin` of 0.5.
    builtin_negatives: add the package's built-in non-questions to the negatives (needs an embedder).
    conflict: built-in negatives at least this close (cosine) to a labeled valid message are dropped.
    """

    name = "validation"
    policy = ("rules", "custom_rules", "valid_recall", "margin")
    label_task = "validity"
    reads_upstream = False
    services = ("embedder",)

    def __init__(
        self,
        rules: Sequence[str] = ("empty", "greeting_only", "thanks_only", "too_short", "other_language"),
        custom_rules: Sequence[Rule] = (),
        min_words: int = 2,
        k: int = 5,
        valid_recall: float = 0.98,
        margin: float = 0.15,
        builtin_negatives: bool = True,
        conflict: float = 0.8,
    ) -> None:
        self.builtin_negatives = builtin_negatives
        self.conflict = conflict
        self.embedder: Embedder | None = None
        self.rules = rules
        self.custom_rules = custom_rules
        self.min_words = min_words
        self.k = k
        self.valid_recall = valid_recall
        self.margin = margin

    @classmethod
    def params_from(cls, settings: Settings) -> dict[str, Any]:
        v = settings.validation
        return {
            "rules": list(v.rules),
            "custom_rules": list(v.invalid_patterns),
            "valid_recall": v.valid_recall,
            "margin": v.margin,
        }

    def fit(
        self,
        X: Sequence[Message],
        y: Sequence[str] | None = None,
        sample_weight: Sequence[float] | None = None,
    ) -> Self:
        """Learn from messages labeled "valid"/"invalid" (`y=None`: all valid, distance and rules only)."""
        unknown = [r for r in self.rules if r not in BUILTIN_RULES and r not in ("too_short", OTHER_LANGUAGE)]
        if unknown:
            allowed = [*BUILTIN_RULES, "too_short", OTHER_LANGUAGE]
            raise ValueError(f"unknown validation rules {unknown}; allowed: {allowed}")
        labels = [VALID] * len(X) if y is None else list(y)
        if len(labels) != len(X):
            raise ValueError(f"X has {len(X)} messages but y has {len(labels)} labels")
        bad = sorted({v for v in labels if v not in (VALID, INVALID)})
        if bad:
            raise TrainingDataError(f"validity labels must be 'valid' or 'invalid', got {bad[:5]}")
        weight = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        vectors = vectors_of(X)
        is_valid = np.array([v == VALID for v in labels])
        if not is_valid.any():
            raise TrainingDataError("the validation stage needs valid examples to know what is in scope")
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, key)
        keep = is_valid & (weight > 0)
        valid_vectors = vectors[keep]
        valid_weight = weight[keep]
        cores = self._question_cores([m.text for m, k in zip(X, keep, strict=True) if k], vectors.shape[1])
        if len(cores):
            valid_vectors = np.concatenate([valid_vectors, cores])
            valid_weight = np.r_[valid_weight, np.ones(len(cores))]
        self.n_question_cores_ = len(cores)
        self.scorer_ = OutOfScopeScorer(self.k).fit(valid_vectors)
        rng = np.random.default_rng(0)
        sample = valid_vectors[rng.permutation(len(valid_vectors))[:3000]]
        own = self.scorer_.score(sample, exclude_self=len(valid_vectors) > 1)
        self.own_scores_ = np.sort(own)
        self.oos_scale_ = max(float(np.std(own)), 1e-3) / 2.0
        self.classifier_: LogisticRegression | None = None
        self.combiner_: ScoreCombiner | None = None
        labeled = ~is_valid & (weight > 0)
        builtin = self._builtin_negatives(valid_vectors)
        self.n_builtin_negatives_ = len(builtin)
        if labeled.sum() + len(builtin) >= 2:
            negatives = np.concatenate([vectors[labeled], builtin])
            groups = ["labeled invalid"] * int(labeled.sum()) + ["built-in"] * len(builtin)
            negative_weight = np.r_[weight[labeled], np.ones(len(builtin))]
            self.C_ = self._fit_combined(sample, own, negatives, groups)
            self.classifier_ = _classifier(
                np.concatenate([valid_vectors, negatives]),
                np.r_[np.ones(len(valid_vectors)), np.zeros(len(negatives))],
                np.r_[valid_weight, negative_weight],
                self.C_,
            )
        return self

    def _embed(self, texts: list[str], dim: int) -> F32:
        if not texts or self.embedder is None:
            return np.zeros((0, dim), dtype=np.float32)
        return np.asarray(self.embedder.embed(texts), dtype=np.float32)

    def _question_cores(self, texts: list[str], dim: int) -> F32:
        """Embedded question sentences of valid examples that hold more than the question (a greeting,
        a sign-off, context): "Hi,\n\nhow do I add a user?\n\nThanks, Ana" gives "how do I add a user?".
        Valid messages come with framing far more often than short non-questions do; without these a
        bare clear question looks like a short non-question to the classifier. At most 2,000."""
        cores = [c for c in (_question_core(t) for t in texts) if c is not None]
        cores = sorted(set(cores))
        if len(cores) > 2000:
            cores = [cores[i] for i in sorted(np.random.default_rng(0).permutation(len(cores))[:2000])]
        return self._embed(cores, dim)

    def _builtin_negatives(self, valid_vectors: F32) -> F32:
        """The built-in non-questions, embedded (none when no embedder is bound), without those that
        paraphrase a labeled valid message (cosine >= `conflict`): the desk's own labels win."""
        if not self.builtin_negatives:
            return np.zeros((0, valid_vectors.shape[1]), dtype=np.float32)
        vectors = self._embed(list(BUILTIN_NEGATIVES), valid_vectors.shape[1])
        if len(vectors) == 0:
            return vectors
        nearest = OutOfScopeScorer(k=1).fit(valid_vectors).score(vectors)
        kept: F32 = vectors[nearest < self.conflict]
        return kept

    def _fit_combined(self, sample: F32, own: F64, negatives: F32, groups: list[str]) -> float:
        """Fit the combiner on held-out scores of (a sample of) the valid examples and every negative:
        leave-one-out distances, and classifier logits from 5 folds the classifier did not see. The
        classifier's regularisation is the one of `CLASSIFIER_C` whose held-out logits fit best."""
        vectors = np.concatenate([sample, negatives])
        positive = np.r_[np.ones(len(sample), dtype=bool), np.zeros(len(negatives), dtype=bool)]
        distance = np.r_[own, self.scorer_.score(negatives)]
        folds = np.random.default_rng(1).permutation(len(vectors)) % 5
        best: tuple[float, float, F64] | None = None
        for C in CLASSIFIER_C:
            logits = np.zeros(len(vectors))
            for fold in range(5):
                train = folds != fold
                if positive[train].all() or not positive[train].any():
                    continue
                model = _classifier(
                    vectors[train], positive[train].astype(np.float64), np.ones(int(train.sum())), C
                )
                logits[~train] = model.decision_function(vectors[~train])
            weight = group_weights(positive, ["valid"] * len(sample) + groups)
            signed = np.where(positive, logits, -logits)
            loss = float(np.average(np.logaddexp(0.0, -signed), weights=weight))
            if best is None or loss < best[0]:
                best = (loss, C, logits)
        assert best is not None
        features = np.column_stack([distance, best[2]])
        self.combiner_ = ScoreCombiner().fit(features, positive, ["valid"] * len(sample) + groups)
        self.valid_logits_ = np.sort(self.combiner_.logit(features[positive]))
        return best[1]

    @property
    def decision_logit_(self) -> float:
        """The combiner's log-odds at which a message is called valid: even odds, or lower when that
        would stop more than `1 - valid_recall` of the known valid examples (held-out scores)."""
        return min(0.0, float(np.quantile(self.valid_logits_, 1.0 - self.valid_recall)))

    @property
    def oos_threshold_(self) -> float:
        """The out-of-scope threshold: the `1 - valid_recall` quantile of the known valid examples'
        own scores (computed from the current policy, so a changed `valid_recall` needs no refit)."""
        return float(np.quantile(self.own_scores_, 1.0 - self.valid_recall))

    def _compiled(self) -> list[re.Pattern[str] | Callable[[str], str | None]]:
        """The custom rules, compiled once per rule list (policy may replace the list)."""
        cached = self.__dict__.get("_compiled_rules")
        if cached is None or cached[0] is not self.custom_rules:
            compiled = [re.compile(r) if isinstance(r, str) else r for r in self.custom_rules]
            cached = self.__dict__["_compiled_rules"] = (self.custom_rules, compiled)
        return list(cached[1])

    def _rule(self, text: str) -> tuple[str, str] | None:
        """(label, rule name) of the first rule that fires."""
        for name in self.rules:
            if name == "too_short":
                if len(_words(text).split()) < self.min_words and not _empty(text):
                    return INVALID, name
            elif name == OTHER_LANGUAGE:
                language = other_language(text)
                if language is not None:
                    return OTHER_LANGUAGE, f"{name}: written in {language}; the models read English only"
            elif BUILTIN_RULES[name](text):
                return INVALID, name
        for rule in self._compiled():
            if isinstance(rule, re.Pattern):
                if rule.search(text):
                    return INVALID, f"regex {rule.pattern!r}"
            else:
                decided = rule(text)
                if decided in (VALID, INVALID):
                    return decided, getattr(rule, "__name__", "custom")
        return None

    def predict_proba_valid(self, batch: Sequence[Message]) -> F64:
        """The model's probability of "valid" (rules not applied)."""
        self.check_fitted()
        if not batch:
            return np.zeros(0)
        vectors = vectors_of(batch)
        with blas_threads(len(batch), small=64):
            score = self.scorer_.score(vectors)
        if self.combiner_ is not None and self.classifier_ is not None:
            features = np.column_stack([score, self.classifier_.decision_function(vectors)])
            logit = self.combiner_.logit(features) - self.decision_logit_
        else:
            logit = (score - self.oos_threshold_) / self.oos_scale_
        return np.asarray(1.0 / (1.0 + np.exp(-logit)), dtype=np.float64)

    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        self.check_fitted()
        results: list[StageResult | None] = []
        pending = []
        for i, message in enumerate(batch):
            fired = self._rule(message.text)
            if fired is None:
                results.append(None)
                pending.append(i)
            elif fired[0] == OTHER_LANGUAGE:  # not judged: no suggestion rather than a wrong one
                results.append(ValidityResult.abstain(f"rule {fired[1]}", confidence=1.0))
            else:
                label, name = fired
                results.append(ValidityResult(label=label, confidence=1.0, reason=f"rule {name}"))
        proba = self.predict_proba_valid([batch[i] for i in pending])
        for i, p in zip(pending, proba, strict=True):
            p = float(np.clip(p, 0.0, 1.0))
            if p >= 0.5 + self.margin:
                results[i] = ValidityResult(label=VALID, confidence=p)
            elif p <= 0.5 - self.margin:
                results[i] = ValidityResult(
                    label=INVALID, confidence=1.0 - p, reason=f"out of scope (p_valid {p:.2f})"
                )
            else:
                low, high = 0.5 - self.margin, 0.5 + self.margin
                reason = f"unsure: p_valid {p:.2f} between {low:.2f} and {high:.2f}"
                results[i] = ValidityResult.abstain(
                    reason, confidence=max(p, 1.0 - p), label=VALID if p >= 0.5 else INVALID
                )
        return [r for r in results if r is not None]
