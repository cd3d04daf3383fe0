"""The match definition on hand-made pairs: what agents do to a suggestion they used, and what they send
instead when they did not use it."""

from __future__ import annotations

import pytest

from supportcue.monitoring.match import (
    MatchResult,
    distribution,
    is_match,
    normalise,
    similarity,
    token_similarity,
)

ANSWER = (
    "You can pause payouts from the Dashboard: open Settings, then Payouts, and choose Pause. "
    "Payments keep arriving in your balance while payouts are paused, and you can resume them at any time."
)
REFUND = (
    "Refunds go back to the original payment method and take 5 to 10 business days to appear. "
    "You can follow the status of each refund on the Payments page."
)

MATCHING = [
    ("personalised", ANSWER, f"Hi Anna,\n\n{ANSWER}\n\nBest,\nSam", "Anna"),
    (
        "greeting changed",
        f"Hi there,\n{ANSWER}\nBest,\nThe support team",
        f"Hello Anna,\n{ANSWER}\nKind regards",
        "Anna",
    ),
    ("typo fixed", ANSWER.replace("Payouts", "Paouts"), ANSWER, None),
    (
        "sentence added",
        ANSWER,
        ANSWER + " Let me know if you have any other questions about your account.",
        None,
    ),
    (
        "placeholder filled",
        "Hi {customer_name}, your order {{Order Number}} ships today via UPS and arrives Friday.",
        "Hi Anna, your order A-1234 ships today via UPS and arrives Friday.",
        "Anna",
    ),
    (
        "name in the body",
        "Thanks for waiting, {customer_name}. " + REFUND,
        "Thanks for waiting, Anna Lee. " + REFUND,
        "Anna Lee",
    ),
    ("punctuation and case", REFUND, REFUND.upper().replace(".", "!"), None),
    ("a word swapped", ANSWER, ANSWER.replace("choose", "click"), None),
    ("thanks sign-off", REFUND, f"{REFUND}\n\nThanks, Sam", None),
    ("reworded opening", REFUND, "Good news: " + REFUND, None),
]

NOT_MATCHING = [
    (
        "other answer, same topic",
        ANSWER,
        "Payouts can't be paused for accounts in Brazil; instead, change the payout schedule to monthly "
        "under Settings so that funds stay in your balance longer.",
        None,
    ),
    ("generic holding reply", "Let me check that for you.", ANSWER, None),
    ("generic inside a long reply", "Let me check.", "Let me check. " + ANSWER, None),
    ("empty sent", ANSWER, "", None),
    ("whitespace sent", ANSWER, "  \n ", None),
    ("greeting only sent", ANSWER, "Hi Anna,\n\nBest,\nSam", "Anna"),
    ("other topic", ANSWER, REFUND, None),
    ("only the greeting in common", f"Hi Anna,\n{ANSWER}", f"Hi Anna,\n{REFUND}", "Anna"),
    ("half the suggestion dropped", ANSWER + " " + REFUND, "Refunds take a while.", None),
    ("empty suggestion", "", ANSWER, None),
]


@pytest.mark.parametrize(("case", "suggested", "sent", "name"), MATCHING, ids=[c[0] for c in MATCHING])
def test_pairs_that_must_match(case: str, suggested: str, sent: str, name: str | None) -> None:
    assert is_match(suggested, sent, customer_name=name), (case, similarity(suggested, sent, name))


@pytest.mark.parametrize(
    ("case", "suggested", "sent", "name"), NOT_MATCHING, ids=[c[0] for c in NOT_MATCHING]
)
def test_pairs_that_must_not_match(case: str, suggested: str, sent: str, name: str | None) -> None:
    assert not is_match(suggested, sent, customer_name=name), (case, similarity(suggested, sent, name))


def test_normalise_strips_salutations_placeholders_name_and_punctuation() -> None:
    text = "Hi Anna,\n\nYour order {{Order Number}} for {customer_name} ships TODAY!\n\nBest,\nSam"
    assert normalise(text, customer_name="Anna Lee") == "your order for ships today"
    assert normalise("Hello,\nIt's   done.\nKind regards") == "it's done"
    assert (
        normalise("Thanks for reaching out. We can help.\nThanks, Sam")
        == "thanks for reaching out we can help"
    )
    assert normalise("") == ""


