"""The validation stage: rules win; out-of-scope distance and a validity classifier, combined by a fitted
combiner; built-in negatives when the labels have none."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from supportcue.demo.catalog_replies import INVALID_MESSAGES
from supportcue.demo.generator import generate
from supportcue.embeddings import HashingEmbedder
from supportcue.errors import NotFittedError
from supportcue.settings import Settings
from supportcue.stages.base import Message, Services
from supportcue.stages.negatives import BUILTIN_NEGATIVES
from supportcue.stages.validation import OutOfScopeScorer, ValidationStage, _question_core

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


@pytest.mark.parametrize(
    "text",
    [
        "Как сбросить пароль?",  # Russian: "how do I reset my password?"
        "Πώς μπορώ να σταματήσω μια πληρωμή;",  # Greek
        "كيف يمكنني إيقاف الدفع مؤقتا؟",  # Arabic
        "パスワードをリセットするにはどうすればいいですか？",  # Japanese: no spaces between words
        "如何暂停付款？",  # Chinese
        "Wo ist meine Auszahlung für März?",  # German, with umlauts
    ],
)
def test_a_question_in_another_script_is_not_too_short(text: str) -> None:
    """The rules counted words of a-z and digits only: every message in Cyrillic, Greek, Arabic,
    Chinese or Japanese had none, so it was refused as `rule too_short` before the model saw it (no
    suggestion, whatever the model was trained on, and a reason that named the wrong cause)."""
    stage = ValidationStage().fit(msgs(VALID))
    (result,) = stage.predict(msgs([text]))
    assert result.reason != "rule too_short"


def test_one_word_is_still_too_short_in_a_spaced_script() -> None:
    stage = ValidationStage().fit(msgs(VALID))
    assert [r.reason for r in stage.predict(msgs(["пароль", "payout", "Zurücksetzen", "好"]))] == [
        "rule too_short"
    ] * 4


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Meine Auszahlung ist nicht angekommen, was kann ich tun? payout refund", "German"),
        ("Mi reembolso no ha llegado todavía, ¿qué puedo hacer? refund", "Spanish"),
        ("Je n'arrive pas à me connecter à mon compte, pouvez-vous m'aider ?", "French"),
        ("Как сбросить пароль?", "Cyrillic script"),
        # named by the language whose words fit best, not by word-by-word votes ("cancelar" and
        # "pedido" are commoner in Portuguese: it was named Portuguese)
        ("Quiero cancelar mi pedido", "Spanish"),
        ("Não consigo acessar minha conta", "Portuguese"),
        ("Non riesco ad accedere al mio conto", "Italian"),
    ],
)
def test_a_message_not_in_english_gets_no_suggestion(text: str, language: str) -> None:
    """The bundled model reads English only: a German question sharing a word or two with a known
    topic ("payout") was judged by its English neighbours and passed on to a confident topic. The
    stage abstains instead, naming the language; the message is not called invalid."""
    stage = ValidationStage().fit(msgs(VALID))
    (result,) = stage.predict(msgs([text]))
    assert result.abstained and result.label is None
    assert result.reason == f"rule other_language: written in {language}; the models read English only"
    assert "other_language" in Settings().validation.rules


@pytest.mark.parametrize(
    "text",
    [
        "my payout for order #A-55120 never arrived, see https://shop.example/orders/55120?lang=de",
        "Ana Lopez here, café order 123 was refunded twice",
        "login not working on android app pls help asap",
        "Do you ship to München or Zürich? Merci!",
        "Hi support,\n\nHi!\n\nBest, Daria",  # "hi" is a common Catalan word too
        "🙏🙏🙏",
    ],
)
def test_english_with_names_urls_and_loanwords_is_english(text: str) -> None:
    stage = ValidationStage().fit(msgs(VALID))
    (result,) = stage.predict(msgs([text]))
    assert "other_language" not in (result.reason or "")


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


def test_builtin_negatives_give_a_classifier_without_invalid_labels() -> None:
    stage = ValidationStage().bind(Services(embedder=EMBEDDER)).fit(msgs(VALID))
    assert stage.classifier_ is not None and stage.n_builtin_negatives_ == len(BUILTIN_NEGATIVES)
    proba = stage.predict_proba_valid(msgs(["my refund for the order failed", "set a timer for ten minutes"]))
    assert proba[0] > 0.5 > proba[1]
    # Without an embedder there is nothing to embed them with: distance only, as before.
    assert ValidationStage().fit(msgs(VALID)).classifier_ is None


def test_builtin_negative_that_paraphrases_a_valid_example_is_dropped() -> None:
    texts = [*VALID, "set a timer for ten minutes"]  # a desk where this is a real question
    stage = ValidationStage().bind(Services(embedder=EMBEDDER)).fit(msgs(texts))
    assert stage.n_builtin_negatives_ == len(BUILTIN_NEGATIVES) - 1
    assert stage.predict(msgs(["set a timer for ten minutes"]))[0].label == "valid"


def test_question_core() -> None:
    assert _question_core("Hi support,\n\nhow do I add a user?\n\nThanks, Ana") == "how do I add a user?"
    assert _question_core("Urgent. Why is my payout late? We pay staff Friday.") == "Why is my payout late?"
    assert _question_core("how do I add a user?") is None  # nothing to strip
    assert _question_core("Hi, anyone there?") is None  # too short to be a question of its own
    assert _question_core("my payout is late") is None


def test_demo_clear_questions_are_valid_and_non_questions_stopped() -> None:
    """The demo's validity labels (generated, seed 7) with the model-free embedder: on main these
    two questions got p_valid 0.26 and 0.61 (the console, with MiniLM and weak labels: 0.18 and 0.35)."""
    data = generate(7)
    cases = {c.id: c for c in data.cases}
    rows = [(cases[label.case_id].message, label.value) for label in data.labels if label.task == "validity"]
    params = ValidationStage.params_from(Settings())
    stage = ValidationStage(**params).bind(Services(embedder=EMBEDDER))
    stage.fit(msgs([t for t, _ in rows]), [v for _, v in rows])
    clear = msgs(
        ["what roles are there for team members?", "What's the character limit for the statement descriptor"]
    )
    assert [(r.label, r.abstained) for r in stage.predict(clear)] == [("valid", False)] * 2
    for kind, texts in INVALID_MESSAGES.items():
        plain = [t for t in texts if "{" not in t]
        stopped = sum(r.stops() for r in stage.predict(msgs(plain)))
        assert stopped >= (len(plain) if kind in ("greeting", "thanks") else 0.7 * len(plain)), kind
