"""The sequential pipeline: validation -> topic -> response -> tone, each live, shadow or off.

The message is embedded once; every stage reads the same vector. Two chains run over the stages:

- the **live chain** uses only stages in `live` mode (a stage in `shadow` or `off` is skipped) and
  stops at the first abstention: its result is what the agent sees;
- when any stage is in `shadow`, the **shadow chain** also runs, with live and shadow stages, so the
  suggestion that the shadow stages would have produced is logged and can be compared with what the
  agent sent. Results are memoised, so a stage never runs twice on the same input.

A stage that raises, or a pipeline that runs past `timeout_ms`, yields "no suggestion" with the
reason; the caller never sees an error. Every stage's output, confidence, abstention reason, latency
and model version is recorded in the trace.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from supportcue.embeddings import Embedder
from supportcue.settings import STAGES, PipelineSettings
from supportcue.stages.base import Message, Stage, StageResult
from supportcue.vocab import StageMode, SuggestionMode


@dataclass
class SuggestRequest:
    message: str
    case_id: str | None = None
    customer_name: str | None = None
    agent_name: str | None = None
    context: list[Any] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)


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

    def public(self) -> dict[str, Any]:
        """The HTTP contract's fields."""
        return {
            "suggestion_id": self.suggestion_id,
            "case_id": self.case_id,
            "text": self.text,
            "topic": self.topic,
            "confidence": self.confidence,
            "answer_id": self.answer_id,
            "abstained_at": self.abstained_at,
            "reason": self.reason,
            "mode": self.mode,
            "alternatives": self.alternatives,
            "trace": self.trace,
            "latency_ms": round(self.latency_ms, 3),
        }

    def row(self) -> dict[str, Any]:
        """The store's `suggestions` row."""
        return {
            "id": self.suggestion_id,
            "case_id": self.case_id,
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
        }


_Memo = dict[tuple[str, str | None, str | None], tuple[StageResult, float]]


@dataclass
class _Chain:
    topic: str | None = None
    answer_id: str | None = None
    answer_text: str | None = None
    text: str | None = None
    confidence: float | None = None
    abstained_at: str | None = None
    reason: str | None = None
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)


