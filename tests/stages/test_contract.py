"""The stage contract, checked on every stage (like scikit-learn's check_estimator): fit returns self,
predict before fit raises, confidences are in [0, 1], abstentions carry a reason, save/load round-trips,
refitting forgets, and empty or huge messages get a result rather than an error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from supportcue.embeddings import HashingEmbedder
from supportcue.errors import NotFittedError
from supportcue.settings import ToneSettings
from supportcue.stages.base import Message, Stage
from supportcue.stages.response import LibraryAnswer, ResponseStage
from supportcue.stages.tone import ToneStage
from supportcue.stages.topic import TopicStage
from supportcue.stages.validation import ValidationStage

EMBEDDER = HashingEmbedder(dim=512)

TOPICS = {
    "payouts": [
        "when will my payout arrive",
        "how do I pause payouts",
        "my payout schedule changed",
        "payout is late this week",
        "can I get payouts daily",
        "where is my payout",
    ],
    "refunds": [
        "how do I refund a customer",
        "refund did not reach the card",
        "can I cancel a refund",
        "partial refund for an order",
        "refund is pending for days",
        "how long does a refund take",
    ],
    "login": [
        "I cannot log in to my account",
        "two factor code not arriving",
        "reset my password please",
        "locked out of the dashboard",
        "lost my 2FA phone",
        "login link expired",
    ],
}
NOISE = ["hi", "thanks!", "hello there", "ok", "thank you so much", "good morning"]


def msgs(texts: list[str], **kw: str | None) -> list[Message]:
    vectors = EMBEDDER.embed(texts)
    return [Message(text=t, vector=v, **kw) for t, v in zip(texts, vectors, strict=True)]  # type: ignore[arg-type]


TEXTS = [t for ts in TOPICS.values() for t in ts]
LABELS = [k for k, ts in TOPICS.items() for _ in ts]
LIBRARY = [
    LibraryAnswer(
        id="a-pay", topic="payouts", title="Pause", body="Hi {customer_name}, pause payouts in Settings."
    ),
    LibraryAnswer(
        id="a-ref", topic="refunds", title="Refunds", body="Refunds take 5-10 days to reach the card."
    ),
    LibraryAnswer(id="a-log", topic="login", title="Login", body="Reset your password from the login page."),
]


@dataclass
class Case:
    make: Callable[[], Stage]
    fit: Callable[[Stage], Stage]
    refit_other: Callable[[Stage], Stage]
    inputs: Callable[[], list[Message]]
    abstain_input: Callable[[], Message]
    labels_seen: Callable[[Stage], set[str]] | None = None


def _topic_fit(stage: Stage) -> Stage:
    return stage.fit(msgs(TEXTS), LABELS)


def _validation_fit(stage: Stage) -> Stage:
    return stage.fit(msgs(TEXTS + NOISE), ["valid"] * len(TEXTS) + ["invalid"] * len(NOISE))


def _response_fit(stage: Stage) -> Stage:
    replies = ["Hi Ana, pause payouts in Settings."] * 6 + ["Refunds take 5-10 days to reach the card."] * 6
    replies += ["Reset your password from the login page."] * 6
    return stage.fit(msgs(TEXTS), None, None, library=LIBRARY, replies=replies)  # type: ignore[call-arg]


def _with_topic(text: str, topic: str) -> Message:
    return msgs([text], customer_name="Ana", topic=topic)[0]


CASES = {
    "validation": Case(
        make=ValidationStage,
        fit=_validation_fit,
        refit_other=lambda s: s.fit(msgs(["a b c"] * 3 + ["x"] * 3), ["valid"] * 3 + ["invalid"] * 3),
        inputs=lambda: msgs(["how do I pause payouts", "thanks!", "refund is late"]),
        abstain_input=lambda: msgs([""])[0],
    ),
    "topic": Case(
        make=lambda: TopicStage(),
        fit=_topic_fit,
        refit_other=lambda s: s.fit(msgs(TEXTS), ["fees"] * 6 + ["tax"] * 6 + ["webhooks"] * 6),
        inputs=lambda: msgs(["when does my payout arrive", "refund for an order", "cannot log in"]),
        abstain_input=lambda: msgs(["zebra xylophone quantum"])[0],
        labels_seen=lambda s: {r.label for r in s.predict(msgs(TEXTS)) if r.label},
    ),
    "response": Case(
        make=lambda: ResponseStage(embedder=EMBEDDER),
        fit=_response_fit,
        refit_other=_response_fit,
        inputs=lambda: [
            _with_topic("how do I pause payouts", "payouts"),
            _with_topic("refund late", "refunds"),
        ],
        abstain_input=lambda: msgs(["how do I pause payouts"])[0],  # no topic
    ),
    "tone": Case(
        make=lambda: ToneStage(ToneSettings()),
        fit=lambda s: s.fit([]),
        refit_other=lambda s: s.fit([]),
        inputs=lambda: [
            Message(text="q", answer_text="You can pause payouts in Settings.", customer_name="Ana")
        ],
        abstain_input=lambda: Message(text="q", answer_text=None),
    ),
}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    return CASES[request.param]


def test_fit_returns_self(case: Case) -> None:
    stage = case.make()
    assert case.fit(stage) is stage


def test_predict_before_fit_raises(case: Case) -> None:
    with pytest.raises(NotFittedError):
        case.make().predict(case.inputs())


def test_one_result_per_message_with_confidence_in_unit_interval(case: Case) -> None:
    stage = case.fit(case.make())
    inputs = case.inputs()
    results = stage.predict(inputs)
    assert len(results) == len(inputs)
    assert all(0.0 <= r.confidence <= 1.0 for r in results)
    assert stage.predict([]) == []


def test_abstains_with_a_reason(case: Case) -> None:
    stage = case.fit(case.make())
    result = stage.predict([case.abstain_input()])[0]
    assert result.abstained or result.label == "invalid"
    assert result.reason


def test_save_load_round_trip(case: Case, tmp_path: Path) -> None:
    stage = case.fit(case.make())
    path = stage.save(tmp_path / f"{stage.name}.joblib")
    loaded = type(stage).load(path)
    if hasattr(stage, "embedder"):
        loaded.embedder = stage.embedder  # type: ignore[attr-defined]
    before = [(r.label, round(r.confidence, 6), r.abstained) for r in stage.predict(case.inputs())]
    after = [(r.label, round(r.confidence, 6), r.abstained) for r in loaded.predict(case.inputs())]
    assert before == after


def test_refit_forgets_old_data(case: Case) -> None:
    stage = case.fit(case.make())
    case.refit_other(stage)
    if case.labels_seen is not None:
        assert case.labels_seen(stage) <= {"fees", "tax", "webhooks"}


def test_empty_and_huge_messages_get_a_result(case: Case) -> None:
    stage = case.fit(case.make())
    huge = "my payout is late " * 5000
    batch = [msgs([""])[0], msgs([huge])[0]]
    for m in batch:
        m.topic = "payouts" if case is CASES["response"] else m.topic
        m.answer_text = "You can pause payouts." if case is CASES["tone"] else None
        m.customer_name = "Ana"
    results = stage.predict(batch)
    assert len(results) == 2
    assert all(0.0 <= r.confidence <= 1.0 and (r.reason or not r.abstained) for r in results)
