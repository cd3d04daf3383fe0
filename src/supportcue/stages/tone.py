"""Stage 4, tone: apply the workspace's style policy (`[tone]` settings) to the chosen answer.

Steps, in order: drop any greeting/sign-off already in the answer, replace phrases (`replace`), use
contractions, rewrite or drop sentences with avoided phrases, trim to `max_chars` at a sentence
boundary, then add the greeting and sign-off.

Tone never changes facts. Every step is checked by a guard that extracts the facts of the text
(numbers, amounts, percentages, dates, ids, URLs, e-mail addresses, placeholders, product names, and
the count of negations) before and after: a step that loses one is reverted and reported in the
result's `reverted`. Trimming never drops a sentence carrying a fact; when it would have to, the full
text is kept and `over_length` is flagged.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self

from supportcue.monitoring.match import GREETING_LINE, SIGNATURE_LINE, SIGNOFF_LINE
from supportcue.settings import ToneSettings
from supportcue.stages.base import FitData, Message, Outcome, Stage, StageResult

if TYPE_CHECKING:
    from supportcue.settings import Settings
from supportcue.stages.placeholders import PLACEHOLDER

# Expanded form -> contraction. Left out on purpose: "let us" ("let us know"), "I/you/we have"
# ("you've 3 days" reads badly); "it is"/"that is" only mid-sentence (see _contract).
CONTRACTIONS: dict[str, str] = {
    "do not": "don't",
    "does not": "doesn't",
    "did not": "didn't",
    "is not": "isn't",
    "are not": "aren't",
    "was not": "wasn't",
    "were not": "weren't",
    "cannot": "can't",
    "can not": "can't",
    "will not": "won't",
    "would not": "wouldn't",
    "should not": "shouldn't",
    "could not": "couldn't",
    "have not": "haven't",
    "has not": "hasn't",
    "you will": "you'll",
    "we will": "we'll",
    "i will": "I'll",
    "i am": "I'm",
    "it is": "it's",
    "that is": "that's",
    "there is": "there's",
    "you are": "you're",
    "we are": "we're",
    "they are": "they're",
}
# Known rewrites of phrases a policy commonly avoids; other avoided phrases are dropped with their
# sentence when that loses no fact.
AVOID_REWRITES: dict[str, str] = {"as per": "under", "per our policy": "under our policy"}

_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\"']+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGIT_TOKEN = re.compile(r"\S*\d\S*")
_MONTH = re.compile(
    r"\b(?:Jan(?:uary)?|Feb(?:ruary)?|March|April|May|June|July|Aug(?:ust)?|Sep(?:tember)?|Oct(?:ober)?|"
    r"Nov(?:ember)?|Dec(?:ember)?|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)
_NEGATION = re.compile(r"\b(?:not|no|never|cannot|none|nothing|neither|nor|without)\b|n't\b", re.IGNORECASE)
_OPENING = re.compile(r"^\s*(?:hi|hello|hey|dear)\b", re.IGNORECASE)
_EDGE_PUNCT = ".,;:!?)(\"'[]"
_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*(?=\s)|\n")
_NOT_AN_END = re.compile(
    r"(?:^|\s)(?:\d{1,3}|[a-z]|e\.g|i\.e|etc|vs|approx|mr|mrs|ms|dr|no)\.$", re.IGNORECASE
)


def facts(text: str, product_names: Sequence[str] = ()) -> Counter[str]:
    """The facts a tone change must keep: a multiset of literal tokens, plus `<neg>` per negation."""
    found: Counter[str] = Counter()
    rest = text
    for pattern in (PLACEHOLDER, _URL, _EMAIL):
        for match in pattern.finditer(rest):
            found[match.group(0).rstrip(_EDGE_PUNCT)] += 1
        rest = pattern.sub(" ", rest)
    for match in _DIGIT_TOKEN.finditer(rest):
        token = match.group(0).strip(_EDGE_PUNCT)
        if token:
            found[token] += 1
    found.update(m.group(0) for m in _MONTH.finditer(rest))
    for name in product_names:
        if name:
            found[name] += len(re.findall(rf"(?<!\w){re.escape(name)}(?!\w)", text))
    found["<neg>"] = len(_NEGATION.findall(text))
    return +found if found["<neg>"] == 0 else found


def facts_kept(before: str, after: str, product_names: Sequence[str] = (), negations: bool = True) -> bool:
    """True when `after` keeps every fact of `before` (and, with `negations`, as many negations)."""
    old, new = facts(before, product_names), facts(after, product_names)
    if not negations:
        return not (old - new) or set(old - new) == {"<neg>"}
    return not (old - new) and old["<neg>"] == new["<neg>"]


def sentences(text: str) -> list[str]:
    """Split into sentences, each keeping its trailing whitespace, so ''.join() gives the text back."""
    out: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if match.group(0) != "\n" and _NOT_AN_END.search(text[start:end]):
            continue
        while end < len(text) and text[end].isspace():
            end += 1
        if text[start:end].strip():
            out.append(text[start:end])
            start = end
    if start < len(text):
        if out and not text[start:].strip():
            out[-1] += text[start:]
        else:
            out.append(text[start:])
    return out


def _cased(original: str, replacement: str) -> str:
    if original[:1].isupper() and replacement:
        return replacement[0].upper() + replacement[1:]
    return replacement


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"[ \t]+([,.;:!?])", r"\1", text)
    text = re.sub(r"(^|[.!?]\s+|\n)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
    return re.sub(r"^[ \t]+", "", text, flags=re.MULTILINE)


def _replace_phrases(text: str, table: dict[str, str]) -> str:
    for phrase in sorted(table, key=len, reverse=True):
        pattern = re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)", re.IGNORECASE)
        value = table[phrase]
        text = pattern.sub(lambda m: _cased(m.group(0), value), text)  # noqa: B023
    return _tidy(text)


# Only before a following word: "as it is." must stay.
_CONTRACTIBLE = re.compile(
    r"(?<!\w)(?:"
    + "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in sorted(CONTRACTIONS, key=len, reverse=True))
    + r")(?=[ \t]+\w)",
    re.IGNORECASE,
)
_CONTRACTED = re.compile(r"\w(?:n't|'ll|'m|'re|'s)\b")


def _contract(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        original = match.group(0)
        if original.isupper() and len(original) > 2:  # "DO NOT" is emphasis, keep it
            return original
        return _cased(original, CONTRACTIONS[re.sub(r"\s+", " ", original.lower())])

    return _CONTRACTIBLE.sub(one, text)


@dataclass(frozen=True)
class ToneScore:
    """How well a text follows the policy; `overall` is the mean of the five parts, in [0, 1]."""

    length_ratio: float
    contractions_used: int
    contractions_missed: int
    avoided: list[str] = field(default_factory=list)
    greeting_present: bool = False
    signoff_present: bool = False
    overall: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StyledResult(StageResult):
    """The answer in the workspace's voice; `reverted` names guarded steps that were undone."""

    text: str | None = None
    reverted: tuple[str, ...] | None = None
    flags: tuple[str, ...] | None = None

    def advance(self, message: Message, outcome: Outcome) -> tuple[Message, Outcome]:
        if outcome.text is None or self.text is None:  # tone restyles a reply; it never makes one up
            return message, outcome
        return message, Outcome(
            outcome.topic, outcome.confidence, outcome.answer_id, self.text, outcome.alternatives
        )


