"""The consensus draft of a topic's replies: shared sentences kept in order, one-offs left out."""

from __future__ import annotations

from supportcue.consensus import consensus_draft, render, segments

INTROS = [
    "I understand that you want to cancel order {{Order Number}}.",
    "I see that you would like to cancel your order {{Order Number}}.",
    "I understand you want to cancel the order {{Order Number}}.",
]
STEPS = [
    ["Log in to your account on our {{Website Name}}.", "Log into your account on the {{Website Name}}."],
    ["Go to the {{Order History}} section.", "Navigate to the {{Order History}} section."],
    ["Click Cancel Order next to the order.", "Click the Cancel Order button next to the order."],
]
CLOSINGS = [
    "If you need more help, contact our support team at {{Customer Support Phone Number}}.",
    "If you need further help, please contact our support team at {{Customer Support Phone Number}}.",
]
ONE_OFFS = [
    "By the way, our summer sale starts on Friday with discounts on garden furniture.",
    "Fun fact: the warehouse cat is called Mittens and she loves cardboard boxes.",
]


def history(n: int = 24) -> list[str]:
    """n replies on one topic: an intro, three steps and a closing, each in one of a few wordings;
    two replies also carry a sentence nobody else writes."""
    replies = []
    for i in range(n):
        steps = "\n".join(f"{k + 1}. {wordings[i % 2]}" for k, wordings in enumerate(STEPS))
        extra = f" {ONE_OFFS[i]}" if i < len(ONE_OFFS) else ""
        replies.append(f"{INTROS[i % 3]} Please follow these steps:\n\n{steps}\n\n{CLOSINGS[i % 2]}{extra}")
    return replies


def test_shared_sentences_are_in_the_draft_in_their_order_one_offs_are_not() -> None:
    draft = consensus_draft(history())
    assert not any(one_off in draft for one_off in ONE_OFFS)
    assert "Please follow these steps:" in draft
    # One wording of each shared part, in the replies' order: intro, steps 1-3 (renumbered), closing.
    found = [
        min(draft.find(w) for w in group if w in draft)
        for group in (INTROS, STEPS[0], STEPS[1], STEPS[2], CLOSINGS)
        if any(w in draft for w in group)
    ]
    assert len(found) == 5 and found == sorted(found)
    assert sum(intro in draft for intro in INTROS) == 1  # alike sentences are alternatives, not repeats
    assert "\n1. Log" in draft and "\n2. " in draft and "\n3. Click" in draft and "\n4." not in draft


def test_placeholders_and_sentences_stay_verbatim() -> None:
    draft = consensus_draft(history())
    assert "{{Order Number}}" in draft and "{{Customer Support Phone Number}}" in draft
    sentences = {s.text for reply in history() for s in segments(reply)}
    assert all(s.text in sentences for s in segments(draft))  # whole sentences of the replies only


def test_one_reply_is_its_own_draft_and_no_text_gives_none() -> None:
    reply = "Thanks for asking. Refunds take 5 to 10 days.\n\n1. Open Payments.\n2. Pick the refund."
    assert consensus_draft([reply]) == reply
    assert consensus_draft(["", "   "]) == ""


def test_segments_and_render_keep_lists_and_paragraphs() -> None:
    reply = "Sure! Here is how.\n\n- Open Settings.\n- Pick Payouts.\n\nDone. Anything else?"
    parts = segments(reply)
    assert [(s.text, s.item) for s in parts] == [
        ("Sure!", False),
        ("Here is how.", False),
        ("Open Settings.", True),
        ("Pick Payouts.", True),
        ("Done.", False),
        ("Anything else?", False),
    ]
    assert parts[0].position < parts[-1].position
    assert render(parts) == reply


def test_a_list_keeps_its_first_items_style() -> None:
    """Items taken from a numbered and a bulleted list render in the style the list starts with."""
    numbered = segments("Steps:\n1. Open Settings.\n2. Pick Payouts.")
    bulleted = segments("Steps:\n- Open Settings.\n- Pick Payouts.")
    assert render([numbered[0], numbered[1], bulleted[2]]) == "Steps:\n\n1. Open Settings.\n2. Pick Payouts."
    assert render([bulleted[0], bulleted[1], numbered[2]]) == "Steps:\n\n- Open Settings.\n- Pick Payouts."


CASE_VALUES = [
    ("88213", "€49.90", "2026-10-03"),
    ("90412", "€120.00", "2026-10-07"),
    ("77310", "€15.50", "2026-11-01"),
]


def _refund_replies() -> list[str]:
    """Agents' replies sharing every sentence, one of them differing only in the case's own order
    number, amount and date."""
    replies = []
    for i in range(9):
        order, amount, date = CASE_VALUES[i % 3]
        replies.append(
            f"Thanks for your patience. The refund of {amount} for order {order} was sent on {date}. "
            "Refunds reach your card within 5 to 10 business days. Anything else I can help with?"
        )
    return replies


def test_a_shared_sentence_carries_placeholders_not_one_case_s_values() -> None:
    """The shared sentence was taken verbatim from one reply, with that customer's order number,
    amount and date in a draft offered as the topic's answer."""
    draft = consensus_draft(_refund_replies())
    for values in CASE_VALUES:
        for value in values:
            assert value not in draft, draft
    assert "The refund of {amount} for order {order_id} was sent on {date}." in draft, draft
    # what every reply says, figures included, stays as written
    assert "Refunds reach your card within 5 to 10 business days." in draft
    assert "Thanks for your patience." in draft


def test_figures_most_replies_share_are_kept_and_one_reply_is_its_own_draft() -> None:
    replies = ["Refunds take 5 to 10 business days. Order 88213 is on its way."] * 3 + [
        "Refunds take 3 to 5 business days. Order 88213 is on its way."
    ]
    draft = consensus_draft(replies)
    assert "Refunds take 5 to 10 business days." in draft and "Order 88213" in draft, draft
    reply = "The refund of €49.90 for order 88213 was sent on 2026-10-03."
    assert consensus_draft([reply]) == reply  # nothing to compare it with: the reviewer decides


def test_figures_side_by_side_are_told_apart() -> None:
    """Two figures after the same word ("at 10:30", "5 to 10") are two slots, not one: "10:30" read
    its "30" against the other replies' "10" and became "10:10"."""
    replies = [
        f"Order {n} is ready at 10:30 tomorrow. Pick it up at desk 4-B." for n in (88213, 90412, 77310)
    ]
    draft = consensus_draft(replies)
    assert "Order {order_id} is ready at 10:30 tomorrow." in draft, draft
    assert "desk 4-B" in draft
