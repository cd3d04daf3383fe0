"""Follow-ups are read with the turn they follow up: the rules, and a real topic stage that needs them."""

from __future__ import annotations

import pytest

from supportcue.embeddings import HashingEmbedder
from supportcue.followup import is_follow_up, read_with_thread
from supportcue.pipeline import Pipeline, SuggestRequest
from supportcue.settings import PipelineSettings
from supportcue.stages.base import Message, Turn
from supportcue.stages.topic import TopicStage
from tests.examples import TOPIC_EXAMPLES


@pytest.mark.parametrize(
    ("text", "follow_up"),
    [
        ("and how long does that take?", True),
        ("What about the fee?", True),
        ("Is it free?", True),
        ("so when will they arrive?", True),
        ("How do I pause my payouts?", False),  # a new question: refers to nothing earlier
        ("thanks for that", False),  # asks nothing
        ("and how long does that take", False),  # no question mark: not read as a question
        ("and " + "very " * 12 + "long?", False),  # too long to be a bare follow-up
        ("", False),
    ],
)
def test_what_is_a_follow_up(text: str, follow_up: bool) -> None:
    assert is_follow_up(text) is follow_up


def test_a_follow_up_is_read_with_its_subject_turn() -> None:
    thread = [
        Turn("customer", "I want to refund order 1234"),
        Turn("agent", "Sure, I can help."),
        Turn("customer", "is it free?"),  # itself a follow-up: the subject stays the refund
    ]
    assert read_with_thread("and how long does that take?", thread) == (
        "I want to refund order 1234\nand how long does that take?"
    )
    assert read_with_thread("How do I pause my payouts?", thread) == "How do I pause my payouts?"
    assert read_with_thread("and how long does that take?", [Turn("agent", "Hello!")]) == (
        "and how long does that take?"
    )


def test_the_real_topic_stage_gets_a_follow_up_right_only_with_the_thread() -> None:
    embedder = HashingEmbedder(dim=512)
    texts = [t for ts in TOPIC_EXAMPLES.values() for t in ts]
    labels = [k for k, ts in TOPIC_EXAMPLES.items() for _ in ts]
    vectors = embedder.embed(texts)
    topic = TopicStage(default_threshold=0.0).fit(
        [Message(text=t, vector=v) for t, v in zip(texts, vectors, strict=True)], labels
    )
    pipeline = Pipeline({"topic": topic}, embedder, PipelineSettings(), {"topic": "v1"})
    question = "and how long does that take?"
    alone = pipeline.suggest(SuggestRequest(message=question))
    assert alone.topic == "payouts"  # "how long ... take" alone reads as payouts
    threaded = pipeline.suggest(
        SuggestRequest(
            message=question, context=["how do i refund a customer", {"role": "agent", "text": "Sure."}]
        )
    )
    assert threaded.topic == "refunds"
    assert threaded.trace[0]["follow_up"] is True and threaded.trace[0]["context_turns"] == 2
    assert "follow_up" not in alone.trace[0]
