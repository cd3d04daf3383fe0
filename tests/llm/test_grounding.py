"""The grounding check on hand-made drafts: what passes, and each way a draft can leave its sources
(a changed number, an invented link, name or sentence, a negated statement, a wrong citation)."""

from __future__ import annotations

import time

import pytest

from supportcue.embeddings import HashingEmbedder
from supportcue.llm.grounding import GroundingCheck, _contrast, names, strip_citations

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
DECLINE = (
    "ans-decline",
    "The payment was declined by the customer's bank, not by Tillwick. "
    "Payouts go not to the card but to the linked bank account.",
)
CHECK = GroundingCheck(HashingEmbedder(dim=1024), floor=0.5, product_names=("Tillwick Shield",))
MESSAGE = "My refund of $30 from March 3 is missing"


def check(draft: str, known: tuple[str, ...] = ("Ana",), sources: list[tuple[str, str]] = SOURCES) -> str:
    result = CHECK.check(draft, sources, MESSAGE, known)
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


@pytest.mark.parametrize(
    "draft",
    [
        "Thanks for reaching out! Let me know if you have any other questions.",
        "I'm sorry, I don't have that information.",
        "Hi Ana,\n\nHappy to help!\n\nBest,\nSam",
    ],
    ids=["courtesy only", "a refusal in words", "greeting and sign-off"],
)
def test_a_draft_that_states_nothing_from_its_sources_fails(draft: str) -> None:
    """Courtesy needs no source, but a draft of courtesy alone answers nothing: it passed, with
    confidence 1.0."""
    result = CHECK.check(draft, SOURCES, MESSAGE, ("Ana",))
    assert not result.supported
    assert "the draft states nothing from its sources" in result.reason()


@pytest.mark.parametrize(
    ("message", "address"),
    [
        ("Send it to jane dot doe at gmail dot com", "jane.doe@gmail.com"),
        ("Send it to jane.doe at gmail.com", "jane.doe@gmail.com"),
        ("Send it to jane.doe@gmail.com", "jane dot doe at gmail dot com"),
    ],
)
def test_an_address_the_customer_wrote_out_is_the_same_fact_written_as_usual(
    message: str, address: str
) -> None:
    """A customer who spelled out an address ("jane dot doe at gmail dot com", so that bots do not
    read it) got no draft when the model wrote it as usual: "facts not in the sources: [email]"."""
    draft = f"Write to billing@tillwick.example with questions, and we answer {address} [kb-plans]."
    assert CHECK.check(draft, SOURCES, message).supported
    other = draft.replace("jane", "joan")
    assert "facts not in the sources: [email]" in CHECK.check(other, SOURCES, message).reason()


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


@pytest.mark.parametrize(
    "draft",
    [
        "The payment was declined by Tillwick, not by the customer's bank [ans-decline].",
        "Payouts go not to the linked bank account but to the card [ans-decline].",
        "Payouts go to the card, not to the linked bank account [ans-decline].",
        "The payment was declined not by the customer's bank but by Tillwick [ans-decline].",
    ],
    ids=["X, not Y swapped", "not X but Y swapped", "Y, not X from not X but Y", "not X but Y from Y, not X"],
)
def test_a_negation_moved_to_the_other_side_of_a_contrast_fails(draft: str) -> None:
    """ "Not X but Y" said as "not Y but X" (or "X, not Y") keeps one negation on each side, so the
    parity check took it for the source's statement: the draft said the opposite of its source."""
    assert "statement 1 contradicts [ans-decline] (a negation)" in check(draft, sources=[*SOURCES, DECLINE])


@pytest.mark.parametrize(
    "draft",
    [
        "The payment was declined by the customer's bank, not by Tillwick [ans-decline].",
        "The payment was declined not by Tillwick but by the customer's bank [ans-decline].",
        "Payouts go to the linked bank account, not to the card [ans-decline].",
        "Payouts go not to the card but to the linked bank account [ans-decline].",
    ],
    ids=["verbatim X, not Y", "as not Y but X", "as Y, not X", "verbatim not X but Y"],
)
def test_a_contrast_said_the_other_way_round_passes(draft: str) -> None:
    assert check(draft, sources=[*SOURCES, DECLINE]) == "ok"


def test_what_a_contrast_denies_and_affirms() -> None:
    assert _contrast("Payouts go not to the card but to the linked bank account.") == (
        {"card"},
        {"linked", "bank", "account"},
    )
    assert _contrast("It was declined by the bank, not by Tillwick.") == ({"tillwick"}, {"declined", "bank"})
    assert _contrast("Payouts go not only to the card but also to the bank.") == (set(), set())
    assert _contrast("This is not possible.") == (set(), set())
    started = time.perf_counter()
    _contrast("word " * 20_000 + "not here")  # bounded: no backtracking over a long text
    assert time.perf_counter() - started < 10  # quadratic takes minutes; 0.6 s on a loaded box