class Pipeline:
    """Chains the four stages; build one per process with `Pipeline(...)` or `load_pipeline`."""

    def __init__(
        self,
        stages: Mapping[str, Stage | None],
        embedder: Embedder,
        settings: PipelineSettings,
        versions: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.stages = dict(stages)
        self.embedder = embedder
        self.settings = settings
        self.versions = dict(versions or {})
        self.clock = clock

    @property
    def version(self) -> str:
        return "+".join(f"{s}:{self.versions.get(s, '-')}" for s in STAGES)

    def mode(self, stage: str) -> str:
        if self.stages.get(stage) is None:
            return StageMode.OFF
        return self.settings.mode(stage)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self.embedder.embed(list(texts))

    def suggest(self, request: SuggestRequest) -> SuggestResult:
        return self.suggest_batch([request])[0]

    def suggest_batch(
        self, requests: Sequence[SuggestRequest], vectors: npt.NDArray[np.float32] | None = None
    ) -> list[SuggestResult]:
        """Embed all messages in one batch (unless given), then run the chains per message."""
        start = self.clock()
        if vectors is None:
            vectors = self.embed([r.message for r in requests])
        embed_ms = (self.clock() - start) * 1000 / max(1, len(requests))
        bases = [
            Message(
                text=r.message,
                vector=v,
                customer_name=r.customer_name,
                agent_name=r.agent_name,
                fields=dict(r.fields),
            )
            for r, v in zip(requests, vectors, strict=True)
        ]
        memos = self._batch_first_stages(bases)
        return [self._run(r, b, m, embed_ms) for r, b, m in zip(requests, bases, memos, strict=True)]

    def _batch_first_stages(self, bases: list[Message]) -> list[_Memo]:
        """Validation and topic read only the message, so they run once over the whole batch."""
        memos: list[_Memo] = [{} for _ in bases]
        for name in ("validation", "topic"):
            stage = self.stages.get(name)
            if stage is None or self.mode(name) == StageMode.OFF or len(bases) < 2:
                continue
            t0 = self.clock()
            try:
                results = stage.predict(bases)
            except Exception:  # fall back to one message at a time, where the error is reported
                continue
            ms = (self.clock() - t0) * 1000 / len(bases)
            for memo, result in zip(memos, results, strict=True):
                memo[(name, None, None)] = (result, ms)
        return memos

    def _run(self, req: SuggestRequest, base: Message, memo: _Memo, embed_ms: float) -> SuggestResult:
        """One message's chains; its latency is its share of the batch's embedding plus its own stages."""
        start = self.clock() - embed_ms / 1000
        live = self._chain(base, (StageMode.LIVE,), memo, start)
        has_shadow = any(self.mode(s) == StageMode.SHADOW for s in STAGES)
        shadow_chain = (
            self._chain(base, (StageMode.LIVE, StageMode.SHADOW), memo, start) if has_shadow else None
        )
        trace = [{"stage": "embed", "latency_ms": round(embed_ms, 3), "model_version": self.embedder.name}]
        trace += live.entries
        if shadow_chain is not None:
            seen = {e["stage"] for e in live.entries}
            trace += [
                e for e in shadow_chain.entries if e["stage"] not in seen or e["mode"] == StageMode.SHADOW
            ]
        shown = live.text is not None
        shadow: dict[str, Any] = {}
        if shadow_chain is not None:
            shadow = {
                "text": shadow_chain.text,
                "topic": shadow_chain.topic,
                "answer_id": shadow_chain.answer_id,
                "abstained_at": shadow_chain.abstained_at,
                "stages": [s for s in STAGES if self.mode(s) == StageMode.SHADOW],
            }
        mode = (
            SuggestionMode.LIVE
            if shown
            else (SuggestionMode.SHADOW if shadow.get("text") else SuggestionMode.NONE)
        )
        return SuggestResult(
            suggestion_id=uuid.uuid4().hex,
            case_id=req.case_id,
            text=live.text,
            topic=live.topic,
            confidence=live.confidence,
            answer_id=live.answer_id if shown else None,
            abstained_at=None if shown else (live.abstained_at or "response"),
            reason=None if shown else live.reason,
            mode=mode,
            trace=trace,
            alternatives=live.alternatives if shown else [],
            shadow=shadow,
            latency_ms=(self.clock() - start) * 1000,
            model_versions={s: self.versions[s] for s in STAGES if s in self.versions},
            pipeline_version=self.version,
        )

    def _call(
        self,
        name: str,
        message: Message,
        memo: _Memo,
    ) -> tuple[StageResult, float]:
        key = (name, message.topic, message.answer_text)
        if key not in memo:
            stage = self.stages[name]
            assert stage is not None
            t0 = self.clock()
            try:
                result = stage.predict([message])[0]
            except Exception as exc:  # a failing stage must never reach the agent as an error
                result = StageResult.abstain(
                    f"error in {name} stage: {type(exc).__name__}: {exc}", error=True
                )
            memo[key] = (result, (self.clock() - t0) * 1000)
        return memo[key]

    def _chain(
        self,
        base: Message,
        modes: tuple[str, ...],
        memo: _Memo,
        start: float,
    ) -> _Chain:
        chain = _Chain()
        message = replace(base)
        for name in STAGES:
            mode = self.mode(name)
            if mode not in modes:
                continue
            if (self.clock() - start) * 1000 > self.settings.timeout_ms:
                chain.abstained_at, chain.reason = (
                    name,
                    f"timeout: over {self.settings.timeout_ms} ms before {name}",
                )
                chain.text = None
                return chain
            result, ms = self._call(name, message, memo)
            entry = {
                "stage": name,
                "mode": mode,
                **result.as_dict(),
                "latency_ms": round(ms, 3),
                "model_version": self.versions.get(name),
            }
            chain.entries.append(entry)
            if result.abstained or (name == "validation" and result.label != "valid"):
                chain.abstained_at = name
                chain.reason = result.reason or f"{name}: {result.label}"
                chain.text = None
                return chain
            if name == "topic":
                chain.topic, chain.confidence = result.label, result.confidence
                message.topic = result.label
            elif name == "response":
                chain.answer_id = result.label
                chain.answer_text = chain.text = str(result.extra.get("text") or "")
                chain.alternatives = list(result.extra.get("alternatives") or [])
                message.answer_text = chain.answer_text
            elif name == "tone":
                chain.text = str(result.extra.get("text") or chain.text)
        if chain.answer_id is None:
            chain.abstained_at = chain.abstained_at or "response"
            chain.reason = chain.reason or "no response stage produced an answer"
            chain.text = None
        return chain
