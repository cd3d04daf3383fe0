"""The pipeline with each stage live, shadow and off; abstentions, errors and timeouts."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Self

import pytest

from supportcue.embeddings import HashingEmbedder
from supportcue.pipeline import Pipeline, SuggestRequest
from supportcue.settings import PipelineSettings
from supportcue.stages.base import Message, Stage, StageResult
from supportcue.stages.response import AnswerResult
from supportcue.stages.tone import StyledResult
from supportcue.stages.topic import TopicResult
from supportcue.stages.validation import ValidityResult

STAGES = ("validation", "topic", "response", "tone")
"""The fake pipeline's stages."""


class FakeValidation(Stage):
    name = "validation"

    def fit(self, X: Sequence[Message], y: Sequence[str] | None = None, sample_weight: object = None) -> Self:
        self.fitted_ = True
        return self

    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        return [
            ValidityResult("invalid", 0.9)
            if m.text.lower().strip() in {"hi", "thanks"}
            else ValidityResult("valid", 0.95)
            for m in batch
        ]


class FakeTopic(Stage):
    name = "topic"

    def fit(self, X: Sequence[Message], y: Sequence[str] | None = None, sample_weight: object = None) -> Self:
        self.fitted_ = True
        return self

    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        out = []
        for m in batch:
            if "payout" in m.text:
                out.append(TopicResult("payouts", 0.9))
            elif "boom" in m.text:
                raise RuntimeError("model exploded")
            else:
                out.append(TopicResult.abstain("low confidence 0.20 < 0.50", confidence=0.2, label="refunds"))
        return out


class FakeResponse(Stage):
    name = "response"

    def fit(self, X: Sequence[Message], y: Sequence[str] | None = None, sample_weight: object = None) -> Self:
        self.fitted_ = True
        return self

    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        return [
            AnswerResult("a1", 0.8, text="You can pause payouts in Settings.", alternatives=())
            if m.topic == "payouts" and "rare" not in m.text
            else AnswerResult.abstain("no answer qualifies")
            for m in batch
        ]


class FakeTone(Stage):
    name = "tone"
    restyles_answer = True

    def fit(self, X: Sequence[Message], y: Sequence[str] | None = None, sample_weight: object = None) -> Self:
        self.fitted_ = True
        return self

    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        # like the real tone, it abstains with no answer to restyle
        return [
            StyledResult("ok", 1.0, text=f"Hi {m.customer_name},\n{m.answer_text}")
            if m.answer_text
            else StyledResult.abstain("no answer text to apply the tone to")
            for m in batch
        ]


def make(**modes: str) -> Pipeline:
    stages = {
        "validation": FakeValidation().fit([]),
        "topic": FakeTopic().fit([]),
        "response": FakeResponse().fit([]),
        "tone": FakeTone().fit([]),
    }
    return Pipeline(stages, HashingEmbedder(dim=64), PipelineSettings(**modes), {"topic": "v3"})


ASK = SuggestRequest(message="how do I pause a payout", customer_name="Ana", case_id="c1")


def test_all_live_gives_a_toned_suggestion_with_a_full_trace() -> None:
    result = make().suggest(ASK)
    assert result.mode == "live" and result.text == "Hi Ana,\nYou can pause payouts in Settings."
    assert (result.topic, result.answer_id, result.abstained_at) == ("payouts", "a1", None)
    assert [t["stage"] for t in result.trace] == ["embed", *STAGES]
    topic = result.trace[2]
    assert topic["model_version"] == "v3" and topic["confidence"] == 0.9 and topic["latency_ms"] >= 0
    assert result.row()["trace"] == result.trace


@pytest.mark.parametrize(("stage", "mode"), list(itertools.product(STAGES, ("live", "shadow", "off"))))
def test_each_stage_in_each_mode(stage: str, mode: str) -> None:
    result = make(**{stage: mode}).suggest(ASK)
    live_stages = [t["stage"] for t in result.trace if t.get("mode") == "live"]
    shadow_stages = [t["stage"] for t in result.trace if t.get("mode") == "shadow"]
    if mode == "live":
        assert result.text == "Hi Ana,\nYou can pause payouts in Settings." and not result.shadow
        return
    assert stage not in live_stages
    assert shadow_stages == ([stage] if mode == "shadow" else [])
    if stage in ("topic", "response"):
        # without a live topic or answer there is nothing to show
        assert result.text is None and result.abstained_at == "response"
    elif stage == "tone":
        assert result.text == "You can pause payouts in Settings."  # the untoned answer
    else:
        assert result.text is not None
    if mode == "shadow":
        # the shadow chain says what the pipeline would have shown with the stage switched on
        assert result.shadow["text"] == "Hi Ana,\nYou can pause payouts in Settings."
        assert result.shadow["stages"] == [stage]
        if result.text is None:
            assert result.mode == "shadow"


