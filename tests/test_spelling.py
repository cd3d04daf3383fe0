"""Spelling normalisation of typed messages (`supportcue.spelling`): misspelt words become the known
word one edit away, and everything else stays as typed."""

from __future__ import annotations

import pytest

from supportcue.spelling import correct, correct_word, vocabulary


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("payemnt", "payment"),  # swapped letters
        ("declned", "declined"),  # a dropped letter
        ("refundd", "refund"),  # a doubled letter
        ("transfering", "transferring"),  # a common misspelling
        ("subscripton", "subscription"),
        ("recieve", "receive"),
    ],
)
def test_a_misspelt_word_becomes_the_known_word_one_edit_away(typed: str, meant: str) -> None:
    assert correct_word(typed) == meant
    assert correct(f"why was my {typed} not ok") == f"why was my {meant} not ok"


@pytest.mark.parametrize(
    "text",
    [
        "defenestration of the supportcue widget",  # a rare but correct word; a word nothing is near
        "dont know whats up with todays payouts",  # contractions and possessives without apostrophes
        "My iPhone and the ATM",  # camel case and acronyms
        "ask Olly about it",  # capitalised mid-sentence: a name
        "card123, crad and crd",  # digits; under 5 letters: too many words one edit away to guess
        "I can't log in, isn't it odd?",
        "",
    ],
)
def test_known_words_names_and_short_words_are_left_as_typed(text: str) -> None:
    assert correct(text) == text


def test_case_and_punctuation_are_kept_and_correcting_twice_changes_nothing() -> None:
    assert correct("Payemnt declined! Transfering now.") == "Payment declined! Transferring now."
    for text in ["my payemnt was declned yesterday", "Transfering money to Lyft", "refundd pls"]:
        assert correct(correct(text)) == correct(text)


def test_the_vocabulary_is_general_english_plus_the_sentence_models_words() -> None:
    words = vocabulary()
    assert len(words) > 80_000
    assert words["the"] > words["payment"] > 0
    assert "payemnt" not in words


def test_the_first_text_loads_the_vocabulary_even_with_no_long_word(monkeypatch: pytest.MonkeyPatch) -> None:
    from supportcue import spelling

    monkeypatch.setattr(spelling, "_WORDS", {})
    assert correct("warm up") == "warm up"  # the service's warm-up text: no word to correct
    assert len(spelling._WORDS) > 80_000