class ToneStage(Stage):
    """Applies the style policy; never changes facts (see the module docstring)."""

    name = "tone"
    policy = ("settings",)
    fit_data: ClassVar[FitData] = "none"
    restyles_answer = True

    @classmethod
    def params_from(cls, settings: Settings) -> dict[str, Any]:
        return {"settings": settings.tone}

    def __init__(self, settings: ToneSettings | None = None) -> None:
        self.settings = settings

    def fit(
        self,
        X: Sequence[Message] = (),
        y: Sequence[str] | None = None,
        sample_weight: Sequence[float] | None = None,
    ) -> Self:
        """Nothing to learn: records the policy (a copy of the settings) as `policy_`."""
        self.policy_ = (self.settings or ToneSettings()).model_copy(deep=True)
        return self

    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        self.check_fitted()
        return [self._predict_one(m) for m in batch]

    def _predict_one(self, message: Message) -> StageResult:
        if not message.answer_text or not message.answer_text.strip():
            return StyledResult.abstain("no answer text to apply the tone to")
        text, reverted, flags = self.restyle(message.answer_text)
        greeting, signoff = self._greeting(message.customer_name), self._signoff(message.agent_name)
        budget = self.policy_.max_chars - len(greeting) - len(signoff) - 4
        text, over = self._trim(text, budget)
        if over:
            flags.append("over_length")
        final = "\n\n".join(part for part in (greeting, text.strip(), signoff) if part)
        return StyledResult("ok", 1.0, text=final, reverted=tuple(reverted), flags=tuple(flags))

    def restyle(self, text: str) -> tuple[str, list[str], list[str]]:
        """The body after each guarded step; returns (text, reverted step names, flags)."""
        policy = self.policy_
        steps: list[tuple[str, Callable[[str], str]]] = [
            ("salutations", _strip_salutations),
            ("replace", lambda t: _replace_phrases(t, dict(policy.replace))),
        ]
        if policy.contractions:
            steps.append(("contractions", _contract))
        reverted: list[str] = []
        text = text.strip()
        for name, step in steps:
            changed = step(text)
            if changed == text:  # nothing to guard (most steps change nothing in most answers)
                continue
            if facts_kept(text, changed, policy.product_names):
                text = changed
            else:
                reverted.append(name)
        text, flags = self._avoid(text)
        return text, reverted, flags

    def _avoid(self, text: str) -> tuple[str, list[str]]:
        """Rewrite or drop sentences holding avoided phrases, one sentence at a time, fact-guarded."""
        names = self.policy_.product_names
        flags: list[str] = []
        out: list[str] = []
        parts = sentences(text)
        for part in parts:
            for phrase in self.policy_.avoid:
                if not re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", part, re.IGNORECASE):
                    continue
                candidate = _drop_phrase(part, phrase)
                if candidate is not None and facts_kept(part, candidate, names):
                    part = candidate
                elif len(parts) > 1 and facts_kept(part, "", names):
                    part = ""
                    break
                else:
                    flags.append(f"avoided phrase kept: {phrase}")
            out.append(part)
        return _tidy("".join(out)), flags

    def _trim(self, text: str, budget: int) -> tuple[str, bool]:
        if len(text) <= budget:
            return text, False
        parts = sentences(text)
        kept: list[str] = []
        for part in parts:
            if len("".join([*kept, part]).rstrip()) > budget:
                break
            kept.append(part)
        dropped = "".join(parts[len(kept) :])
        # Whole sentences go, so only literal facts (not negations) must survive the cut.
        if not kept or not facts_kept(dropped, "", self.policy_.product_names, negations=False):
            return text, True
        return "".join(kept).rstrip(), False

    def _greeting(self, customer_name: str | None) -> str:
        return _template(self.policy_.greeting, self.policy_.greeting_fallback, customer_name=customer_name)

    def _signoff(self, agent_name: str | None) -> str:
        return _template(self.policy_.signoff, self.policy_.signoff_fallback, agent_name=agent_name)

    def score(self, text: str, customer_name: str | None = None) -> ToneScore:
        """Score any text (e.g. a sent reply) against the policy, for the dashboard's drift view."""
        policy = self.policy_ if self.is_fitted() else (self.settings or ToneSettings())
        lines = [ln for ln in text.splitlines() if ln.strip()]
        greeting = bool(lines) and bool(GREETING_LINE.match(lines[0]) or _OPENING.match(lines[0]))
        signoff = any(SIGNOFF_LINE.match(ln) for ln in lines[-2:])
        ratio = len(text) / policy.max_chars
        used, missed = len(_CONTRACTED.findall(text)), len(_CONTRACTIBLE.findall(text))
        avoided = [p for p in policy.avoid if re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text, re.IGNORECASE)]
        if customer_name and lines and customer_name.split()[0].lower() not in lines[0].lower():
            greeting = False  # a greeting that does not name a known customer is not personal
        parts = [
            1.0 if ratio <= 1.0 else 1.0 / ratio,
            (used / (used + missed) if used + missed else 1.0) if policy.contractions else 1.0,
            1.0 / (1 + len(avoided)),
            float(greeting),
            float(signoff),
        ]
        return ToneScore(round(ratio, 4), used, missed, avoided, greeting, signoff, round(sum(parts) / 5, 4))


