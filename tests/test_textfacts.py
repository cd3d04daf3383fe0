"""The facts of a text (supportcue.textfacts): what the tone stage keeps and the grounding check compares."""

from __future__ import annotations

from supportcue.textfacts import facts, facts_kept


def test_facts_extraction() -> None:
    text = (
        "Pay 2.9% + 30¢ (or $1,200.50) by May 3, 2024 at https://stripe.com/docs. "
        "Email help@stripe.com about order A-123 in Stripe Radar; {{Order Number}} is not needed."
    )
    found = facts(text, ["Stripe Radar"])
    for fact in ["2.9%", "30¢", "$1,200.50", "May", "3", "2024", "https://stripe.com/docs", "help@stripe.com",
                 "A-123", "Stripe Radar", "{{Order Number}}"]:  # fmt: skip
        assert found[fact] >= 1, fact
    assert found["<neg>"] == 1


def test_facts_kept_compares_literal_facts_and_negations() -> None:
    assert facts_kept("Pay $15 by May 3.", "You pay $15 by May 3, please.")
    assert not facts_kept("Pay $15 by May 3.", "Pay $20 by May 3.")
    assert not facts_kept("We do not refund fees.", "We refund fees.")
    assert facts_kept("We do not refund $15.", "Refunds: $15.", negations=False)
