"""The topic stage's large-data path (Nystrom kernel ridge), forced on small synthetic data by a low
`max_exact_rows`, against the exact solution on the same data."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from supportcue.embeddings import HashingEmbedder
from supportcue.stages.base import Message
from supportcue.stages.topic import TopicStage

EMBEDDER = HashingEmbedder(dim=256)
VOCAB = {
    "payouts": "payout bank transfer arrive late settlement deposit account weekly",
    "refunds": "refund return money back customer order cancel reverse partial",
    "login": "login password reset account locked two factor code email",
    "disputes": "dispute chargeback evidence bank claim fraud contest deadline",
    "shipping": "shipping label carrier tracking parcel delivery address courier",
    "taxes": "tax vat invoice number rate country report exempt",
}
COMMON = ["my", "the", "please", "help", "with", "i", "need", "is", "why", "how"]


def synthetic(n_per_topic: int, seed: int) -> tuple[list[Message], list[str]]:
    """Texts of 3-5 words of a topic's vocabulary mixed with 1-3 common words."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for topic, words in VOCAB.items():
        vocab = words.split()
        for _ in range(n_per_topic):
            picked = list(rng.choice(vocab, size=int(rng.integers(3, 6)), replace=False))
            picked += list(rng.choice(COMMON, size=int(rng.integers(1, 4))))
            rng.shuffle(picked)
            texts.append(" ".join(picked))
            labels.append(topic)
    return msgs(texts), labels


def msgs(texts: list[str]) -> list[Message]:
    return [Message(text=t, vector=v) for t, v in zip(texts, EMBEDDER.embed(texts), strict=True)]


def nystrom(**params: float) -> TopicStage:
    return TopicStage(max_exact_rows=100, landmarks=60, **params)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fitted() -> tuple[TopicStage, TopicStage]:
    X, y = synthetic(60, seed=0)
    return nystrom().fit(X, y), TopicStage(max_exact_rows=10_000).fit(X, y)


def test_large_path_is_used_above_the_threshold_and_matches_the_exact_solution(
    fitted: tuple[TopicStage, TopicStage],
) -> None:
    approx, exact = fitted
    assert approx.describe()["solver"] == "nystrom" and approx.describe()["kernel_rows"] == 60
    assert exact.describe()["solver"] == "exact" and exact.describe()["kernel_rows"] == 360
    X, y = synthetic(20, seed=1)
    exact_proba, approx_proba = exact.predict_proba(X), approx.predict_proba(X)
    exact_acc = np.mean(np.array(exact.topics_)[exact_proba.argmax(1)] == np.array(y))
    approx_acc = np.mean(np.array(approx.topics_)[approx_proba.argmax(1)] == np.array(y))
    assert exact_acc > 0.9
    assert approx_acc >= exact_acc - 0.05
    # Both agree on most messages, not only on the accuracy figure.
    assert np.mean(exact_proba.argmax(1) == approx_proba.argmax(1)) > 0.9


def test_large_path_probabilities_are_calibrated(fitted: tuple[TopicStage, TopicStage]) -> None:
    approx, _ = fitted
    X, y = synthetic(20, seed=2)
    proba = approx.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    correct = np.array(approx.topics_)[proba.argmax(1)] == np.array(y)
    # Temperature scaling on held-out rows: mean confidence tracks accuracy (not 1/6, not ~1 when wrong).
    assert abs(float(proba.max(1).mean()) - float(correct.mean())) < 0.1
    assert approx.temperature_ > 0
    assert set(approx.thresholds_) == set(VOCAB)
    assert all(0.0 <= t <= 1.0 for t in approx.thresholds_.values())


def test_large_path_score_scale_and_min_score_abstention(fitted: tuple[TopicStage, TopicStage]) -> None:
    approx, _ = fitted
    X, _ = synthetic(10, seed=3)
    own = approx.decision_scores(X).max(axis=1)
    assert 0.6 < float(np.median(own)) < 1.4  # about 1 on a topic's own examples
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(5, EMBEDDER.dim)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    unrelated = [Message(text="zebra xylophone quantum", vector=v) for v in noise]
    scores = approx.decision_scores(unrelated).max(axis=1)
    assert np.all(np.abs(scores) < 0.15)  # about 0 far from every topic
    results = approx.predict(unrelated)
    assert all(r.abstained and (r.reason or "").startswith("far from every known topic") for r in results)


