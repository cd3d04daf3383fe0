"""The validation stage: rules win, out-of-scope distance, a validity classifier when negatives exist."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from supportcue.embeddings import HashingEmbedder
from supportcue.errors import NotFittedError
from supportcue.stages.base import Message
from supportcue.stages.validation import OutOfScopeScorer, ValidationStage

EMBEDDER = HashingEmbedder(dim=512)
VALID = [
    "when will my payout arrive",
    "my payout is late",
    "how do i refund a customer",
    "refund failed for order",
    "i cannot log in to my account",
    "reset my account password",
    "payout missing from my bank account",
    "refund not received by customer",
    "account login code not sent",
    "how long does a payout take",
]
INVALID = [
    "what is the weather tomorrow",
    "tell me a joke",
    "play some music",
    "what time is it in paris",
    "who won the football game",
    "recommend a good movie",
]


def msgs(texts: list[str]) -> list[Message]:
    return [Message(text=t, vector=v) for t, v in zip(texts, EMBEDDER.embed(texts), strict=True)]


def always_valid_if_urgent(text: str) -> str | None:
    return "valid" if "urgent" in text else None


def test_fit_with_only_valid_examples_uses_distance() -> None:
    stage = ValidationStage()
    assert stage.fit(msgs(VALID)) is stage
    assert stage.classifier_ is None
    near, far = stage.predict(msgs(["my payout is late again", "xylophone quantum banana zebra"]))
    assert near.label == "valid" and not near.abstained
    assert far.label == "invalid" and far.reason is not None and "out of scope" in far.reason
    assert all(0.0 <= r.confidence <= 1.0 for r in (near, far))


def test_classifier_with_negatives() -> None:
    stage = ValidationStage().fit(msgs(VALID + INVALID), ["valid"] * len(VALID) + ["invalid"] * len(INVALID))
    assert stage.classifier_ is not None
    proba = stage.predict_proba_valid(msgs(["refund failed for my order", "tell me a funny joke"]))
    assert proba[0] > proba[1]


def test_rules_win_over_the_model() -> None:
    stage = ValidationStage(custom_rules=[r"\bjoke\b", always_valid_if_urgent]).fit(msgs(VALID))
    results = stage.predict(
        msgs(
            [
                "",
                "Hi there!",
                "thanks so much",
                "payout",
                "my payout is late, joke",
                "urgent xylophone quantum banana",
            ]
        )
    )
    assert [r.label for r in results] == ["invalid", "invalid", "invalid", "invalid", "invalid", "valid"]
    assert [r.reason for r in results] == [
        "rule empty",
        "rule greeting_only",
        "rule thanks_only",
        "rule too_short",
        "rule regex '\\\\bjoke\\\\b'",
        "rule always_valid_if_urgent",
    ]
    assert all(r.confidence == 1.0 and not r.abstained for r in results)


def test_rules_are_configurable() -> None:
    stage = ValidationStage(rules=[]).fit(msgs(VALID))
    assert stage.predict(msgs(["payout"]))[0].reason != "rule too_short"
    with pytest.raises(ValueError, match="unknown validation rules"):
        ValidationStage(rules=["nope"]).fit(msgs(VALID))


def test_abstains_between_thresholds() -> None:
    stage = ValidationStage(margin=0.5).fit(msgs(VALID))
    result = stage.predict(msgs(["my payout is late again"]))[0]
    assert result.abstained and result.reason is not None and result.reason.startswith("unsure")


def test_predict_before_fit_and_bad_labels() -> None:
    with pytest.raises(NotFittedError):
        ValidationStage().predict(msgs(["hello there friend"]))
    with pytest.raises(ValueError, match="'valid' or 'invalid'"):
        ValidationStage().fit(msgs(VALID[:2]), ["valid", "maybe"])


def test_save_load_round_trip(tmp_path: Path) -> None:
    stage = ValidationStage(custom_rules=[re.compile("joke")]).fit(
        msgs(VALID + INVALID), ["valid"] * len(VALID) + ["invalid"] * len(INVALID)
    )
    loaded = ValidationStage.load(stage.save(tmp_path / "validation.joblib"))
    probe = msgs(["payout late again", "a joke", "hello", "weather in paris today"])
    assert [r.as_dict() for r in stage.predict(probe)] == [r.as_dict() for r in loaded.predict(probe)]


def test_out_of_scope_scorer_leave_one_out() -> None:
    vectors = EMBEDDER.embed(VALID)
    scorer = OutOfScopeScorer(k=1).fit(vectors)
    np.testing.assert_allclose(scorer.score(vectors), 1.0, atol=1e-5)
    assert np.all(scorer.score(vectors, exclude_self=True) < 0.999)
