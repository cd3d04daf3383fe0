"""Stage 3b, draft (the LLM response mode): a reply written by an LLM from the topic's approved
answers and the KB articles closest to the message, shown only when it is grounded in them.

The stage runs when `[response] mode` is `llm` (it drafts every reply) or `hybrid` (it keeps the
library's answer when one qualifies, and drafts only when the library stage abstained: that
abstention defers to this stage, see `StageResult.defers`). It learns nothing. For one message:

1. **Sources** (`llm/sources.py`): the approved answers of the topic and the most similar article
   passages (their vectors come with the article snapshot). None: it abstains.
2. **Privacy** (`llm/privacy.py`): the message, the conversation and the sources are masked; the
   values stay in this process.
3. **One chat completion** with the workspace's `response` template and guidance
   (`llm/prompts.py`), before the pipeline's deadline (`Message.deadline`).
4. **Checks** (`llm/ask.py`, `llm/grounding.py`): a refusal, a failed call, a card number, an
   unknown placeholder, a `{placeholder}` the case cannot fill, or a draft that is not grounded ends
   in an abstention whose reason names the problem (the unsupported facts, ...). The rejected draft
   stays in the trace (`text`, for review; `supportcue purge` removes it like any text) and the
   reason is logged.

The result's trace carries `sources` (ids), `grounding` (the verdict), and `llm` (model, tokens,
latency, attempts). The shown text has no citation markers. The stage's version is its policy's
digest (`llm-...`): a changed prompt or guidance is a new pipeline version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from supportcue.llm.ask import ask
from supportcue.llm.grounding import GroundingCheck, strip_citations
from supportcue.llm.privacy import Masker
from supportcue.llm.prompts import LLMPolicy
from supportcue.llm.sources import Source, answer_sources, article_sources, usable_answers
from supportcue.stages.base import FitData, Message, Outcome, Stage, StageResult, utcnow
from supportcue.stages.library import AnswerLibrary, ArticleIndex, TextVectors
from supportcue.stages.placeholders import case_values, fill

if TYPE_CHECKING:
    from supportcue.embeddings import Embedder
    from supportcue.llm.client import ChatClient
    from supportcue.settings import Settings

log = logging.getLogger("supportcue.llm")

KEPT = "library"
"""The label of a hybrid pass: the library's answer is kept, no call is made."""
GENERATED = "generated"


@dataclass(frozen=True)
class DraftResult(StageResult):
    """A drafted reply (`label` "generated"), or the library's answer kept (`label` "library")."""

    text: str | None = None
    sources: tuple[str, ...] | None = None
    grounding: Mapping[str, Any] | None = None
    llm: Mapping[str, Any] | None = None

    def advance(self, message: Message, outcome: Outcome) -> tuple[Message, Outcome]:
        if self.label != GENERATED or self.text is None:
            return message, outcome
        return message.but(answer_id=None, answer_text=self.text), Outcome(
            outcome.topic, outcome.confidence, None, self.text, ()
        )


