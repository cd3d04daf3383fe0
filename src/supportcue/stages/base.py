"""The stage contract: every stage of the sequential framework behaves like a scikit-learn estimator.

`__init__` only stores settings; `fit(X, y, sample_weight, **routed)` validates, learns, sets
attributes ending in `_` and returns `self`; `predict(batch)` returns one `StageResult` per `Message`
and raises `NotFittedError` before `fit`. Stages save and load with `save(path)` / `Stage.load(path)`.

What flows between stages is immutable:

- a `Message` is the frozen per-request context: the text, the vector the pipeline computed once,
  the conversation's earlier turns, the case's fields (for placeholders), and what earlier stages
  decided (topic, answer). A stage never changes it; the pipeline derives the next stage's message
  from each result (`StageResult.advance`).
- a `StageResult` is a typed, frozen decision. Each stage kind has its own subclass (the validity,
  the topic, the answer with its text and alternatives, the styled text) that says how it moves the
  chain on (`advance`) and whether it stops it (`stops`), so the pipeline never names a stage.

A stage kind declares, as class variables, everything the pipeline, the loader and the trainer need:

- `services`: the injected I/O it uses (embedder, answer library, article index, LLM client, clock).
  They are bound after construction or load (`bind`) and never saved: the artifact holds learned
  state only, so a client's API key can never end up in a model file.
- `policy`: constructor parameters that are workspace policy (a threshold, a rule list). They are
  read from the settings each time the stage is loaded (`apply_policy`), never frozen at training.
- `fit_data` ("labels" of `label_task`, "history" of sent replies, or "none") and `fit_requests`
  (extra inputs `fit` takes by keyword, which the trainer routes to it, like scikit-learn's
  metadata routing).
- `reads_upstream` (False: it reads only the request, so the pipeline may run it once over a whole
  micro-batch) and `blocking_io` (it waits on the network: the pipeline runs it concurrently with a
  deadline, so a slow call delays only its own request, and tells it that deadline in
  `Message.deadline`). A kind whose waiting depends on its policy (tone in `llm` mode) answers
  `waits_on_io()` instead.
- `restyles_answer` (True for the tone): it rewrites the chosen answer's text (`answer_text`) into the
  reply, so it also runs over an answer the agent picks by hand (`Pipeline.compose`).
- `takes_over`: it can write the reply when an earlier stage's abstention defers to it
  (`StageResult.defers`: the library found no answer, the LLM draft may still write one).

`enabled(settings)` says whether the workspace's settings ask for the kind at all (the LLM draft only
runs when `[response] mode` is `llm` or `hybrid`); `policy_version()` is the version a kind that
learns nothing records (its prompt's digest, when it has one).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

import joblib
import numpy as np
import numpy.typing as npt

from supportcue.errors import NotFittedError

if TYPE_CHECKING:
    from supportcue.embeddings import Embedder
    from supportcue.llm.client import ChatClient
    from supportcue.settings import Settings
    from supportcue.stages.library import AnswerLibrary, ArticleIndex

Vector = npt.NDArray[np.float32]
FitData = Literal["labels", "history", "none"]


def utcnow() -> datetime:
    """The default clock (timezone-aware UTC)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Turn:
    """One earlier turn of the conversation: who said it (`customer`, `agent` or a help desk's `bot`)
    and what."""

    role: str
    text: str


def _frozen_fields(values: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True, eq=False)
class Message:
    """One customer message as the stages see it: the request, and what earlier stages decided."""

    text: str
    vector: Vector | None = None
    thread: tuple[Turn, ...] = ()
    """Earlier turns of the conversation, oldest first (the message itself is not among them)."""
    customer_name: str | None = None
    agent_name: str | None = None
    case_id: str | None = None
    fields: Mapping[str, str] = field(default_factory=_frozen_fields)
    """Case fields that can fill answer placeholders, e.g. {"order_id": "A-1"}."""
    topic: str | None = None
    """Decided by a topic stage upstream."""
    answer_id: str | None = None
    answer_text: str | None = None
    """Decided by a response stage upstream."""
    deadline: float | None = None
    """`time.monotonic()` by which the pipeline stops waiting for a `blocking_io` stage (set by the
    pipeline for such a stage; a network call should give up by then)."""

    def __post_init__(self) -> None:
        if not isinstance(self.fields, MappingProxyType):
            object.__setattr__(self, "fields", _frozen_fields(self.fields))
        if not isinstance(self.thread, tuple):
            object.__setattr__(self, "thread", tuple(self.thread))

    def decided(self) -> tuple[str | None, str | None, str | None]:
        """What upstream stages decided: two messages with the same request and decisions give a
        stage the same input (the pipeline memoises on it)."""
        return self.topic, self.answer_id, self.answer_text

    def but(self, **changes: Any) -> Message:
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Outcome:
    """What the chain has decided so far; after the last stage, the suggestion."""

    topic: str | None = None
    confidence: float | None = None
    answer_id: str | None = None
    text: str | None = None
    alternatives: tuple[Mapping[str, Any], ...] = ()


_BASE_FIELDS = ("label", "confidence", "abstained", "reason")


