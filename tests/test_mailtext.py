"""An email body read as what its writer typed: no quoted history, signature, footer or HTML."""

from __future__ import annotations

import time

import pytest

from supportcue.mailtext import clean

QUESTION = "How do I export my invoices?"
EMAILS = {
    "gmail reply": f"{QUESTION}\n\nOn Mon, 3 Nov 2026 at 10:02, Sam <sam@help.example> wrote:\n> You can.",
    "wrapped attribution": f"{QUESTION}\n\nOn Mon, 3 Nov 2026 at 10:02, Support <h@x.example>\nwrote:\n> old",
    "german attribution": f"{QUESTION}\n\nAm 03.11.2026 um 10:02 schrieb Sam <sam@help.example>:\n> alt",
    "outlook block": (
        f"{QUESTION}\n\n________________________________\nFrom: Sam <sam@help.example>\n"
        "Sent: Monday, November 3, 2026 10:02 AM\nTo: Ana <ana@c.example>\nSubject: RE: payouts\n\nold"
    ),
    "original message": f"{QUESTION}\n-----Original Message-----\nFrom: sam@help.example\nSent: Mon\nold",
    "signature delimiter": f"{QUESTION}\n\n-- \nAna Lopez\nACME Ltd | +44 20 7946 0000",
    "mobile and footer": (
        f"{QUESTION}\n\nSent from my iPhone\n\nThis email and any attachments are confidential and "
        "intended solely for the addressee."
    ),
    "html": (
        f'<div dir="ltr">{QUESTION}<br></div><div class="gmail_quote">On Mon, 3 Nov 2026 Sam '
        "&lt;sam@help.example&gt; wrote:<blockquote>old</blockquote></div>"
    ),
}


@pytest.mark.parametrize("name", EMAILS)
def test_an_email_is_read_as_its_new_text(name: str) -> None:
    assert clean(EMAILS[name]) == QUESTION


def test_a_bare_forward_is_read_as_the_forwarded_body() -> None:
    forward = (
        "---------- Forwarded message ---------\nFrom: Bank <bank@b.example>\nDate: Mon, Nov 3, 2026\n"
        "Subject: Payout failed\nTo: <me@me.example>\n\nYour payout of 200 EUR failed.\n"
    )
    assert clean(forward) == "Your payout of 200 EUR failed."


@pytest.mark.parametrize(
    "header",
    [
        "---------- Forwarded message ---------\nFrom: Bank <bank@b.example>\nDate: Mon, Nov 3, 2026\n"
        "Subject: Payout failed\nTo: <me@me.example>",
        "Begin forwarded message:\n\nFrom: Bank <bank@b.example>\nSubject: Payout failed",
    ],
)
def test_a_question_above_a_forward_is_read_with_the_forwarded_body(header: str) -> None:
    """'Why did this happen?' above a forwarded bank notice was read as the question alone: the
    forward is what the customer sends now (not the exchange's history, as a quoted reply is), and
    without it the question says too little to suggest anything. Its header lines stay out."""
    forward = (
        f"Why did this happen? Can you help?\n\n{header}\n\nYour payout of 200 EUR failed.\n\n"
        "On Sun, 2 Nov 2026 at 09:00, Bank <bank@b.example> wrote:\n> older notice\n> more"
    )
    assert clean(forward) == "Why did this happen? Can you help?\n\nYour payout of 200 EUR failed."


@pytest.mark.parametrize(
    "text",
    [
        "how do I pause a payout? a < b > c",
        "On my invoice the VAT is wrong, who wrote: this?",  # no date: not an attribution
        "From: the app I cannot log in\nwhat now",
        "> everything quoted",  # nothing else: kept as it came
        "Settings > Payouts > Pause does nothing",
        "hi\n\n\n\ntessa brooks",
        "two\r\nlines\rhere",
        "Hi,\n> 100 EUR was charged twice\nPlease help",  # one such line is the writer's own
    ],
)
def test_other_text_is_unchanged(text: str) -> None:
    assert clean(text) == text


def test_an_inline_reply_is_read_without_the_lines_it_quotes() -> None:
    reply = "> Did you pay with a card?\nYes, yesterday.\n> Which one?\nThe Visa ending 42"
    assert clean(reply) == "Yes, yesterday.\nThe Visa ending 42"


HOSTILE_HTML = {
    # an e-mail a customer writes reaches `clean` whole: a Chatwoot webhook may carry 16 MiB, and its
    # content is cleaned on the event loop before anything else is answered
    "unclosed tags": "<p>hi</p>" + "<a" * 100_000,
    "unclosed comments": "<p>hi</p>" + "<!--" * 50_000,
    "comments closed by > only": "<p>hi</p>" + "<!-- x >" * 25_000,
    "unclosed marked sections": "<p>hi</p>" + "<![a>" * 40_000,
    "unclosed declarations": "<p>hi</p>" + "<!DOCTYPE" * 20_000,
    "unclosed end tags": "<p>hi</p>" + "</a" * 60_000,
    "quoted > in tags never closed": "<p>hi</p>" + "<p a='>'" * 25_000,
}


@pytest.mark.parametrize("text", HOSTILE_HTML.values(), ids=list(HOSTILE_HTML))
def test_hostile_html_is_read_in_linear_time(text: str) -> None:
    """Markup that never closes (200 kB of `<a` or `<!--`): the tag pattern and the standard
    library's HTML parser tried each `<` against the rest of the body, quadratic in its length
    (80 kB of `<a` took 25 s, a megabyte hours, holding every request of the server)."""
    started = time.perf_counter()
    read = clean(text)
    assert time.perf_counter() - started < 1.0
    assert read.startswith("hi")


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("<p>My card was charged twice</p><![x]>", "My card was charged twice"),  # raised: a 500
        ("<p>Hi<![if !supportLists]>·<![endif]> two</p>", "Hi· two"),  # Outlook's list markers
        ("<p>1 <2 and 3> 2</p><p>ok</p>", "1 <2 and 3> 2\n\nok"),  # no tag starts with a digit
        ("<p>1 < 2</p><!-- never closed <b>x</b>", "1 < 2"),  # as a browser: a comment to the end
        ('<p title="a>b">Hi <a href="/x/">there</a><br/>Ana</p>', "Hi there\nAna"),
    ],
)
def test_html_that_no_parser_agrees_on_is_read_as_its_text(text: str, read: str) -> None:
    assert clean(text) == read


def test_html_with_a_lone_surrogate_or_a_nul_is_read_without_them() -> None:
    """A JSON body may carry a lone surrogate ('\\ud800', which UTF-8 cannot encode) or a NUL: each is
    read as a replacement character, and the request does not fail."""
    assert clean("<p>card \ud800 declined</p>") == "card ? declined"
    assert clean("<div>card\x00declined</div>").replace("\ufffd", " ") == "card declined"
