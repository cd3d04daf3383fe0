"""Stage 1, validation: is the message an actionable support question ("valid") or not ("invalid")?

Three parts, in order of authority:

1. Rules win over the model. Built-in ones are named in settings (`[validation] rules`): `empty`,
   `greeting_only`, `thanks_only`, `too_short`. Users add their own: a regex (a match makes the
   message invalid) or a function `text -> "valid" | "invalid" | None` (module-level, so the stage can
   be saved).
2. Out-of-scope distance: how close the message's vector is to known valid messages (mean cosine of
   its `k` nearest neighbours, `OutOfScopeScorer`, shared with `supportcue eval oos`). Messages far
   from every known topic are invalid.
3. A classifier on validity labels (logistic regression on the vectors), when `y` holds both values.

With only valid examples (no negatives, e.g. Banking77) the stage uses rules and distance only: the
distance threshold is the `1 - valid_recall` quantile of the valid examples' own (leave-one-out)
scores. The combined probability of "valid" is the classifier's probability times the in-scope
probability; between `0.5 - margin` and `0.5 + margin` the stage abstains.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from supportcue.errors import TrainingDataError
from supportcue.stages.base import Message, Stage, StageResult, vectors_of
from supportcue.stages.calibration import blas_threads

if TYPE_CHECKING:
    from supportcue.settings import Settings

VALID, INVALID = "valid", "invalid"
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


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


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


class ValidationStage(Stage):
    """Rules, out-of-scope distance and (when negatives exist) a validity classifier.

    Parameters
    ----------
    rules: built-in rule names (see `BUILTIN_RULES` and `too_short`).
    custom_rules: regexes (match = invalid) or functions returning "valid", "invalid" or None.
    min_words: `too_short` fires below this many words.
    k: neighbours of the out-of-scope score.
    valid_recall: share of known valid examples the out-of-scope threshold keeps (no-negative case).
    margin: abstain when the probability of "valid" is within `margin` of 0.5.
    """

    name = "validation"
    policy = ("rules", "custom_rules", "valid_recall", "margin")
    label_task = "validity"
    reads_upstream = False

    def __init__(
        self,
        rules: Sequence[str] = ("empty", "greeting_only", "thanks_only", "too_short"),
        custom_rules: Sequence[Rule] = (),
        min_words: int = 2,
        k: int = 5,
        valid_recall: float = 0.98,
        margin: float = 0.15,
    ) -> None:
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
        unknown = [r for r in self.rules if r not in BUILTIN_RULES and r != "too_short"]
        if unknown:
            allowed = [*BUILTIN_RULES, "too_short"]
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
        valid_vectors = vectors[is_valid & (weight > 0)]
        self.scorer_ = OutOfScopeScorer(self.k).fit(valid_vectors)
        rng = np.random.default_rng(0)
        sample = valid_vectors[rng.permutation(len(valid_vectors))[:3000]]
        own = self.scorer_.score(sample, exclude_self=len(valid_vectors) > 1)
        self.own_scores_ = np.sort(own)
        self.oos_scale_ = max(float(np.std(own)), 1e-3) / 2.0
        self.classifier_: LogisticRegression | None = None
        if (~is_valid).any():
            self.classifier_ = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
            self.classifier_.fit(vectors, is_valid.astype(int), sample_weight=weight)
        return self

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
        proba = 1.0 / (1.0 + np.exp(-(score - self.oos_threshold_) / self.oos_scale_))
        if self.classifier_ is not None:
            proba = proba * self.classifier_.predict_proba(vectors)[:, 1]
        return np.asarray(proba, dtype=np.float64)

    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        self.check_fitted()
        results: list[StageResult | None] = []
        pending = []
        for i, message in enumerate(batch):
            fired = self._rule(message.text)
            if fired is None:
                results.append(None)
                pending.append(i)
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