@dataclass(frozen=True)
class StageResult:
    """A stage's decision on one message. `confidence` is calibrated and in [0, 1].

    Subclasses add typed fields and say how the decision moves the chain on; this base class moves
    nothing and stops the chain only when it abstains (which is also what a failing stage returns).
    """

    label: str | None
    confidence: float
    abstained: bool = False
    reason: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0 or self.confidence != self.confidence:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")
        if self.abstained and not self.reason:
            raise ValueError("an abstaining StageResult needs a reason")

    @classmethod
    def abstain(cls, reason: str, confidence: float = 0.0, label: str | None = None, **details: Any) -> Self:
        return cls(label=label, confidence=confidence, abstained=True, reason=reason, **details)

    def stops(self) -> bool:
        """True when the chain ends here without a suggestion."""
        return self.abstained

    def defers(self) -> bool:
        """True when this abstention leaves the reply to a later stage that `takes_over`, if the
        chain has one (a library miss, which the LLM draft may still answer)."""
        return False

    def advance(self, message: Message, outcome: Outcome) -> tuple[Message, Outcome]:
        """The next stage's message and the chain's outcome after this decision."""
        return message, outcome

    def details(self) -> dict[str, Any]:
        """The subclass's own fields that are set (the trace's `extra`)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in _BASE_FIELDS and getattr(self, f.name) is not None
        }

    @property
    def extra(self) -> dict[str, Any]:
        """The typed fields as a dict (read-only view, as recorded in the trace)."""
        return self.details()

    def as_dict(self) -> dict[str, Any]:
        extra = self.details()
        return {
            "label": self.label,
            "confidence": round(float(self.confidence), 6),
            "abstained": self.abstained,
            "reason": self.reason,
            **({"extra": extra} if extra else {}),
        }


@dataclass(frozen=True)
class FailedResult(StageResult):
    """What the pipeline records when a stage raised or ran past its deadline."""

    error: bool = True


@dataclass(frozen=True)
class Services:
    """The injected I/O a stage may declare in `Stage.services`; bound after load, never saved."""

    embedder: Embedder | None = None
    library: AnswerLibrary | None = None
    articles: ArticleIndex | None = None
    llm: ChatClient | None = None
    clock: Callable[[], datetime] = utcnow


class Stage(ABC):
    """Base class of every stage kind (see the module docstring for the class variables)."""

    name: ClassVar[str]
    services: ClassVar[tuple[str, ...]] = ()
    policy: ClassVar[tuple[str, ...]] = ()
    fit_data: ClassVar[FitData] = "labels"
    label_task: ClassVar[str | None] = None
    fit_requests: ClassVar[tuple[str, ...]] = ()
    reads_upstream: ClassVar[bool] = True
    blocking_io: ClassVar[bool] = False
    restyles_answer: ClassVar[bool] = False
    takes_over: ClassVar[bool] = False

    @classmethod
    def enabled(cls, settings: Settings) -> bool:
        """Whether the workspace's settings ask for this kind (all but the optional ones: True)."""
        return True

    def waits_on_io(self) -> bool:
        """Whether this stage waits on the network (`blocking_io`, or what its policy says)."""
        return self.blocking_io

    def policy_version(self) -> str:
        """The version recorded for a kind that learns nothing (`fit_data = "none"`)."""
        return "policy"

    # -- the estimator contract ---------------------------------------------------------------
    @abstractmethod
    def fit(
        self,
        X: Sequence[Message],
        y: Sequence[str] | None = None,
        sample_weight: Sequence[float] | None = None,
    ) -> Self:
        """Learn from messages and labels; refitting forgets what was learnt before."""

    @abstractmethod
    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        """One result per message, in order."""

    @classmethod
    def params_from(cls, settings: Settings) -> dict[str, Any]:
        """Constructor parameters that come from the workspace's settings (none by default)."""
        return {}

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters and their current values (scikit-learn style)."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {n: getattr(self, n) for n in names if hasattr(self, n)}

    def set_params(self, **params: Any) -> Self:
        known = self.get_params()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"{self.name} stage has no parameters {unknown}; known: {sorted(known)}")
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def apply_policy(self, settings: Settings) -> Self:
        """Re-read the policy parameters from the settings (called whenever a stage is loaded)."""
        from_settings = type(self).params_from(settings)
        return self.set_params(**{k: from_settings[k] for k in self.policy if k in from_settings})

    def is_fitted(self) -> bool:
        return any(k.endswith("_") and not k.startswith("_") for k in vars(self))

    def check_fitted(self) -> None:
        if not self.is_fitted():
            raise NotFittedError(f"the {self.name} stage is not fitted: call fit() or load a model version")

    # -- injected I/O -------------------------------------------------------------------------
    def bind(self, services: Services) -> Self:
        """Attach the services this stage declares; nothing else of `services` is kept."""
        for name in self.services:
            setattr(self, name, getattr(services, name))
        return self

    def __getstate__(self) -> dict[str, Any]:
        """What is saved: never a bound service, nor a private cache or lock."""
        return {k: v for k, v in vars(self).items() if k not in self.services and not k.startswith("_")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        unbound = Services()
        for name in self.services:
            self.__dict__.setdefault(name, getattr(unbound, name))

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path)
        return path

    @classmethod
    def load(cls, path: Path) -> Self:
        obj = joblib.load(path)
        if not isinstance(obj, cls):
            raise TypeError(f"{path} holds a {type(obj).__name__}, not a {cls.__name__}")
        return obj


def vectors_of(batch: Sequence[Message]) -> npt.NDArray[np.float32]:
    """Stack the messages' vectors; every message must have been embedded by the pipeline."""
    if not batch:
        return np.zeros((0, 0), dtype=np.float32)
    missing = [i for i, m in enumerate(batch) if m.vector is None]
    if missing:
        raise ValueError(f"messages {missing[:5]} have no vector: embed them before this stage")
    return np.stack([np.asarray(m.vector, dtype=np.float32) for m in batch])
