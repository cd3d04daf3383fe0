"""The grounding check on hand-made drafts: what passes, and each way a draft can leave its sources
(a changed number, an invented link, name or sentence, a negated statement, a wrong citation)."""

from __future__ import annotations

import pytest

from supportcue.embeddings import HashingEmbedder
from supportcue.llm.grounding import GroundingCheck, names, strip_citations

SOURCES = [
    (
        "ans-refund",
        "Hi {customer_name},\n\nRefunds take 5 to 10 business days to reach the card. "
        "The processing fee of 2.9% is not returned. You can follow each refund under Payments → Refunds.",
    ),
    (
        "kb-plans",
        "The Growth plan costs $1,250.00 a year and includes two team members. "
        "Tillwick Shield screens every payment for fraud. Write to billing@tillwick.example with questions.",
    ),
]
CHECK = GroundingCheck(HashingEmbedder(dim=1024), floor=0.5, product_names=("Tillwick Shield",))
MESSAGE = "My refund of $30 from March 3 is missing"


def check(draft: str, known: tuple[str, ...] = ("Ana",)) -> str:
    result = CHECK.check(draft, SOURCES, MESSAGE, known)
    return "ok" if result.supported else result.reason()


@pytest.mark.parametrize(
    "draft",
    [
        "Refunds take 5 to 10 business days to reach the card [ans-refund].",
        "Hi Ana,\n\nRefunds take 5-10 business days to reach the card. [ans-refund]\n\nBest,\nSam",
        "The Growth plan costs $1250 a year and includes 2 team members [kb-plans].",
        "Your refund of $30 from March 3 takes 5 to 10 business days to reach the card [ans-refund].",
        "Thanks for your patience! The processing fee of 2.9% is not returned [ans-refund].",
        "Tillwick Shield screens every payment for fraud. Write to billing@tillwick.example with questions.",
        "The Growth Plan costs $1,250.00 a year and includes two team members [kb-plans].",
    ],
    ids=[
        "verbatim",
        "greeting, range and sign-off",
        "numbers by value",
        "the message's facts",
        "courtesy",
        "names",
        "a name Title-Cased",
    ],
)
def test_a_faithful_draft_passes(draft: str) -> None:
    assert check(draft) == "ok"


@pytest.mark.parametrize(
    ("draft", "reason"),
    [
        (
            "Refunds take 5 to 12 business days to reach the card [ans-refund].",
            "facts not in the sources: 12",
        ),
        ("The processing fee of 2.9 days is not returned [ans-refund].", "facts not in the sources: 2.9"),
        ("The processing fee of 5% is not returned [ans-refund].", "facts not in the sources: 5%"),
        ("Refunds take 5 to 10 business days; see https://tillwick.example/r [ans-refund].", "https://"),
        ("Write to help@tillwick.example with questions [kb-plans].", "facts not in the sources: [email]"),
        (
            "Refunds take 5 to 10 business days, until Friday [ans-refund].",
            "facts not in the sources: Friday",
        ),
        ("The Platinum plan costs $1,250.00 a year and includes two team members.", "Platinum"),
        ("Tillwick Shield Pro screens every payment for fraud.", "facts not in the sources: Pro"),
        (
            "The processing fee of 2.9% is returned [ans-refund].",
            "statement 1 contradicts [ans-refund] (a negation)",
        ),
        (
            "Refunds take 5 to 10 business days to reach the card [kb-refunds].",
            "cites [kb-refunds], which is not",
        ),
        (
            "Refunds take 5 to 10 business days to reach the card [kb-plans].",
            "cites [kb-plans], which does not say",
        ),
        (
            "Refunds take 5 to 10 business days to reach the card. A courier collects parcels at your door.",
            "statement 2 is not supported by any source",
        ),
        (
            "Refunds take 5 to 10 business days. Let me know if you want a paper cheque by courier.",
            "statement 2 is not supported by any source",
        ),
    ],
    ids=[
        "changed number",
        "a percentage as a number",
        "changed percentage",
        "invented URL",
        "invented email",
        "invented weekday",
        "invented plan",
        "invented product",
        "negation",
        "unknown citation",
        "wrong citation",
        "invented sentence",
        "invented sentence that starts like courtesy",
    ],
)
def test_an_unfaithful_draft_fails_with_the_reason(draft: str, reason: str) -> None:
    assert reason in check(draft)


def test_the_verdict_for_the_trace_has_no_text_and_no_personal_data() -> None:
    result = CHECK.check("Write to ana@private.example now. [kb-plans]", SOURCES, MESSAGE)
    shown = result.as_dict()
    assert shown["passed"] is False and shown["unsupported_facts"] == ["[email]"]
    assert shown["citations"] == ["kb-plans"] and "ana@private" not in str(shown) + result.reason()
    assert set(shown) == {
        "passed",
        "floor",
        "min_support",
        "citations",
        "unsupported_facts",
        "unsupported_statements",
        "contradictions",
        "bad_citations",
    }


def test_citations_are_stripped_for_the_agent() -> None:
    assert (
        strip_citations("Refunds take 5 days [ans-1]. Fees stay [kb-2] [kb-3].")
        == "Refunds take 5 days. Fees stay."
    )


def test_names_are_capitalised_words_inside_sentences() -> None:
    assert names("Go to Settings → Billing and pick Growth. Then ask Ana.") == [
        "Settings",
        "Billing",
        "Growth",
        "Ana",
    ]
    assert names("Refunds arrive in 5 days. I think so: Yes.") == []


def test_no_sources_supports_nothing() -> None:
    result = GroundingCheck(HashingEmbedder(dim=256)).check("Refunds take 5 days to arrive.", [], "")
    assert not result.supported and result.unsupported_facts == ("5",)


@pytest.mark.parametrize(
    ("draft", "word"),
    [
        ("Refunds take seven business days to reach the card [ans-refund].", "seven"),
        ("The Growth plan costs $1,250.00 a year and includes four team members [kb-plans].", "four"),
        ("Refunds take Twelve business days to reach the card [ans-refund].", "Twelve"),
    ],
)
def test_a_number_written_in_words_must_be_in_the_sources(draft: str, word: str) -> None:
    assert f"facts not in the sources: {word}" in check(draft)


def test_numbers_written_in_words_that_are_in_the_sources_pass() -> None:
    assert check("Refunds take five to ten business days to reach the card [ans-refund].") == "ok"
    assert check("The Growth plan includes 2 team members, and one plan costs $1,250.00 a year.") == "ok"


@pytest.mark.parametrize(
    ("draft", "fact"),
    [
        ("Refunds take 5 to 10 business weeks to reach the card [ans-refund].", "10 weeks"),
        ("Refunds take 5 to 10 hours to reach the card [ans-refund].", "10 hours"),
        ("The Growth plan costs $1,250.00 a month and includes two team members [kb-plans].", "1250 a month"),
    ],
)
def test_a_number_with_another_unit_or_period_is_not_in_the_sources(draft: str, fact: str) -> None:
    assert f"facts not in the sources: {fact}" in check(draft)


def test_the_same_durations_and_periods_in_other_words_pass() -> None:
    assert check("Refunds take 5-10 days to reach the card [ans-refund].") == "ok"
    assert check("The Growth plan costs $1250 per year and includes two team members [kb-plans].") == "ok"
