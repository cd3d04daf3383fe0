"""Stage 4, tone: apply the workspace's style policy (`[tone]` settings) to the chosen answer.

Steps, in order: drop any greeting/sign-off already in the answer, replace phrases (`replace`), use
contractions, rewrite or drop sentences with avoided phrases, trim to `max_chars` at a sentence
boundary, then add the greeting (with the customer's first name, or `greeting_fallback` when the name
is unknown) and the sign-off; both templates may use the workspace's `[placeholders]` too.

Tone never changes a fact or a token it does not understand. The rules work on the answer with its
protected spans masked (code-like tokens such as `:risk_score:`, URLs, numbers, amounts, ids, quoted
UI labels, punctuation runs: see `textfacts` and `style`), and edit only what they match. Each step is
then checked by a guard that extracts the facts (`textfacts.facts`) before and after: a step that
loses one is reverted and named in the result's `reverted`; a last check keeps the original body if
the facts of the answer are not all in the result, in order. Trimming never drops a sentence carrying
a fact; when it would have to, the full text is kept and `over_length` is flagged.

Every change made is named in the result's `flags` ("contraction: do not -> don't", "replaced:
utilize -> use", "sentence dropped: unfortunately", "trimmed: 2 sentences", "greeting added", ...),
so an output that differs from the answer always says why.

With `[tone] mode = "llm"` an LLM rewrites the styled body in the team's voice (`llm/rewrite.py`,
`Services.llm`); the rewrite is used only when it passes the same fact guard both ways, else the
rules version stands and the flags say why. A greeting or sign-off the model writes anyway is dropped
(the stage adds the team's). Its call (model, tokens, latency) is in `llm`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Self

from supportcue.monitoring.match import GREETING_LINE, SIGNOFF_LINE
from supportcue.settings import ToneSettings
from supportcue.stages.base import FitData, Message, Outcome, Stage, StageResult
from supportcue.stages.placeholders import case_values
from supportcue.stages.style import (
    CONTRACTED,
    CONTRACTIBLE,
    Masked,
    contract,
    drop_phrase,
    mentions,
    replace_phrase,
    sentences,
    strip_salutations,
)
from supportcue.textfacts import fact_tokens, facts_kept, is_subsequence

if TYPE_CHECKING:
    from supportcue.llm.client import ChatClient
    from supportcue.llm.prompts import LLMPolicy
    from supportcue.settings import Settings

_OPENING = re.compile(r"^\s*(?:hi|hello|hey|dear)\b", re.IGNORECASE)


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
    llm: Mapping[str, Any] | None = None

    def advance(self, message: Message, outcome: Outcome) -> tuple[Message, Outcome]:
        if outcome.text is None or self.text is None:  # tone restyles a reply; it never makes one up
            return message, outcome
        return message, Outcome(
            outcome.topic, outcome.confidence, outcome.answer_id, self.text, outcome.alternatives
        )


class ToneStage(Stage):
    """Applies the style policy; never changes facts (see the module docstring)."""

    name = "tone"
    services = ("llm",)
    policy = ("settings", "placeholders", "llm_policy")
    fit_data: ClassVar[FitData] = "none"
    restyles_answer = True

    llm: ChatClient | None

    @classmethod
    def params_from(cls, settings: Settings) -> dict[str, Any]:
        from supportcue.llm.prompts import LLMPolicy

        llm = LLMPolicy.from_settings(settings) if settings.tone.mode == "llm" else None
        return {"settings": settings.tone, "placeholders": dict(settings.placeholders), "llm_policy": llm}

    def __init__(
        self,
        settings: ToneSettings | None = None,
        placeholders: Mapping[str, str] | None = None,
        llm_policy: LLMPolicy | None = None,
    ) -> None:
        self.llm = None
        self.settings = settings
        self.placeholders = placeholders
        self.llm_policy = llm_policy

    def waits_on_io(self) -> bool:
        """In `llm` mode the stage waits on the LLM server."""
        return self.blocking_io or (self.is_fitted() and self.policy_.mode == "llm" and self.llm is not None)

    def policy_version(self) -> str:
        if self.is_fitted() and self.policy_.mode == "llm" and self.llm_policy is not None:
            return f"llm-{self.llm_policy.digest}"
        return "policy"

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
        usage = None
        if self.waits_on_io():
            text, usage = self._llm_voice(message, text, flags)
        greeting, signoff = self._greeting(message), self._signoff(message)
        budget = self.policy_.max_chars - len(greeting) - len(signoff) - 4
        text, dropped = self._trim(text, budget)
        if dropped:
            flags.append(f"trimmed: {dropped} sentence{'s' * (dropped > 1)}")
        elif dropped is None:
            flags.append("over_length")
        flags += ["greeting added"] * bool(greeting) + ["sign-off added"] * bool(signoff)
        flags = _unchanged_salutations(flags, message.answer_text, greeting, signoff)
        final = "\n\n".join(part for part in (greeting, text.strip(), signoff) if part)
        return StyledResult("ok", 1.0, text=final, reverted=tuple(reverted), flags=tuple(flags), llm=usage)

    def _llm_voice(self, message: Message, text: str, flags: list[str]) -> tuple[str, dict[str, Any]]:
        """The LLM's rewrite of the styled body when it keeps every fact (else the body, with the
        reason in `flags`), and the call's usage."""
        from supportcue.llm.prompts import LLMPolicy
        from supportcue.llm.rewrite import rewrite

        assert self.llm is not None
        done = rewrite(
            self.llm,
            self.llm_policy or LLMPolicy(),
            text,
            message.customer_name,
            message.fields,
            message.deadline,
            tuple(self.policy_.product_names),
            [message.text, *(t.text for t in message.thread)],
        )
        if done.text is None:
            flags.append(f"llm rewrite not used: {done.problem}")
            return text, done.usage
        flags.append("rewritten by the LLM (every fact kept)")
        # A greeting or sign-off the model wrote anyway (the prompt asks for none): the stage adds
        # the team's, so the reply would have two of each.
        body, _ = strip_salutations(done.text, [self.policy_.greeting_fallback])
        names = self.policy_.product_names
        return (body if body and facts_kept(done.text, body, names) else done.text), done.usage

    def restyle(self, text: str) -> tuple[str, list[str], list[str]]:
        """The body after each guarded step; returns (text, reverted step names, flags)."""
        names = self.policy_.product_names
        # The answer's own greeting: a usual one, or the greeting without a name the response stage used.
        body, salutations = strip_salutations(text, [self.policy_.greeting_fallback])
        if not facts_kept(text, body, names):
            body, salutations = text.strip(), []
        masked = Masked.of(body)
        if masked is None:
            return body, [], [*salutations, "not restyled: the answer holds private-use characters"]
        steps: list[tuple[str, Callable[[str], tuple[str, list[str]]]]] = [
            ("replace", partial(replace_phrase, phrase=phrase, value=value))
            for phrase, value in sorted(self.policy_.replace.items(), key=lambda kv: -len(kv[0]))
        ]
        if self.policy_.contractions:
            steps.append(("contractions", contract))
        reverted: list[str] = []
        flags = list(salutations)
        current = masked.text
        for name, step in steps:
            changed, changes = step(current)
            if changed == current:  # nothing to guard (most steps change nothing in most answers)
                continue
            if facts_kept(masked.restore(current), masked.restore(changed), names):
                current, flags = changed, flags + changes
            elif name not in reverted:
                reverted.append(name)
        current, avoided = self._avoid(current, masked)
        styled = masked.restore(current).strip()
        if not is_subsequence(fact_tokens(body, names), fact_tokens(styled, names)):
            return body, [*reverted, "restyle"], salutations  # the last guard: keep the answer's words
        return styled, reverted, flags + avoided

    def _avoid(self, text: str, masked: Masked) -> tuple[str, list[str]]:
        """Rewrite or drop sentences holding avoided phrases, one sentence at a time, fact-guarded."""
        names, restore = self.policy_.product_names, masked.restore
        flags: list[str] = []
        out: list[str] = []
        parts = sentences(text, restore)
        for part in parts:
            for phrase in self.policy_.avoid:
                if not mentions(part, phrase):
                    continue
                dropped = drop_phrase(part, phrase)
                if dropped is not None and facts_kept(restore(part), restore(dropped[0]), names):
                    part = dropped[0]
                    flags.append(dropped[1])
                elif len(parts) > 1 and facts_kept(restore(part), "", names):
                    part = ""
                    flags.append(f"sentence dropped: {phrase}")
                    break
                else:
                    flags.append(f"avoided phrase kept: {phrase}")
            out.append(part)
        return "".join(out), flags

    def _trim(self, text: str, budget: int) -> tuple[str, int | None]:
        """The text cut at a sentence boundary to fit `budget`, and how many sentences went; None
        (and the full text) when only dropping a fact would make it fit."""
        if len(text) <= budget:
            return text, 0
        masked = Masked.of(text)
        if masked is None:
            return text, None
        parts = [masked.restore(p) for p in sentences(masked.text, masked.restore)]
        kept: list[str] = []
        for part in parts:
            if len("".join([*kept, part]).rstrip()) > budget:
                break
            kept.append(part)
        dropped = "".join(parts[len(kept) :])
        # Whole sentences go, so only literal facts (not negations) must survive the cut.
        if not kept or not facts_kept(dropped, "", self.policy_.product_names, negations=False):
            return text, None
        return "".join(kept).rstrip(), len(parts) - len(kept)

    def _values(self, message: Message) -> dict[str, str]:
        """The workspace's constants, overridden by what the case knows (names, fields)."""
        case = case_values(message.customer_name, message.agent_name, message.fields)
        return {**(self.placeholders or {}), **case}

    def _greeting(self, message: Message) -> str:
        return _template(self.policy_.greeting, self.policy_.greeting_fallback, self._values(message))

    def _signoff(self, message: Message) -> str:
        return _template(self.policy_.signoff, self.policy_.signoff_fallback, self._values(message))

    def score(self, text: str, customer_name: str | None = None) -> ToneScore:
        """Score any text (e.g. a sent reply) against the policy, for the dashboard's drift view."""
        policy = self.policy_ if self.is_fitted() else (self.settings or ToneSettings())
        lines = [ln for ln in text.splitlines() if ln.strip()]
        greeting = bool(lines) and bool(GREETING_LINE.match(lines[0]) or _OPENING.match(lines[0]))
        signoff = any(SIGNOFF_LINE.match(ln) for ln in lines[-2:])
        ratio = len(text) / policy.max_chars
        used, missed = len(CONTRACTED.findall(text)), len(CONTRACTIBLE.findall(text))
        avoided = [p for p in policy.avoid if mentions(text, p)]
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


def _template(template: str, fallback: str, values: Mapping[str, str]) -> str:
    """`template` filled with the values, or `fallback` (filled too, if it can be) when a value it
    needs is missing."""
    for text in (template, fallback):
        try:
            return text.format_map(values).strip()
        except (KeyError, IndexError, ValueError, AttributeError):
            continue
    return fallback.strip()


def _unchanged_salutations(flags: list[str], answer: str, greeting: str, signoff: str) -> list[str]:
    """`flags` without a removal and an addition that cancel out: an answer that already opens with
    the greeting the policy adds (or ends with its sign-off) is shown as it was there, so its trace
    names no change ("greeting removed" and "greeting added" said a change nobody could see)."""
    lines = [line.strip() for line in answer.strip().splitlines()]
    closing = [line.strip() for line in signoff.strip().splitlines()]
    same = {
        ("greeting removed", "greeting added"): bool(greeting) and lines[:1] == [greeting.strip()],
        ("sign-off removed", "sign-off added"): bool(closing) and lines[-len(closing) :] == closing,
    }
    unchanged = {flag for pair, cancel in same.items() if cancel and pair[0] in flags for flag in pair}
    return [flag for flag in flags if flag not in unchanged]
