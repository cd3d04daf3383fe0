"""Property-based tests of the tone stage (hypothesis, bounded and derandomized so they take seconds):
over every demo answer and over generated texts that mix sentences, code tokens, quoted labels, URLs,
amounts and numbers, under generated policies,

- every fact-like token of the answer is in the suggestion, in order (`textfacts.fact_tokens`), and
  no negation is added (or lost, unless a sentence was dropped);
- every protected span (code, URL, number, quoted label, punctuation run) is in it verbatim, in
  order, unless the flags say a sentence went;
- every difference between the answer and the suggestion is named by a flag: a suggestion that
  differs with no flag to say why fails.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportcue.demo.catalog import body
from supportcue.demo.catalog_answers import APPROVED, DRAFT_OUTDATED_REPLACEMENT, RETIRED
from supportcue.settings import ToneSettings
from supportcue.stages.base import Message
from supportcue.stages.tone import ToneStage
from supportcue.textfacts import fact_tokens, facts, is_subsequence, protected_spans

BOUNDED = settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
PRODUCTS = ["Tillwick", "Tillwick Shield"]
DROPS = ("sentence dropped", "trimmed", "greeting removed", "sign-off removed")

DEMO_ANSWERS = (
    [body(spec) for specs in APPROVED.values() for spec in specs]
    + [body(spec) for _, spec in RETIRED]
    + [body(DRAFT_OUTDATED_REPLACEMENT)]
)
DEMO_VALUES = {
    "customer_name": "Ana",
    "payout_id": "po_1Q2w3E",
    "amount": "$1,250.00",
    "last4": "4242",
    "charge_id": "ch_3Mx9",
    "dispute_id": "dp_77",
    "due_date": "May 3, 2026",
    "payout_date": "2026-10-14",
    "event_id": "evt_1Nv0",
    "subscription_id": "sub_9",
    "invoice_id": "in_42",
    "tax_year": "2025",
    "account_id": "acct_1Nv0FGQ9",
}

# Replacements and avoided phrases, some of which also occur inside protected tokens ("risk_score",
# "example", "80", "in order to" in a URL or in backticks): the masks must keep those untouched.
REPLACE = {
    "utilize": "use",
    "in order to": "to",
    "kindly": "please",
    "please be advised that": "",
    "the dashboard": "your Dashboard",
    "check": "look at",
    "payouts": "",
    "risk_score": "risk",
    "example": "sample",
    "80": "eighty",
    "device": "phone",
}
AVOID = ["unfortunately", "as per", "per our policy", "sadly", "check", "device", "sign-in"]


@st.composite
def policies(draw: st.DrawFn) -> ToneSettings:
    return ToneSettings(
        contractions=draw(st.booleans()),
        max_chars=draw(st.sampled_from([60, 200, 400, 900])),
        replace={
            k: REPLACE[k] for k in draw(st.lists(st.sampled_from(sorted(REPLACE)), unique=True, max_size=6))
        },
        avoid=draw(st.lists(st.sampled_from(AVOID), unique=True, max_size=4)),
        product_names=PRODUCTS,
    )


WORDS = ["payouts", "your account", "the dashboard", "refunds", "we", "check", "the fee", "arrive",
         "settings", "click", "on the sign-in page", "next to", "if", "Tillwick Shield"]  # fmt: skip
STYLE = ["Unfortunately,", "as per our policy", "in order to", "Please be advised that", "we do not",
         "you will", "it is", "kindly", "cannot", "utilize", "at this point in time", "sadly",
         "That is"]  # fmt: skip
CODE = [":risk_score:", "card_country != ip_country", "`do not retry`", "`in order to`", "charge.refunded",
        "pk_live_...", "requires_payment_method", "paymentIntent", "Block if :risk_score: > 80",
        ":card_country: != :ip_country:", "x >= 80"]  # fmt: skip
LINKS = ["https://help.example.com/in-order-to", "https://x.example/utilize?x=1&y=2", "www.example.com/a_b",
         "no-reply@tillwick.example", "{order_id}", "{{Order Number}}"]  # fmt: skip
AMOUNTS = ["$1,200.50", "2.9% + 30¢", "€15", "1%", "A-123", "acct_1Nv0FGQ9", "2024-05-01", "May 3, 2024",
           "7 days", "80"]  # fmt: skip
PUNCT = ["...", "→", "->", "?!", "(see below)", ";"]
LABEL_INSIDE = ["Can't access your device?", "Locked out? start here", "Do not show again", "Kindly retry",
                "Pay out funds", "It is 80? check it"]  # fmt: skip
QUOTES = [('"', '"'), ("“", "”"), ("‘", "’"), ("«", "»")]


@st.composite
def labels(draw: st.DrawFn) -> str:
    opening, closing = draw(st.sampled_from(QUOTES))
    return opening + draw(st.sampled_from(LABEL_INSIDE)) + closing


BIT = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(STYLE),
    st.sampled_from(CODE),
    st.sampled_from(LINKS),
    st.sampled_from(AMOUNTS),
    st.integers(0, 10**7).map(str),
    st.sampled_from(PUNCT),
    labels(),
)


@st.composite
def texts(draw: st.DrawFn) -> str:
    out = []
    for _ in range(draw(st.integers(1, 7))):
        bits = draw(st.lists(BIT, min_size=2, max_size=9))
        sentence = " ".join(bits)
        if draw(st.booleans()):
            sentence = sentence[0].upper() + sentence[1:]
        out.append(sentence + draw(st.sampled_from([".", "!", "?", ".\n", ".\n\n", "", ","])))
    if draw(st.booleans()):
        out.insert(0, draw(st.sampled_from(["Hello,\n\n", "Hi Ana,\n", "Dear Ana,\n\n"])))
    if draw(st.booleans()):
        out.append(draw(st.sampled_from(["\n\nBest,\nJo", "\n\nThanks!", "\n\nKind regards,\nThe team"])))
    return " ".join(out)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[\w'’]+", text.lower())}


def _explains(flag: str, old: str, new: str) -> bool:
    """A flag accounts for a changed chunk: a dropped sentence or salutation for lost words only,
    a phrase change for a chunk that shares a word with the phrase or its replacement."""
    kind, _, detail = flag.partition(": ")
    if kind in DROPS:
        return _words(new) <= _words(old)
    return bool(_words(detail.replace(" -> ", " ")) & (_words(old) | _words(new)))


def unexplained(before: str, after: str, flags: Sequence[str]) -> list[tuple[str, str]]:
    """Word-level differences between `before` and `after` that no flag accounts for."""
    a, b = before.split(), after.split()
    missing = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        old, new = " ".join(a[i1:i2]), " ".join(b[j1:j2])
        if op != "equal" and not any(_explains(f, old, new) for f in flags):
            missing.append((old, new))
    return missing


def check(text: str, policy: ToneSettings) -> None:
    stage = ToneStage(policy).fit()
    result = stage.predict([Message("q", customer_name="Ana", agent_name="Sam", answer_text=text)])[0]
    assert not result.abstained
    out, flags = str(result.extra["text"]), tuple(result.extra["flags"])

    # Facts: all there, in order; negations neither added nor (unless a sentence went) lost.
    assert is_subsequence(fact_tokens(text, PRODUCTS), fact_tokens(out, PRODUCTS)), (text, out, flags)
    before_neg, after_neg = facts(text)["<neg>"], facts(out)["<neg>"]
    assert after_neg <= before_neg, (text, out)
    if not any(f.startswith(DROPS[:2]) for f in flags):
        assert after_neg == before_neg, (text, out, flags)

    # Protected spans: verbatim and in order, unless the sentence holding one was dropped.
    cursor = 0
    for start, end in protected_spans(text):
        found = out.find(text[start:end], cursor)
        if found < 0:
            assert any(f.startswith(DROPS) for f in flags), (text[start:end], text, out, flags)
            continue
        cursor = found + end - start

    # Flags: the greeting and sign-off said to be added are there; every other difference is named.
    # A salutation the answer already had, the same as the policy's, is kept with no flag.
    greeting, signoff = "Hi Ana,", "Best,\nSam"
    starts, ends = out.startswith(greeting + "\n\n"), out.endswith("\n\n" + signoff)
    own_greeting, own_signoff = (
        starts and "greeting added" not in flags,
        ends and "sign-off added" not in flags,
    )
    assert starts or "greeting added" not in flags
    assert ends or "sign-off added" not in flags
    lines = text.strip().splitlines()
    assert not own_greeting or lines[0].strip() == greeting, (text, out, flags)
    assert not own_signoff or [ln.strip() for ln in lines[-2:]] == signoff.split("\n"), (text, out, flags)
    assert not (own_greeting and "greeting removed" in flags), flags
    assert not (own_signoff and "sign-off removed" in flags), flags
    before = "\n".join(lines[int(own_greeting) : len(lines) - 2 * int(own_signoff)]).strip()
    styled = out.removeprefix(greeting + "\n\n").removesuffix("\n\n" + signoff)
    if styled != before:
        assert set(flags) - {"greeting added", "sign-off added", "over_length"}, (text, out)
    assert not unexplained(before, styled, flags), (text, out, flags)
    assert len(out) <= policy.max_chars or "over_length" in flags, (text, out)


@BOUNDED
@given(text=texts(), policy=policies())
def test_generated_texts_keep_facts_and_protected_spans_and_flag_each_change(
    text: str, policy: ToneSettings
) -> None:
    check(text, policy)


@BOUNDED
@given(answer=st.sampled_from(DEMO_ANSWERS), filled=st.booleans(), policy=policies())
def test_demo_answers_keep_facts_and_protected_spans_and_flag_each_change(
    answer: str, filled: bool, policy: ToneSettings
) -> None:
    text = answer.format_map(DEMO_VALUES) if filled else answer
    check(text, policy)


def test_every_demo_answer_under_the_default_policy() -> None:
    for answer in DEMO_ANSWERS:
        check(answer.format_map(DEMO_VALUES), ToneSettings(product_names=PRODUCTS))
