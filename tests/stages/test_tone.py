"""The tone stage: style policy applied, facts never changed (hand cases and seeded random texts)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from supportcue.errors import NotFittedError
from supportcue.settings import ToneSettings
from supportcue.stages.base import Message
from supportcue.stages.tone import ToneStage, sentences
from supportcue.textfacts import facts, facts_kept

POLICY = ToneSettings(product_names=["Stripe Radar", "Connect"])


def tone(**overrides: object) -> ToneStage:
    return ToneStage(POLICY.model_copy(update=overrides)).fit()


def styled(text: str, customer: str | None = "Anna", agent: str | None = "Sam", **overrides: object) -> str:
    result = tone(**overrides).predict(
        [Message("q", customer_name=customer, agent_name=agent, answer_text=text)]
    )[0]
    assert not result.abstained and result.label == "ok" and result.confidence == 1.0
    return str(result.extra["text"])


def test_fit_returns_self_records_policy_and_predict_before_fit_raises() -> None:
    stage = ToneStage(POLICY)
    with pytest.raises(NotFittedError):
        stage.predict([Message("q", answer_text="x")])
    assert stage.fit() is stage and stage.policy_ == POLICY and stage.policy_ is not POLICY


def test_adds_greeting_and_signoff_with_names_or_fallbacks() -> None:
    assert styled("It is done.") == "Hi Anna,\n\nIt's done.\n\nBest,\nSam"
    assert (
        styled("It is done.", customer=None, agent=" ")
        == "Hi there,\n\nIt's done.\n\nBest,\nThe support team"
    )


def test_replaces_existing_salutations_instead_of_doubling_them() -> None:
    out = styled("Hello,\n\nYour payout is on its way.\n\nKind regards,\nJo")
    assert out == "Hi Anna,\n\nYour payout is on its way.\n\nBest,\nSam"


def test_contractions_keep_case_and_skip_emphasis_and_sentence_ends() -> None:
    out = styled(
        "Do not worry: you will see it. We cannot refund twice. DO NOT share keys. That is how it is."
    )
    assert "Don't worry: you'll see it. We can't refund twice. DO NOT share keys. That's how it is." in out
    assert "do not" in styled("We do not charge.", contractions=False)


def test_replace_map_and_capitalisation() -> None:
    out = styled("Please be advised that we utilize TLS in order to protect data. Kindly retry.")
    assert "We use TLS to protect data. Please retry." in out


def test_avoided_phrases_are_rewritten_or_dropped_when_safe() -> None:
    out = styled(
        "Unfortunately, payouts are delayed. As per our terms, fees apply. Sorry, unfortunately that is it."
    )
    assert "unfortunately" not in out.lower() and "as per" not in out.lower()
    assert "Payouts are delayed." in out and "Under our terms, fees apply." in out


def test_avoided_phrase_in_a_fact_sentence_is_kept_and_flagged() -> None:
    stage = tone(avoid=["sadly"])
    text = "Sadly the fee is $15. Sadly the fee is $15 and we sadly keep it."
    result = stage.predict([Message("q", answer_text="The fee is $15 and we sadly keep it.")])[0]
    assert "$15" in result.extra["text"] and "avoided phrase kept: sadly" in result.extra["flags"]
    assert facts_kept(text, str(stage.predict([Message("q", answer_text=text)])[0].extra["text"]))


def test_trims_at_a_sentence_boundary_to_the_limit() -> None:
    body = "Your payout is on its way. " + " ".join(["This sentence is filler text here."] * 40)
    out = styled(body, max_chars=200)
    assert len(out) <= 200 and "Your payout is on its way." in out and out.endswith("Best,\nSam")
    assert re.search(r"\.\n\nBest", out)


def test_trimming_never_drops_a_fact_it_flags_over_length_instead() -> None:
    body = (
        " ".join(["This sentence is filler text here."] * 40)
        + " Your refund of $1,200.50 arrives 2024-05-01."
    )
    result = tone(max_chars=200).predict([Message("q", answer_text=body)])[0]
    assert "over_length" in result.extra["flags"]
    assert "$1,200.50" in result.extra["text"] and "2024-05-01" in result.extra["text"]


def test_a_step_that_would_lose_a_fact_is_reverted() -> None:
    # A replace map that would delete a product name or a number is refused, and says so.
    stage = tone(replace={"Connect": "our platform", "30 days": "a month"})
    text = "Connect payouts take 30 days."
    result = stage.predict([Message("q", answer_text=text)])[0]
    assert "Connect payouts take 30 days." in result.extra["text"] and "replace" in result.extra["reverted"]
    # Negation counts as a fact: a replacement that drops a "not" is reverted too.
    flipped = tone(replace={"do not": "do"}).predict([Message("q", answer_text="We do not refund fees.")])[0]
    assert "don't refund" in flipped.extra["text"] and "replace" in flipped.extra["reverted"]


def test_sentences_round_trip_and_keep_numbered_lists_and_decimals() -> None:
    text = "1. Log in.\n2. Go to Settings, e.g. Payouts.\nThe fee is 2.9%. Done!  Ok"
    parts = sentences(text)
    assert "".join(parts) == text
    assert parts[0] == "1. Log in.\n" and parts[1] == "2. Go to Settings, e.g. Payouts.\n"


FACT_BITS = [
    "$1,200.50",
    "2.9% + 30¢",
    "2024-05-01",
    "May 3, 2024",
    "https://stripe.com/docs/payouts",
    "help@stripe.com",
    "order A-123",
    "acct_1Nv0FGQ9",
    "Stripe Radar",
    "Connect",
    "{order_id}",
    "7 days",
]
STYLE_BITS = [
    "Unfortunately,",
    "As per our policy",
    "in order to",
    "Please be advised that",
    "we do not",
    "you will",
    "it is",
    "kindly",
    "cannot",
    "utilize",
    "at this point in time",
    "Hello,",
    "Thanks,",
]
WORDS = [
    "payouts",
    "your account",
    "the dashboard",
    "refunds",
    "we",
    "check",
    "the fee",
    "arrive",
    "settings",
]


def random_text(rng: random.Random) -> str:
    sentences_ = []
    for _ in range(rng.randint(1, 8)):
        bits = (
            rng.sample(WORDS, 3)
            + rng.sample(STYLE_BITS, rng.randint(0, 2))
            + rng.sample(FACT_BITS, rng.randint(0, 2))
        )
        rng.shuffle(bits)
        sentences_.append(" ".join(bits).capitalize() + rng.choice([".", "!", "?", ".\n"]))
    return " ".join(sentences_)


@pytest.mark.parametrize("max_chars", [50, 200, 900])
def test_random_texts_never_lose_a_fact(max_chars: int) -> None:
    rng = random.Random(max_chars)
    stage = tone(max_chars=max_chars)
    for _ in range(150):
        text = random_text(rng)
        result = stage.predict([Message("q", customer_name="Ana", agent_name="Sam", answer_text=text)])[0]
        out = str(result.extra["text"])
        before, after = facts(text, POLICY.product_names), facts(out, POLICY.product_names)
        assert not set(before - after) - {"<neg>"}, (text, out)  # every literal fact survives
        assert after["<neg>"] <= before["<neg>"], (text, out)  # no negation is ever added
        if max_chars == 900:  # nothing trimmed: not one negation lost either
            assert after["<neg>"] == before["<neg>"], (text, out)
        assert len(out) <= max_chars or "over_length" in result.extra["flags"], (text, out)


def test_score_reflects_the_policy() -> None:
    stage = tone()
    good = stage.score("Hi Anna,\n\nYou'll see it soon. It's on its way.\n\nBest,\nSam", customer_name="Anna")
    bad = stage.score("Unfortunately we do not know. As per policy you will wait.", customer_name="Anna")
    assert good.overall == 1.0 and good.greeting_present and good.signoff_present
    assert bad.overall < 0.5 and bad.avoided == ["unfortunately", "as per"] and bad.contractions_missed == 2
    long = stage.score("word " * 1000)
    assert long.length_ratio > 1 and 0.0 <= long.overall <= 1.0
    assert ToneStage().score("x").overall >= 0.0  # works unfitted, with the default policy
    assert good.as_dict()["overall"] == 1.0


def test_abstains_without_answer_text_handles_huge_and_round_trips(tmp_path: Path) -> None:
    stage = tone()
    empty, blank = stage.predict([Message("q"), Message("q", answer_text="   ")])
    assert empty.abstained and blank.abstained and empty.reason
    huge = stage.predict([Message("q", answer_text="We do not know. " * 5000)])[0]
    assert len(huge.extra["text"]) <= POLICY.max_chars
    loaded = ToneStage.load(stage.save(tmp_path / "tone.joblib"))
    batch = [Message("q", customer_name="Ana", answer_text="It is 5 days.")]
    assert [r.as_dict() for r in loaded.predict(batch)] == [r.as_dict() for r in stage.predict(batch)]
