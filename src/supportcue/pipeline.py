"""The sequential pipeline: the registered stages in order, each live, shadow or off.

The message is embedded once; every stage reads the same vector. The pipeline never names a stage:
each stage's typed result says whether it ends the chain (`StageResult.stops`) and how it moves the
chain on (`StageResult.advance`). Two chains run over the stages:

- the **live chain** uses only stages in `live` mode (a stage in `shadow` or `off` is skipped) and
  stops at the first abstention: its result is what the agent sees;
- when any stage is in `shadow`, the **shadow chain** also runs, with live and shadow stages, so the
  suggestion that the shadow stages would have produced is logged and can be compared with what the
  agent sent. Results are memoised, so a stage never runs twice on the same input. It runs after
  the live result is complete, with its own time budget: its time is not the agent's (`latency_ms`
  is the live chain's), and the service runs it after the agent is answered (`finish(shadow=False)`,
  then `finish_shadow`): a stage on trial, an LLM draft say, never makes an agent wait.

A message that follows up an earlier turn ("and how long does that take?") is read together with
the turn it follows up (`followup.py`); the trace says so (`follow_up` on the embed entry).

Modes come from the settings, and a request may override them for itself (`SuggestRequest.modes`)
without touching shared state. A request for a case in an experiment's control arm carries
`holdout`: every live stage then runs in shadow, so the suggestion is computed and stored (its match
rate is measured like the other arm's) but not shown; it is stored with `abstained_at = "holdout"`
and the holdout as its reason. A stage in shadow is off for it: the held-out suggestion is the one
the other arm is shown, not one with a stage on trial (whose agreement counts only shown cases).

A stage that restyles the reply (`Stage.restyles_answer`: the tone) runs only when the chain has
one: with the response stage off or in shadow, the chain ends as that stage's (it did not run), never
as the tone's "no answer text".

An abstention ends a chain, unless it defers (`StageResult.defers`: the library found no answer)
and a later stage of the chain `takes_over` (the LLM draft in `hybrid` mode): the chain then goes on
without a reply, and the abstention is the chain's reason only if no later stage writes one.

A stage that raises, or a pipeline that runs past `timeout_ms`, yields "no suggestion" with the
reason; the caller never sees an error. A stage that declares `blocking_io` runs in a worker thread
with the rest of the pipeline's time budget as its deadline (also handed to it as
`Message.deadline`, `UNWIND_S` earlier, so its network call gives up in time and says why), so a
slow call delays only its own request. Every stage's output, confidence, abstention reason, latency
and model version is recorded in the trace.

`prepare` (embedding and the stages that read only the request, over a whole micro-batch) and
`finish` (one request's chains) are separate steps so that the service can batch the CPU work and
run slow chains concurrently; `suggest_batch` does both.

`compose` makes an answer the agent picked by hand (an alternative of a suggestion, or one found in
the library) a reply the way the chain would: placeholders filled, then the live stages that restyle
an answer (the tone).
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from supportcue.embeddings import Embedder
from supportcue.errors import ModelCannotRun
from supportcue.followup import read_with_thread
from supportcue.mailtext import clean as clean_email
from supportcue.security.redaction import remember_personal
from supportcue.settings import PipelineSettings
from supportcue.stages.base import FailedResult, Message, Outcome, Stage, StageResult, Turn
from supportcue.stages.placeholders import case_values, fill, text_fields
from supportcue.vocab import HOLDOUT, StageMode, SuggestionMode

PROBE_MESSAGE = "How do I change the email address of my account?"
"""The message `Pipeline.check_runs` sends through the live stages once they are loaded."""


@dataclass
class SuggestRequest:
    message: str
    case_id: str | None = None
    customer_name: str | None = None
    agent_name: str | None = None
    context: list[Any] = field(default_factory=list)
    """Earlier turns, oldest first: strings (customer turns) or {"text", "role"?} objects."""
    fields: dict[str, str] = field(default_factory=dict)
    modes: Mapping[str, str] = field(default_factory=dict)
    """Per-request stage modes that override the settings for this request only."""
    arm: str | None = None
    """The case's experiment arm, stored with the suggestion (see `experiments.assign_case`)."""
    holdout: str | None = None
    """Set for an experiment's control arm, saying why: every live stage runs in shadow instead (and a
    stage in shadow is off)."""
    message_id: str | None = None
    """The help desk's id of the message; stored with the suggestion (one per customer message)."""

    def __post_init__(self) -> None:
        # an email's quoted history, signature, footer and HTML are not the customer's question
        # (`mailtext.clean`): the stages, the stored message and an LLM prompt read the new text only
        self.message = clean_email(self.message) if isinstance(self.message, str) else self.message
        # the log records of the request (or batch) at hand redact its customer's name and field
        # values, as `masked_message` does (`security.redaction.personal_scope`)
        remember_personal(
            self.customer_name, self.fields.values() if isinstance(self.fields, Mapping) else ()
        )