def _drop_phrase(sentence: str, phrase: str) -> str | None:
    """The sentence without `phrase` when it is a detachable marker or has a known rewrite."""
    p = re.escape(phrase)
    lead = re.compile(rf"^(\s*){p}\s*,\s*(\w)", re.IGNORECASE)
    if lead.search(sentence):
        return lead.sub(lambda m: m.group(1) + m.group(2).upper(), sentence, count=1)
    inner = re.compile(rf",\s*{p}\s*,", re.IGNORECASE)
    if inner.search(sentence):
        return inner.sub(",", sentence, count=1)
    if phrase.lower() in AVOID_REWRITES:
        pattern = re.compile(rf"(?<!\w){p}(?!\w)", re.IGNORECASE)
        return pattern.sub(lambda m: _cased(m.group(0), AVOID_REWRITES[phrase.lower()]), sentence)
    return None


def _strip_salutations(text: str) -> str:
    """Drop a greeting line and a sign-off (with its signature line) already in the answer."""
    lines = text.strip().splitlines()
    if lines and GREETING_LINE.match(lines[0]):
        lines = lines[1:]
    if len(lines) >= 2 and SIGNOFF_LINE.match(lines[-2]) and SIGNATURE_LINE.match(lines[-1]):
        lines = lines[:-2]
    elif lines and SIGNOFF_LINE.match(lines[-1]):
        lines = lines[:-1]
    return "\n".join(lines).strip()


def _template(template: str, fallback: str, **values: str | None) -> str:
    """`template` filled with the values, or `fallback` when a value it needs is missing."""
    present = {k: v.strip() for k, v in values.items() if v and v.strip()}
    try:
        return template.format_map(present).strip()
    except (KeyError, IndexError, ValueError):
        return fallback.strip()