class DraftStage(Stage):
    """Drafts grounded replies with an LLM (see the module docstring)."""

    name = "draft"
    services = ("embedder", "library", "articles", "llm", "clock")
    policy = ("mode", "llm_policy", "review_grace_days", "constants")
    fit_data: ClassVar[FitData] = "none"
    blocking_io = True
    takes_over = True

    embedder: Embedder | None
    library: AnswerLibrary | None
    articles: ArticleIndex | None
    llm: ChatClient | None
    clock: Callable[[], datetime]

    def __init__(
        self,
        mode: str = "llm",
        llm_policy: LLMPolicy | None = None,
        review_grace_days: int = 0,
        constants: Mapping[str, str] | None = None,
    ) -> None:
        self.embedder = None
        self.library = None
        self.articles = None
        self.llm = None
        self.clock = utcnow
        self.mode = mode
        self.llm_policy = llm_policy
        self.review_grace_days = review_grace_days
        self.constants = constants

    @classmethod
    def enabled(cls, settings: Settings) -> bool:
        return settings.response.mode != "library"

    @classmethod
    def params_from(cls, settings: Settings) -> dict[str, Any]:
        return {
            "mode": settings.response.mode,
            "llm_policy": LLMPolicy.from_settings(settings),
            "review_grace_days": settings.response.review_grace_days,
            "constants": dict(settings.placeholders),
        }

    def fit(
        self,
        X: Sequence[Message] = (),
        y: Sequence[str] | None = None,
        sample_weight: Sequence[float] | None = None,
    ) -> Self:
        """Nothing to learn: the policy is read from the settings at every load."""
        if self.mode not in ("llm", "hybrid"):
            raise ValueError(f"the draft stage's mode must be llm or hybrid, got {self.mode!r}")
        self.fitted_ = True
        return self

    @property
    def _policy(self) -> LLMPolicy:
        return self.llm_policy or LLMPolicy()

    def policy_version(self) -> str:
        return f"llm-{self._policy.digest}"

    def _checker(self) -> GroundingCheck:
        policy = self._policy
        if self.embedder is None:
            raise ValueError("the draft stage has no embedder: bind one (Services.embedder)")
        key = (id(self.embedder), policy.support_floor, policy.product_names)
        cached: tuple[Any, GroundingCheck] | None = self.__dict__.get("_grounding")
        if cached is None or cached[0] != key:
            cached = (key, GroundingCheck(self.embedder, policy.support_floor, policy.product_names))
            self._grounding = cached
        return cached[1]

    # ---- prediction -----------------------------------------------------------------------------
    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        self.check_fitted()
        return [self._predict_one(m) for m in batch]

    def _predict_one(self, message: Message) -> StageResult:
        if self.mode == "hybrid" and message.answer_text:
            return DraftResult(KEPT, 1.0)
        if self.llm is None:
            return DraftResult.abstain(
                "no LLM client: [llm] settings are needed for the llm and hybrid modes"
            )
        sources = self.sources(message)
        if not sources:
            return DraftResult.abstain(
                f"no sources: no approved answer of topic {message.topic!r} and no article close enough"
            )
        policy = self._policy
        masker = Masker(
            message.customer_name,
            message.fields.values(),
            enabled=policy.privacy,
            seen=[message.text, *(t.text for t in message.thread)],
        )
        thread = "\n".join(f"{t.role}: {masker.mask(t.text)}" for t in message.thread) or "(none)"
        prompt = policy.response.render(
            sources="\n".join(s.line(masker.mask) for s in sources),
            message=masker.mask(message.text),
            thread=thread,
            topic=message.topic or "(none)",
            **policy.guidance(),
        )
        reply = ask(self.llm, prompt, masker, message.deadline)
        ids = tuple(s.id for s in sources)
        if reply.text is None:
            return DraftResult.abstain(reply.problem or "no reply", sources=ids, llm=reply.usage)
        values = self._values(message)
        filled = fill(reply.text, values)
        shown = strip_citations(filled.text)
        if filled.missing:
            reason = f"the draft has placeholders the case cannot fill: {', '.join(filled.missing)}"
            return DraftResult.abstain(reason, text=shown, sources=ids, llm=reply.usage)
        context = "\n".join([message.text, *(t.text for t in message.thread)])
        verdict = self._checker().check(
            filled.text, [(s.id, s.text) for s in sources], context, list(values.values())
        )
        info: dict[str, Any] = {
            "text": shown,
            "sources": ids,
            "grounding": verdict.as_dict(),
            "llm": reply.usage,
        }
        if not verdict.supported:
            log.info("draft for case %s not shown: %s", message.case_id, verdict.reason())
            return DraftResult.abstain(verdict.reason(), **info)
        confidence = 1.0 if verdict.min_support is None else float(np.clip(verdict.min_support, 0.0, 1.0))
        return DraftResult(GENERATED, confidence, **info)

    def sources(self, message: Message) -> list[Source]:
        """The message's sources: the topic's answers and the closest article passages."""
        policy = self._policy
        query = self._query(message)
        if query is None:
            return []
        found: list[Source] = []
        if self.library is not None and message.topic:
            answers = usable_answers(
                self.library.snapshot().answers, message.topic, self.clock(), self.review_grace_days
            )
            cache = self.__dict__.setdefault("_answer_vectors", TextVectors())
            values = self._values(message)
            found += answer_sources(query, answers, self._embedder(), cache, values, policy.max_answers)
        if self.articles is not None and policy.max_articles > 0:
            snapshot = self.articles.snapshot()
            vectors = snapshot.vectors
            if vectors is None:
                cache = self.__dict__.setdefault("_chunk_vectors", TextVectors())
                keyed = [(f"{c.article_id}#{c.n}", c.embed_text) for c in snapshot.chunks]
                vectors = cache.of(keyed, self._embedder())
            found += article_sources(query, snapshot, vectors, policy.max_articles, policy.min_article_score)
        return found

    def _values(self, message: Message) -> dict[str, str]:
        """What fills placeholders: the workspace's constants, then the case's own values."""
        return {
            **(self.constants or {}),
            **case_values(message.customer_name, message.agent_name, message.fields),
        }

    def _embedder(self) -> Embedder:
        if self.embedder is None:
            raise ValueError("the draft stage has no embedder: bind one (Services.embedder)")
        return self.embedder

    def _query(self, message: Message) -> np.ndarray[Any, np.dtype[np.float32]] | None:
        if message.vector is not None:
            return np.asarray(message.vector, dtype=np.float32)
        if self.embedder is not None:
            return np.asarray(self.embedder.embed([message.text])[0], dtype=np.float32)
        return None