def with_case(
    request: SuggestRequest, customer_name: str | None, fields: Mapping[str, Any]
) -> SuggestRequest:
    """`request` completed from its stored case, as the console and `supportcue suggest --case-id`
    read one: the case's customer name when the request gives none, and the case's fields under the
    request's own (a field the request gives wins, key by key; a null value fills nothing). A copy:
    the message is not read (cleaned) again."""
    completed = copy.copy(request)
    completed.customer_name = request.customer_name or customer_name
    completed.fields = {**text_fields(fields), **request.fields}
    remember_personal(completed.customer_name, completed.fields.values())
    return completed


UNWIND_S = 0.05
"""How long before the pipeline stops waiting on a stage that waits on I/O its deadline falls (a tenth
of the time left, when that is less): the time to give up and report."""


def masked_message(request: SuggestRequest) -> str:
    """The request's message as its suggestion stores it (what drift compares): emails, card numbers,
    phone numbers, IBANs, the case's field values (an order id) and the customer's name, given or
    written in the message, replaced by placeholders, as the LLM modes mask a text before it leaves
    the process. The customer's own words stay: they are what a new topic is made of."""
    from supportcue.llm.privacy import Masker

    values = [str(v) for v in request.fields.values() if v]
    return Masker(customer_name=request.customer_name, ids=values).mask(request.message)


def thread_of(context: Sequence[Any]) -> tuple[Turn, ...]:
    """The request's context as conversation turns (a bare string is a customer turn)."""
    turns = []
    for item in context:
        if isinstance(item, Mapping):
            text = clean_email(str(item.get("text") or item.get("content") or "")).strip()
            role = str(item.get("role") or "customer")
        else:
            text, role = clean_email(str(item)).strip(), "customer"
        if text:
            turns.append(Turn(role=role, text=text))
    return tuple(turns)


