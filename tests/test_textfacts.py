"""The facts of a text (supportcue.textfacts): what the tone stage keeps and the grounding check compares."""

from __future__ import annotations

from supportcue.textfacts import fact_tokens, facts, facts_kept, is_subsequence, protected_spans


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


def test_fact_tokens_are_in_order_and_code_is_read_as_its_name() -> None:
    text = (
        'Add "Block if :risk_score: > 80" or use `card_country` != ip_country on charge.refunded, e.g. now.'
    )
    assert fact_tokens(text) == [
        '"Block if :risk_score: > 80"',
        "risk_score",
        ">",
        "80",
        "card_country",
        "!=",
        "ip_country",
        "charge.refunded",
    ]
    assert facts("Set `risk_score` high")["risk_score"] == facts("Set :risk_score: high")["risk_score"] == 1


def test_quoted_labels_are_facts_in_any_quotes_and_apostrophes_are_not_quotes() -> None:
    for label in [
        '"Can\'t access your device?"',
        "“Can’t access your device?”",
        "‘Can’t access your device?’",
    ]:
        assert fact_tokens(f"Click {label} on the page.") == [
            '"Can\'t access your device?"'.replace("'", label[4])
        ]
    assert fact_tokens("The customers' payouts and the customer's 'Pay out' button") == ['"Pay out"']
    assert fact_tokens('He wrote "' + "word " * 20 + '"') == []  # a passage, not a label


def test_protected_spans_cover_code_urls_numbers_labels_and_punctuation_runs() -> None:
    text = 'Open Settings → ... → Roll, keep pk_live_... and "Can\'t access it?" at https://x.example/a. $15.'
    found = [text[s:e] for s, e in protected_spans(text)]
    assert found == ["→", "...", "→", "pk_live_...", '"Can\'t access it?"', "https://x.example/a", "$15"]


def test_is_subsequence() -> None:
    assert is_subsequence(["a", "b"], ["x", "a", "y", "b"]) and is_subsequence([], ["a"])
    assert not is_subsequence(["b", "a"], ["a", "b"]) and not is_subsequence(["a", "a"], ["a"])


def test_an_address_written_out_is_the_address_as_usually_written() -> None:
    """The privacy masker read "jane dot doe at gmail dot com" as an address, the facts did not (or
    read "jane.doe at gmail.com" as two names): a draft that wrote the customer's address as usual
    stated a fact the customer had never given. The masker's own rule says what is an address."""
    assert fact_tokens("Write to jane dot doe at gmail dot com today.") == ["jane.doe@gmail.com"]
    assert fact_tokens("It is jane.doe at gmail.com, or jane(at)example(dot)org.") == [
        "jane.doe@gmail.com",
        "jane@example.org",
    ]
    assert facts("jane@gmail dot com") == facts("jane@gmail.com")
    assert fact_tokens("I bought it at amazon.com and we meet at the cafe dot") == ["amazon.com"]
    assert protected_spans("Mail jane dot doe at gmail dot com.")[0] == (5, 34)