def test_validation_rejects_chit_chat() -> None:
    result = make().suggest(SuggestRequest(message="thanks"))
    assert result.text is None and result.abstained_at == "validation" and result.mode == "none"
    assert [t["stage"] for t in result.trace] == ["embed", "validation"]


def test_topic_abstention_stops_the_chain_with_its_reason() -> None:
    result = make().suggest(SuggestRequest(message="where is my money"))
    assert result.abstained_at == "topic" and result.reason == "low confidence 0.20 < 0.50"
    assert result.text is None and result.answer_id is None


def test_a_failing_stage_gives_no_suggestion_not_an_error() -> None:
    result = make().suggest(SuggestRequest(message="boom"))
    assert result.text is None and result.abstained_at == "topic"
    assert result.reason is not None and "RuntimeError: model exploded" in result.reason


def test_timeout_gives_no_suggestion() -> None:
    ticks = itertools.count(0.0, 1.0)  # every clock reading is one second later
    pipeline = make(timeout_ms=1500)
    pipeline.clock = lambda: next(ticks)
    result = pipeline.suggest(ASK)
    assert result.text is None and result.reason is not None and result.reason.startswith("timeout")


def test_batch_embeds_once_and_keeps_order() -> None:
    pipeline = make()
    calls: list[int] = []
    embed = pipeline.embedder.embed
    pipeline.embedder.embed = lambda texts: calls.append(len(texts)) or embed(texts)  # type: ignore[method-assign]
    results = pipeline.suggest_batch([ASK, SuggestRequest(message="hi"), ASK])
    assert calls == [3]
    assert [r.mode for r in results] == ["live", "none", "live"]
    assert len({r.suggestion_id for r in results}) == 3


def test_missing_stage_is_off() -> None:
    pipeline = make()
    pipeline.stages["validation"] = None
    result = pipeline.suggest(SuggestRequest(message="hi payout"))
    assert result.text is not None and "validation" not in [t["stage"] for t in result.trace]


def test_the_requests_thread_reaches_the_stages() -> None:
    seen: list[Message] = []
    pipeline = make()
    topic = pipeline.stages["topic"]
    assert topic is not None
    predict = topic.predict
    topic.predict = lambda batch: seen.extend(batch) or predict(batch)  # type: ignore[method-assign]
    context = ["my payouts stopped", {"role": "agent", "text": "Which account?"}, {"text": "  "}]
    result = pipeline.suggest(SuggestRequest(message="how do I pause a payout", context=context))
    assert [(t.role, t.text) for t in seen[0].thread] == [
        ("customer", "my payouts stopped"),
        ("agent", "Which account?"),
    ]
    assert result.trace[0]["context_turns"] == 2


def test_a_holdout_runs_every_live_stage_in_shadow_and_shows_nothing() -> None:
    from dataclasses import replace

    shown = make(tone="off").suggest(ASK)
    held = make(tone="off").suggest(replace(ASK, arm="control", holdout="experiment 'h': control arm"))
    assert (held.text, held.mode, held.abstained_at) == (None, "shadow", "holdout")
    assert held.reason == "experiment 'h': control arm" and held.arm == "control"
    # what it would have shown is computed and kept, and an `off` stage stays off
    assert held.shadow["text"] == shown.text and held.shadow["answer_id"] == "a1"
    assert held.shadow["stages"] == ["validation", "topic", "response"]
    assert {t["stage"] for t in held.trace} == {"embed", "validation", "topic", "response"}
    assert held.row()["arm"] == "control" and held.public()["arm"] == "control"
    assert shown.arm is None and shown.row()["arm"] is None


class BrokenTone(FakeTone):
    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        raise RuntimeError("tone exploded")


def test_compose_makes_a_picked_answer_a_reply_as_the_live_chain_would() -> None:
    request = SuggestRequest(message="", customer_name="Ana Lima", fields={"Order ID": "A-1"})
    body = "Order {order_id} is paused, {first_name}; see {help_url}."
    composed = make().compose(request, "a9", body)
    assert composed.text == "Hi Ana Lima,\nOrder A-1 is paused, Ana; see {help_url}."
    assert composed.missing == ("help_url",)
    for modes in ({"tone": "off"}, {"tone": "shadow"}):  # only live stages restyle it
        assert make(**modes).compose(request, "a9", body).text == "Order A-1 is paused, Ana; see {help_url}."
    broken = make()
    broken.stages["tone"] = BrokenTone().fit([])
    assert broken.compose(request, "a9", body).text == "Order A-1 is paused, Ana; see {help_url}."
    assert not make().stages["topic"].restyles_answer  # the other stages never run on it


# -- a library miss deferred to a stage that takes over (the hybrid mode) ----------------------------
class FakeDraft(Stage):
    """Writes a reply when none was decided (like the LLM draft in hybrid mode); waits on I/O."""

    name = "draft"
    takes_over = True
    blocking_io = True

    def fit(self, X: Sequence[Message], y: Sequence[str] | None = None, sample_weight: object = None) -> Self:
        self.fitted_ = True
        self.seen: list[Message] = []
        return self

    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        self.seen.extend(batch)
        return [
            StageResult("kept", 1.0)
            if m.answer_text
            else AnswerResult.abstain("draft not grounded")
            if "unknowable" in m.text
            else AnswerResult("generated", 0.7, text="A drafted reply.")
            for m in batch
        ]