def shown_trace(trace: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The trace an agent or a help desk is answered: the embedding and the live chain's stages.
    The shadow chain's entries (`chain` shadow: a stage in shadow, the live stages after it that ran
    on its output, an experiment's control arm) stay in the stored trace: what a stage on trial
    decided (a topic, an answer, the toned text) never reaches the agent."""
    return [dict(t) for t in trace if StageMode.SHADOW not in (t.get("mode"), t.get("chain"))]


def worth_reusing(reason: str | None, trace: Sequence[Mapping[str, Any]] | None) -> bool:
    """Whether a stored suggestion is one to give again for its message: False for one that a failing
    or slow live stage stopped (no answer to keep). A stage in shadow that failed changed nothing the
    agent was shown."""
    if (reason or "").startswith("timeout"):
        return False
    return not any((entry.get("extra") or {}).get("error") for entry in shown_trace(trace or []))


@dataclass
class SuggestResult:
    suggestion_id: str
    case_id: str | None
    text: str | None
    topic: str | None
    confidence: float | None
    answer_id: str | None
    abstained_at: str | None
    reason: str | None
    mode: str
    """live: a suggestion is shown; shadow: only the shadow chain produced one; none: no suggestion."""
    trace: list[dict[str, Any]]
    alternatives: list[dict[str, Any]]
    shadow: dict[str, Any]
    latency_ms: float
    model_versions: dict[str, str]
    pipeline_version: str
    arm: str | None = None
    message_id: str | None = None
    message: str | None = None
    """The customer message, personal data masked (`masked_message`): stored, never answered."""

    def public(self) -> dict[str, Any]:
        """The HTTP contract's fields."""
        return {
            "suggestion_id": self.suggestion_id,
            "case_id": self.case_id,
            "message_id": self.message_id,
            "reused": False,
            "text": self.text,
            "topic": self.topic,
            "confidence": self.confidence,
            "answer_id": self.answer_id,
            "abstained_at": self.abstained_at,
            "reason": self.reason,
            "mode": self.mode,
            "alternatives": self.alternatives,
            "trace": shown_trace(self.trace),
            "latency_ms": round(self.latency_ms, 3),
            "arm": self.arm,
        }

    def row(self) -> dict[str, Any]:
        """The store's `suggestions` row."""
        return {
            "id": self.suggestion_id,
            "case_id": self.case_id,
            "message_key": self.message_id,
            "message": self.message,
            "pipeline_version": self.pipeline_version,
            "model_versions": self.model_versions,
            "trace": self.trace,
            "topic": self.topic,
            "confidence": self.confidence,
            "answer_id": self.answer_id,
            "text": self.text,
            "abstained_at": self.abstained_at,
            "reason": self.reason,
            "mode": self.mode,
            "shadow": self.shadow,
            "latency_ms": self.latency_ms,
            "arm": self.arm,
        }


@dataclass(frozen=True)
class Composed:
    """A picked answer as a reply (`Pipeline.compose`), and the placeholders it could not fill."""

    text: str
    missing: tuple[str, ...] = ()


_Memo = dict[tuple[str, tuple[str | None, str | None, str | None]], tuple[StageResult, float]]


@dataclass
class Prepared:
    """One request after the batched step: its message, the memo of batched stages, its timing."""

    request: SuggestRequest
    message: Message
    memo: _Memo
    embed_ms: float
    modes: dict[str, StageMode]


@dataclass
class _Chain:
    outcome: Outcome = field(default_factory=Outcome)
    abstained_at: str | None = None
    reason: str | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str | None:
        return None if self.abstained_at else self.outcome.text


class Pipeline:
    """Chains the stages; build one per process with `Pipeline(...)` or `training.loader.load_pipeline`.

    `stages` maps stage names to stages in the order they run (a None stage is off).
    """

    def __init__(
        self,
        stages: Mapping[str, Stage | None],
        embedder: Embedder,
        settings: PipelineSettings,
        versions: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        max_workers: int = 32,
    ) -> None:
        self.stages = dict(stages)
        self.embedder = embedder
        self.settings = settings
        self.versions = dict(versions or {})
        self.clock = clock
        self.max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = None

    @property
    def version(self) -> str:
        return "+".join(f"{s}:{self.versions.get(s, '-')}" for s in self.stages)

    @property
    def has_blocking_stages(self) -> bool:
        """True when a stage waits on I/O (the service then runs chains concurrently)."""
        return any(s is not None and s.waits_on_io() for s in self.stages.values())

    def modes(self, overrides: Mapping[str, str] | None = None) -> dict[str, StageMode]:
        """Each stage's mode: off without a stage, else the request's override or the settings."""
        out = {}
        for name, stage in self.stages.items():
            mode = (overrides or {}).get(name) or self.settings.mode(name)
            if mode not in tuple(StageMode):
                allowed = ", ".join(StageMode)
                raise ValueError(f"mode of stage {name!r} must be one of {allowed}, got {mode!r}")
            out[name] = StageMode.OFF if stage is None else StageMode(mode)
        return out

    def _request_modes(self, request: SuggestRequest) -> dict[str, StageMode]:
        modes = self.modes(request.modes)
        if request.holdout:  # the other arm's suggestion, unshown: a stage on trial has no part in it
            return {s: StageMode.SHADOW if m == StageMode.LIVE else StageMode.OFF for s, m in modes.items()}
        return modes

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self.embedder.embed(list(texts))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    # -- running ----------------------------------------------------------------------------------
    def suggest(self, request: SuggestRequest) -> SuggestResult:
        return self.suggest_batch([request])[0]

    def check_runs(self) -> None:
        """Run the live chain once on a plain message (stages that wait on I/O, an LLM's, left off);
        `ModelCannotRun` naming the stage and its version when one fails on it. A model pickled by an
        earlier release loaded, and then failed on every message ("error in validation stage:
        AttributeError: 'ValidationStage' object has no attribute 'combiner_'") while the service
        said it was ready."""
        off = {n: StageMode.OFF.value for n, s in self.stages.items() if s is not None and s.waits_on_io()}
        result = self.suggest(SuggestRequest(message=PROBE_MESSAGE, modes=off))
        for entry in result.trace:
            stage, said = str(entry.get("stage")), str(entry.get("reason") or "")
            prefix = f"error in {stage} stage: "
            if said.startswith(prefix):
                version = self.versions.get(stage, "?")
                raise ModelCannotRun(
                    f"{stage} {version} fails on a plain message ({said.removeprefix(prefix)}): a model "
                    f"saved by an earlier release of supportcue? Retrain it and put the new version live "
                    f"(`supportcue train --stage {stage}`, then `supportcue promote {stage} VERSION`), or "
                    f"roll back (`supportcue rollback {stage}`)"
                )

    def suggest_batch(
        self, requests: Sequence[SuggestRequest], vectors: npt.NDArray[np.float32] | None = None
    ) -> list[SuggestResult]:
        """Embed all messages in one batch (unless given), then run the chains per message."""
        return [self.finish(p) for p in self.prepare(requests, vectors)]

    def prepare(
        self, requests: Sequence[SuggestRequest], vectors: npt.NDArray[np.float32] | None = None
    ) -> list[Prepared]:
        """The batched, CPU-bound step: embed every message once, and run the stages that read only
        the request (`reads_upstream = False`) once over the whole batch."""
        start = self.clock()
        threads = [thread_of(r.context) for r in requests]
        texts = [read_with_thread(r.message, t) for r, t in zip(requests, threads, strict=True)]
        if vectors is None:
            vectors = self.embed(texts)
        embed_ms = (self.clock() - start) * 1000 / max(1, len(requests))
        prepared = [
            Prepared(
                request=r,
                message=Message(
                    text=text,
                    vector=v,
                    thread=thread,
                    customer_name=r.customer_name,
                    agent_name=r.agent_name,
                    case_id=r.case_id,
                    fields=r.fields,
                ),
                memo={},
                embed_ms=embed_ms,
                modes=self._request_modes(r),
            )
            for r, v, text, thread in zip(requests, vectors, texts, threads, strict=True)
        ]
        self._batch_request_stages(prepared)
        return prepared

    def _batch_request_stages(self, prepared: list[Prepared]) -> None:
        if len(prepared) < 2:
            return
        for name, stage in self.stages.items():
            if stage is None or stage.reads_upstream or stage.waits_on_io():
                continue
            todo = [p for p in prepared if p.modes[name] != StageMode.OFF]
            if len(todo) < 2:
                continue
            t0 = self.clock()
            try:
                results = stage.predict([p.message for p in todo])
            except Exception:  # fall back to one message at a time, where the error is reported
                continue
            ms = (self.clock() - t0) * 1000 / len(todo)
            for p, result in zip(todo, results, strict=True):
                p.memo[(name, p.message.decided())] = (result, ms)

    def finish(self, prepared: Prepared, shadow: bool = True) -> SuggestResult:
        """One message's live chain, then (unless `shadow` is False: the caller runs `finish_shadow`
        later) its shadow chain; its latency is its share of the batch's embedding plus its own live
        stages."""
        req, base, memo, modes = prepared.request, prepared.message, prepared.memo, prepared.modes
        start = self.clock() - prepared.embed_ms / 1000
        live = self._chain(base, (StageMode.LIVE,), memo, start, modes)
        embed_entry = {
            "stage": "embed",
            "latency_ms": round(prepared.embed_ms, 3),
            "model_version": self.embedder.name,
        }
        if base.thread:
            embed_entry["context_turns"] = len(base.thread)
            if base.text != req.message:
                embed_entry["follow_up"] = True  # read with the earlier turn it follows up
        shown = live.text is not None
        outcome = live.outcome
        if req.holdout and not shown:
            live.abstained_at, live.reason = HOLDOUT, req.holdout
        result = SuggestResult(
            suggestion_id=uuid.uuid4().hex,
            case_id=req.case_id,
            text=live.text,
            topic=outcome.topic,
            confidence=outcome.confidence,
            answer_id=outcome.answer_id if shown else None,
            abstained_at=None if shown else live.abstained_at,
            reason=None if shown else live.reason,
            mode=SuggestionMode.LIVE if shown else SuggestionMode.NONE,
            trace=[embed_entry, *live.entries],
            alternatives=[dict(a) for a in outcome.alternatives] if shown else [],
            shadow={},
            latency_ms=(self.clock() - start) * 1000,
            model_versions={s: self.versions[s] for s in self.stages if s in self.versions},
            pipeline_version=self.version,
            arm=req.arm,
            message_id=req.message_id,
            message=masked_message(req),
        )
        if shadow:
            self.finish_shadow(prepared, result)
        return result

    @staticmethod
    def has_shadow(prepared: Prepared) -> bool:
        """Whether the message has a shadow chain to run (a stage in shadow, or a control arm)."""
        return StageMode.SHADOW in prepared.modes.values()

    def finish_shadow(self, prepared: Prepared, result: SuggestResult) -> None:
        """Run the message's shadow chain and fold it into `result`: its entries in the trace (marked
        `chain: shadow`), `shadow`, and `mode` shadow when only it made a suggestion. Its time budget
        starts now, so a shadow chain run after the agent was answered is not cut short."""
        if not self.has_shadow(prepared):
            return
        modes = prepared.modes
        start = self.clock() - prepared.embed_ms / 1000
        chain = self._chain(prepared.message, (StageMode.LIVE, StageMode.SHADOW), prepared.memo, start, modes)
        seen = {e["stage"] for e in result.trace}
        result.trace += [
            {**e, "chain": StageMode.SHADOW}
            for e in chain.entries
            if e["stage"] not in seen or e["mode"] == StageMode.SHADOW
        ]
        result.shadow = {
            "text": chain.text,
            "topic": chain.outcome.topic,
            "answer_id": chain.outcome.answer_id,
            "abstained_at": chain.abstained_at,
            "stages": [s for s, m in modes.items() if m == StageMode.SHADOW],
        }
        if result.text is None and chain.text:
            result.mode = SuggestionMode.SHADOW

    def compose(self, request: SuggestRequest, answer_id: str, body: str) -> Composed:
        """An answer the agent picked (an alternative, or one found in the library) made into a reply
        as a suggestion would be: its placeholders filled from the case, then restyled by the live
        stages that restyle an answer (`Stage.restyles_answer`: the tone), in order. A stage that
        abstains or fails leaves the text as it was; placeholders with no value stay, named in
        `missing`, for the agent to fill."""
        filled = fill(body, case_values(request.customer_name, request.agent_name, request.fields))
        message = Message(
            text=request.message,
            thread=thread_of(request.context),
            customer_name=request.customer_name,
            agent_name=request.agent_name,
            case_id=request.case_id,
            fields=request.fields,
            answer_id=answer_id,
            answer_text=filled.text,
        )
        outcome = Outcome(answer_id=answer_id, text=filled.text)
        modes = self.modes(request.modes)
        start = self.clock()
        for name, stage in self.stages.items():
            if stage is None or not stage.restyles_answer or modes[name] != StageMode.LIVE:
                continue
            result, _ = self._call(name, stage, message, {}, start)
            if not result.stops():
                message, outcome = result.advance(message, outcome)
        return Composed(outcome.text or filled.text, filled.missing)

    def _call(
        self, name: str, stage: Stage, message: Message, memo: _Memo, start: float
    ) -> tuple[StageResult, float]:
        key = (name, message.decided())
        if key not in memo:
            t0 = self.clock()
            try:
                if stage.waits_on_io():
                    budget = self.settings.timeout_ms / 1000 - (t0 - start)
                    # The stage is told a deadline a little before the pipeline stops waiting, so
                    # one that gives up at it is heard: its reason and its call's cost (the trace's
                    # `llm`, /metrics), not "the stage took over ... ms".
                    told = budget - min(UNWIND_S, max(budget, 0.0) / 10)
                    timed = message.but(deadline=time.monotonic() + told)
                    result = self._with_deadline(name, stage, timed, budget)
                else:
                    result = stage.predict([message])[0]
            except Exception as exc:  # a failing stage must never reach the agent as an error
                result = FailedResult.abstain(f"error in {name} stage: {type(exc).__name__}: {exc}")
            memo[key] = (result, (self.clock() - t0) * 1000)
        return memo[key]

    def _with_deadline(self, name: str, stage: Stage, message: Message, seconds: float) -> StageResult:
        """Run a stage that waits on I/O in a worker thread; give up on it after `seconds`."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.max_workers, thread_name_prefix="stage")
        future = self._executor.submit(stage.predict, [message])
        try:
            return future.result(timeout=max(0.0, seconds))[0]
        except FutureTimeout:
            future.cancel()
            return FailedResult.abstain(f"timeout: the {name} stage took over {self.settings.timeout_ms} ms")

    def _chain(
        self,
        base: Message,
        allowed: tuple[str, ...],
        memo: _Memo,
        start: float,
        modes: Mapping[str, StageMode],
    ) -> _Chain:
        chain = _Chain()
        message = base
        skipped: str | None = None
        deferred: tuple[str, str] | None = None
        for name, stage in self.stages.items():
            mode = modes[name]
            if stage is None:
                continue
            if mode not in allowed:
                skipped = skipped or name
                continue
            if stage.restyles_answer and chain.outcome.text is None:
                continue  # no reply to restyle (the stage that writes one is off or in shadow)
            if (self.clock() - start) * 1000 > self.settings.timeout_ms:
                chain.abstained_at = name
                chain.reason = f"timeout: over {self.settings.timeout_ms} ms before {name}"
                return chain
            result, ms = self._call(name, stage, message, memo, start)
            chain.entries.append(
                {
                    "stage": name,
                    "mode": mode,
                    **result.as_dict(),
                    "latency_ms": round(ms, 3),
                    "model_version": self.versions.get(name),
                }
            )
            if result.stops():
                if result.defers() and self._taken_over_after(name, allowed, modes):
                    deferred = (name, result.reason or f"{name}: {result.label}")
                    continue
                chain.abstained_at = name
                chain.reason = result.reason or f"{name}: {result.label}"
                return chain
            message, chain.outcome = result.advance(message, chain.outcome)
        if chain.outcome.text is None:
            if deferred is not None:
                chain.abstained_at, chain.reason = deferred
                return chain
            chain.abstained_at = skipped or next(reversed(self.stages), "pipeline")
            chain.reason = f"no stage produced a reply (the {chain.abstained_at} stage did not run)"
        return chain

    def _taken_over_after(self, name: str, allowed: tuple[str, ...], modes: Mapping[str, StageMode]) -> bool:
        """True when a later stage of this chain can write the reply instead (`Stage.takes_over`)."""
        names = list(self.stages)
        return any(
            (stage := self.stages[later]) is not None and stage.takes_over and modes[later] in allowed
            for later in names[names.index(name) + 1 :]
        )
