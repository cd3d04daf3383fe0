"""The topic stage on small hand-made data, embedded with the model-free HashingEmbedder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.examples import TOPIC_EXAMPLES

from supportcue.embeddings import HashingEmbedder
from supportcue.errors import NotFittedError
from supportcue.stages.base import Message
from supportcue.stages.topic import TopicStage

TOPICS = TOPIC_EXAMPLES
EMBEDDER = HashingEmbedder(dim=512)


def msgs(texts: list[str]) -> list[Message]:
    return [Message(text=t, vector=v) for t, v in zip(texts, EMBEDDER.embed(texts), strict=True)]


def data() -> tuple[list[Message], list[str]]:
    texts = [t for ts in TOPICS.values() for t in ts]
    labels = [k for k, ts in TOPICS.items() for _ in ts]
    return msgs(texts), labels


def test_fit_returns_self_and_predicts_topics() -> None:
    X, y = data()
    stage = TopicStage()
    assert stage.fit(X, y) is stage
    results = stage.predict(msgs(["my payout is late again", "please refund this order"]))
    assert [r.label for r in results] == ["payouts", "refunds"]
    assert all(0.0 <= r.confidence <= 1.0 for r in results)
    proba = stage.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_predict_before_fit_raises() -> None:
    with pytest.raises(NotFittedError):
        TopicStage().predict(msgs(["hello"]))


def test_abstains_with_reason_below_threshold() -> None:
    X, y = data()
    stage = TopicStage(default_threshold=1.0, target_precision=1.01, min_score=0).fit(X, y)
    result = stage.predict(msgs(["payout refund login"]))[0]
    assert result.abstained
    assert result.reason is not None and result.reason.startswith("low confidence")
    assert "< 1.00 for topic" in result.reason


def test_abstains_far_from_every_topic() -> None:
    X, y = data()
    stage = TopicStage(default_threshold=0.0).fit(X, y)
    far, near = stage.predict(msgs(["zebra xylophone quantum", "when will my payout arrive soon"]))
    assert far.abstained and far.reason is not None and far.reason.startswith("far from every known topic")
    assert not near.abstained and near.label == "payouts"


def test_sample_weight_zero_drops_rows() -> None:
    X, y = data()
    weights = [0.0 if label == "login" else 1.0 for label in y]
    stage = TopicStage().fit(X, y, sample_weight=weights)
    assert stage.topics_ == ["payouts", "refunds"]


def test_refit_forgets_and_add_topic() -> None:
    X, y = data()
    stage = TopicStage().fit(X, y)
    stage.add_topic(
        "invoices", msgs(["invoice is wrong", "download my invoice", "invoice vat number", "invoice pdf"])
    )
    assert stage.topics_[-1] == "invoices"
    assert stage.predict(msgs(["where can i download the invoice pdf"]))[0].label == "invoices"
    assert stage.predict(msgs(["my payout is late"]))[0].label == "payouts"
    with pytest.raises(ValueError, match="already known"):
        stage.add_topic("payouts", msgs(["x"]))
    stage.fit(X, y)
    assert "invoices" not in stage.topics_


def test_save_load_round_trip(tmp_path: Path) -> None:
    X, y = data()
    stage = TopicStage().fit(X, y)
    stage.add_topic("invoices", msgs(["invoice is wrong", "download my invoice"]))
    loaded = TopicStage.load(stage.save(tmp_path / "topic.joblib"))
    probe = msgs(["payout late", "refund failed", "invoice download", ""])
    np.testing.assert_array_equal(stage.predict_proba(probe), loaded.predict_proba(probe))
    assert [r.as_dict() for r in stage.predict(probe)] == [r.as_dict() for r in loaded.predict(probe)]


def test_clear_errors_on_bad_input() -> None:
    X, y = data()
    with pytest.raises(ValueError, match="labels"):
        TopicStage().fit(X, y[:-1])
    with pytest.raises(ValueError, match="at least 2 topics"):
        TopicStage().fit(X[:3], ["a", "a", "a"])
    with pytest.raises(ValueError, match="no vector"):
        TopicStage().fit([Message("no vector"), *X[1:]], y)


@pytest.mark.slow
def test_minilm_end_to_end() -> None:
    from supportcue.embeddings import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    texts = [t for ts in TOPICS.values() for t in ts]
    labels = [k for k, ts in TOPICS.items() for _ in ts]
    X = [Message(text=t, vector=v) for t, v in zip(texts, embedder.embed(texts), strict=True)]
    stage = TopicStage().fit(X, labels)
    probe = ["the money from my last sale never reached my bank", "give the buyer their money back"]
    batch = [Message(text=t, vector=v) for t, v in zip(probe, embedder.embed(probe), strict=True)]
    assert [r.label for r in stage.predict(batch)] == ["payouts", "refunds"]