def test_similarity_is_in_unit_interval_and_identity_is_one() -> None:
    for suggested, sent in [(ANSWER, ANSWER), (ANSWER, REFUND), ("a", "b"), ("", ""), (ANSWER, "")]:
        assert 0.0 <= similarity(suggested, sent) <= 1.0
    assert similarity(ANSWER, ANSWER) == pytest.approx(1.0)
    assert similarity("", "") == 0.0


def test_the_threshold_is_configurable() -> None:
    score = similarity(ANSWER, REFUND)
    assert is_match(ANSWER, REFUND, threshold=score)
    assert not is_match(ANSWER, REFUND, threshold=min(1.0, score + 0.01))
    assert not is_match(None, ANSWER)


def test_match_result_and_distribution() -> None:
    assert MatchResult.of(ANSWER, ANSWER).matched
    assert MatchResult.of(None, ANSWER) == MatchResult(0.0, False)
    dist = distribution([1.0, 0.75, 0.2, None], threshold=0.7, bins=10)
    assert dist.n == 4 and dist.match_rate == 0.5
    assert dist.mean == pytest.approx(1.95 / 4)
    assert sum(dist.histogram) == 4 and dist.histogram[-1] == 1 and dist.histogram[0] == 1
    assert dist.as_dict()["match_rate"] == 0.5
    assert distribution([]).n == 0


def test_the_words_kept_are_the_longest_common_subsequence() -> None:
    """M counts the most words found in the same order. difflib's greedy blocks took the first
    "please" and found 1 of the 2 here ("check ... please"), halving the similarity."""
    a, b = ["please", "check", "please"], ["check", "your", "please"]
    assert token_similarity(a, b) == pytest.approx(2 / 3)  # kept = share = 2/3
    assert token_similarity(["x", "y"], ["z"]) == 0.0
    assert token_similarity([], []) == 1.0 and token_similarity(["x"], []) == 0.0


def test_a_sent_email_reply_with_quoted_history_and_signature_still_matches() -> None:
    """The agent's reply, sent from an email inbox, carries its signature and the customer's quoted
    message: the words the agent wrote are what is compared."""
    suggested = "You can pause payouts in Settings, under Payouts. The pause starts at once."
    sent = (
        "Hi Ana,\n\nYou can pause payouts in Settings, under Payouts. The pause starts at once.\n\n"
        "Best regards,\nSam\n-- \nSam Carter | Customer Support | Example Ltd\n"
        "+44 20 7946 0000 | example.com\n\n"
        "On Mon, 3 Nov 2026 at 10:02, Ana Lopez <ana@customer.example> wrote:\n"
        "> Hello, my shop sells seasonal goods and I would like to stop receiving payouts during the\n"
        "> winter months while the shop is closed, because my bank charges a fee for each transfer.\n"
        "> Is that possible and what happens to orders that are still open? Thanks, Ana"
    )
    assert is_match(suggested, sent)
    outlook = sent.split("On Mon")[0] + (
        "-----Original Message-----\nFrom: Ana Lopez <ana@customer.example>\nSent: Monday\n"
        "Subject: payouts\n\nI would like to stop receiving payouts during the winter months while closed."
    )
    assert is_match(suggested, outlook)


def test_a_signature_block_after_the_sign_off_is_not_part_of_the_reply() -> None:
    """An agent's e-mail signature (name, title, company, address, phone) after "Kind regards," made
    the suggestion, sent word for word, a miss (0.59): the block was counted as words the agent wrote."""
    suggested = "You can pause payouts in Settings."
    sent = (
        "Hi Ana,\nYou can pause payouts in Settings.\n\nKind regards,\nSam Carter\n"
        "Senior Support Specialist\nExample Payments Ltd | 1 Main Street, London\n"
        "www.example.com | +44 20 7946 0000"
    )
    assert similarity(suggested, sent) == 1.0
    # a sign-off line inside the reply, followed by what the agent wrote, stays
    told = "Sure.\nThanks,\nyou can pause payouts in Settings.\nIt takes a day, Ana"
    assert normalise(told) == "sure thanks you can pause payouts in settings it takes a day ana"