def test_large_path_add_topic_and_save_load(fitted: tuple[TopicStage, TopicStage], tmp_path: Path) -> None:
    approx = pickle.loads(pickle.dumps(fitted[0]))  # a private copy: the fixture is shared
    approx.add_topic(
        "stickers", msgs(["sticker pack order", "laptop sticker design", "sticker sheet glossy"])
    )
    assert approx.topics_[-1] == "stickers"
    assert approx.predict(msgs(["glossy laptop sticker pack"]))[0].label == "stickers"
    loaded = TopicStage.load(approx.save(tmp_path / "topic.joblib"))
    probe = msgs(["payout late to my bank", "refund the order", "sticker design", ""])
    np.testing.assert_array_equal(approx.predict_proba(probe), loaded.predict_proba(probe))
    assert [r.as_dict() for r in approx.predict(probe)] == [r.as_dict() for r in loaded.predict(probe)]
    assert loaded.describe()["solver"] == "nystrom"


def test_large_path_sample_weights() -> None:
    X, y = synthetic(30, seed=4)
    # Zero weight drops rows (and here a whole topic).
    dropped = nystrom().fit(X, y, sample_weight=[0.0 if t == "taxes" else 1.0 for t in y])
    assert "taxes" not in dropped.topics_
    # Weights enter the loss: doubling every weight is halving the regularisation.
    doubled = nystrom(alpha=0.2).fit(X, y, sample_weight=[2.0] * len(y))
    plain = nystrom(alpha=0.1).fit(X, y)
    probe, _ = synthetic(5, seed=5)
    np.testing.assert_allclose(doubled.decision_scores(probe), plain.decision_scores(probe), atol=1e-6)
    heavier = nystrom(alpha=0.2).fit(X, y)
    assert not np.allclose(heavier.decision_scores(probe), plain.decision_scores(probe), atol=1e-3)


def test_large_path_solve_survives_an_indefinite_system() -> None:
    from supportcue.stages.topic import _solve_nystrom

    # Rounding can make the summed Gram matrix slightly indefinite: the solve drops those directions.
    gram = np.diag([1.0, 2.0, -5.0])
    rhs = np.ones((3, 2))
    coef = _solve_nystrom(gram, rhs, np.eye(3), alpha=0.1)
    assert np.all(np.isfinite(coef))
    np.testing.assert_allclose(coef[:2], [[1 / 1.1] * 2, [1 / 2.1] * 2], rtol=1e-5)
    np.testing.assert_allclose(coef[2], 0.0)


def test_large_batches_are_scored_in_chunks(fitted: tuple[TopicStage, TopicStage]) -> None:
    approx, _ = fitted
    X, _ = synthetic(350, seed=6)  # 2,100 messages: more than one scoring chunk
    whole = approx.decision_scores(X)
    assert whole.shape == (2100, len(approx.topics_))
    parts = np.vstack([approx.decision_scores(X[:1000]), approx.decision_scores(X[1000:])])
    np.testing.assert_allclose(whole, parts, rtol=1e-6, atol=1e-6)


def test_exact_path_above_small_data_solves_the_textbook_kernel_ridge() -> None:
    """Between `small_data` and `max_exact_rows` the kernel is built in place and factored without
    copies; its scores must still be those of (K + diag(alpha / w))^-1 Y, weights included."""
    X, y = synthetic(40, seed=3)
    weight = np.random.default_rng(0).uniform(0.2, 1.0, len(y))
    # 240 rows: more than 4 blocks of the in-place kernel, so block edges are exercised too.
    stage = TopicStage(small_data=50, max_exact_rows=1_000, alpha=0.3, text_weight=0.4)
    from supportcue.stages import topic as module

    original = module._KERNEL_BLOCK
    module._KERNEL_BLOCK = 64
    try:
        stage.fit(X, y, sample_weight=list(weight))
    finally:
        module._KERNEL_BLOCK = original
    assert stage.describe()["solver"] == "exact" and stage.describe()["kernel_rows"] == 240

    def kernel(a: list[Message], b: list[Message]) -> np.ndarray:
        va = np.array([m.vector for m in a], dtype=np.float64)
        vb = np.array([m.vector for m in b], dtype=np.float64)
        rbf = np.exp((va @ vb.T - 1.0) / 0.5) - np.exp(-1.0 / 0.5)
        ta = stage.model_.text.transform([m.text for m in a])
        tb = stage.model_.text.transform([m.text for m in b])
        return rbf + 0.4 * (ta @ tb.T).toarray()

    onehot = (np.array(y)[:, None] == np.array(stage.topics_)[None, :]).astype(np.float64)
    dual = np.linalg.solve(kernel(X, X) + np.diag(0.3 / weight), onehot)
    new, _ = synthetic(5, seed=4)
    np.testing.assert_allclose(stage.decision_scores(new), kernel(new, X) @ dual, atol=1e-4)