def with_draft(**modes: str) -> Pipeline:
    pipeline = make(**modes)
    stages = dict(pipeline.stages)
    pipeline.stages = {**{k: v for k, v in stages.items() if k != "tone"}, "draft": FakeDraft().fit([])}
    pipeline.stages["tone"] = stages["tone"]
    return pipeline


RARE = SuggestRequest(message="a rare payout question", customer_name="Ana")


def test_a_library_miss_is_taken_over_by_a_later_stage() -> None:
    result = with_draft().suggest(RARE)
    assert result.text == "Hi Ana,\nA drafted reply." and result.abstained_at is None
    response = next(t for t in result.trace if t["stage"] == "response")
    assert response["abstained"] and response["reason"] == "no answer qualifies"
    assert [t["stage"] for t in result.trace] == ["embed", "validation", "topic", "response", "draft", "tone"]


def test_a_library_answer_is_kept_and_the_deferring_stage_adds_nothing() -> None:
    result = with_draft().suggest(ASK)
    assert result.text == "Hi Ana,\nYou can pause payouts in Settings." and result.answer_id == "a1"


def test_without_a_stage_to_take_over_the_library_miss_ends_the_chain() -> None:
    pipeline = with_draft(draft="off")
    result = pipeline.suggest(RARE)
    assert result.text is None and result.abstained_at == "response"
    assert result.reason == "no answer qualifies"
    assert "tone" not in [t["stage"] for t in result.trace]


def test_a_shadow_draft_shows_what_it_would_have_written() -> None:
    result = with_draft(draft="shadow").suggest(RARE)
    assert result.text is None and result.abstained_at == "response" and result.mode == "shadow"
    assert result.shadow["text"] == "Hi Ana,\nA drafted reply." and result.shadow["stages"] == ["draft"]


def test_when_the_stage_that_took_over_abstains_its_reason_stands() -> None:
    result = with_draft().suggest(SuggestRequest(message="a rare payout question nobody knows: unknowable"))
    assert result.text is None and result.abstained_at == "draft" and result.reason == "draft not grounded"


def test_a_stage_that_waits_on_io_is_told_its_deadline() -> None:
    import time

    pipeline = with_draft(timeout_ms=1500)
    before = time.monotonic()
    pipeline.suggest(RARE)
    draft = pipeline.stages["draft"]
    assert isinstance(draft, FakeDraft) and draft.seen
    deadline = draft.seen[0].deadline
    assert deadline is not None and before < deadline <= time.monotonic() + 1.5
    pipeline.close()


class PunctualDraft(FakeDraft):
    """Waits on a call that never answers, gives up at the deadline it is told (as the LLM client
    does, a few milliseconds to unwind after it), and reports what the call cost."""

    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        import time

        out: list[StageResult] = []
        for m in batch:
            assert m.deadline is not None
            time.sleep(max(0.0, m.deadline - time.monotonic()) + 0.01)
            out.append(AnswerResult.abstain("llm: timeout after 1 attempt"))
        return out


def test_a_stage_that_gives_up_at_its_deadline_reports_why_not_the_pipeline_timeout() -> None:
    """The stage was told the pipeline's own deadline, so the pipeline stopped waiting the moment the
    stage gave up: its reason and its call (the LLM usage the trace and /metrics count) were lost
    for "timeout: the draft stage took over ... ms", one time in three with a real slow server."""
    pipeline = with_draft(timeout_ms=400)
    pipeline.stages["draft"] = PunctualDraft().fit([])
    for _ in range(3):
        result = pipeline.suggest(RARE)
        assert result.abstained_at == "draft" and result.reason == "llm: timeout after 1 attempt", (
            result.reason
        )
    pipeline.close()


def test_an_emails_quoted_history_is_not_read_or_stored() -> None:
    """An email reply quotes the previous exchange: the quoted answer (about payouts) must not make a
    question about something else a payout question, and the quoted names and addresses are not stored."""
    email = (
        "How do I export my invoices?\n\nOn Mon, 3 Nov 2026 at 10:02, Sam Support <sam@help.example> wrote:\n"
        "> Hi Ana,\n> You can pause a payout in Settings.\n> Best, Sam"
    )
    result = make().suggest(SuggestRequest(message=email, customer_name="Ana"))
    assert result.topic is None and result.text is None
    assert result.message == "How do I export my invoices?"
    html = "<div>how do I pause a payout?<br></div><blockquote>older, from sam@help.example</blockquote>"
    result = make().suggest(SuggestRequest(message=html))
    assert result.topic == "payouts" and result.message == "how do I pause a payout?"
