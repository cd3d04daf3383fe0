"""`[tone] mode = "llm"`: an LLM rewrite in the team's voice, used only when it keeps every fact."""

from __future__ import annotations

from typing import Any

import pytest
from tests.llm.chat_server import Action, ChatServer, Reply
from tests.llm.world import PERSONAL, ask, pipeline

from supportcue.llm.rewrite import same_facts
from supportcue.pipeline import SuggestRequest
from supportcue.settings import ToneSettings


def rewrite(body: dict[str, Any], n: int) -> Action:
    """Rewrites by prefixing a phrase; changes the price of the Growth plan."""
    text = body["messages"][1]["content"]
    if "$49" in text:
        return Reply(text.replace("$49", "$39"))
    return Reply("Quick heads-up: " + text)


def test_a_rewrite_that_keeps_every_fact_is_used_and_one_that_changes_a_fact_is_not() -> None:
    with ChatServer(rewrite) as chat:
        tone = ToneSettings(mode="llm")
        kept = pipeline(chat.url, mode="hybrid", tone=tone).suggest(ask("how do I pause payouts"))
        assert kept.text is not None and "Quick heads-up: To pause payouts" in kept.text
        assert kept.text.startswith("Hi Ana,") and kept.answer_id == "ans-pause"
        (styled,) = [t for t in kept.trace if t["stage"] == "tone"]
        assert styled["extra"]["llm"]["attempts"] == 1 and styled["extra"]["llm"]["completion_tokens"] == 30
        changed = pipeline(chat.url, mode="hybrid", tone=tone).suggest(ask("how much is the growth plan"))
        assert changed.text is not None and "$49" in changed.text and "$39" not in changed.text
        (styled,) = [t for t in changed.trace if t["stage"] == "tone"]
        assert "llm rewrite not used: the rewrite changed a fact" in styled["extra"]["flags"]
        assert len(chat.requests) == 2  # one call a suggestion: the library answered, tone rewrote
        assert "rewrite" in chat.requests[0]["messages"][0]["content"]
        for value in PERSONAL:
            assert value not in chat.sent()


def test_a_failed_rewrite_falls_back_to_the_rules() -> None:
    with ChatServer(lambda body, n: Reply("CANNOT_ANSWER")) as chat:
        result = pipeline(chat.url, mode="hybrid", tone=ToneSettings(mode="llm")).suggest(
            ask("how do I pause payouts")
        )
        assert result.text is not None and "To pause payouts, go to Settings" in result.text
        (styled,) = [t for t in result.trace if t["stage"] == "tone"]
        assert any("llm rewrite not used" in f for f in styled["extra"]["flags"])


def test_a_name_the_customer_gives_is_masked_in_the_rewrite_too() -> None:
    """No customer_name on the case: the draft greets the customer by the name they gave ("my name
    is ..."), restored from its placeholder; the tone rewrite of that draft must not send it."""

    def reply(body: dict[str, Any], n: int) -> Action:
        if body["messages"][0]["content"].startswith("You rewrite"):
            return Reply(body["messages"][1]["content"])  # the rewrite keeps the text as it is
        return Reply("[NAME_1], to pause payouts, go to Settings → Payouts and choose Manual [ans-pause].")

    with ChatServer(reply) as chat:
        request = SuggestRequest("How do I pause payouts? My name is Karim Haddad.", case_id="c-8")
        result = pipeline(chat.url, tone=ToneSettings(mode="llm")).suggest(request)
        assert result.text is not None and "Karim Haddad, to pause payouts" in result.text
        (styled,) = [t for t in result.trace if t["stage"] == "tone"]
        assert "rewritten by the LLM (every fact kept)" in styled["extra"]["flags"]
        assert len(chat.requests) == 2
        assert "Karim" not in chat.sent() and "Haddad" not in chat.sent()
        assert "[NAME_1], to pause payouts" in chat.requests[1]["messages"][1]["content"]


def test_a_greeting_and_sign_off_the_rewrite_adds_are_dropped_not_shown_twice() -> None:
    """The tone prompt asks for no greeting and no sign-off (the stage adds the team's); a model that
    writes them anyway must not give the reply two of each."""

    def reply(body: dict[str, Any], n: int) -> Action:
        text = body["messages"][1]["content"]
        return Reply(f"Hi there!\n\n{text}\n\nBest regards,\nThe Tillwick team")

    with ChatServer(reply) as chat:
        result = pipeline(chat.url, mode="hybrid", tone=ToneSettings(mode="llm")).suggest(
            ask("how do I pause payouts")
        )
        assert result.text is not None and result.answer_id == "ans-pause"
        assert result.text.startswith("Hi Ana,\n\nTo pause payouts, go to Settings") and result.text.endswith(
            "Manual. Your funds stay in your Tillwick balance for up to 90 days.\n\nBest,\nSam"
        ), result.text
        (styled,) = [t for t in result.trace if t["stage"] == "tone"]
        assert "rewritten by the LLM (every fact kept)" in styled["extra"]["flags"]


BODY = (
    "Standard payouts arrive 2 business days after the funds become available. "
    "The Growth plan costs $49 a month. To pause payouts, choose Manual under Settings → Payouts."
)


@pytest.mark.parametrize(
    "after",
    [
        BODY.replace("2 business days", "2 weeks"),
        BODY.replace("$49 a month", "$49 a year"),
        BODY.replace("Growth plan", "Starter plan"),
        BODY.replace("choose Manual", "choose Weekly"),
    ],
    ids=["duration unit", "price period", "plan name", "setting name"],
)
def test_a_rewrite_that_changes_a_unit_or_a_name_is_not_used(after: str) -> None:
    """The fact guard compared numbers only: "2 business days" as "2 weeks", "$49 a month" as "$49 a
    year" or the Growth plan as the Starter plan kept every number, and the rewrite was shown."""
    assert not same_facts(BODY, after)


@pytest.mark.parametrize(
    "after",
    [
        "Standard payouts arrive 2 business days after your funds become available. "
        "The Growth plan is $49 a month. To pause payouts, pick Manual under Settings → Payouts.",
        "Good news: standard payouts arrive 2 business days after the funds become available, "
        "and the Growth plan costs $49 a month. To pause payouts, choose Manual under Settings → Payouts.",
    ],
    ids=["reworded", "joined sentences"],
)
def test_a_rewrite_that_keeps_units_and_names_is_used(after: str) -> None:
    assert same_facts(BODY, after)


def test_a_rewrite_over_the_length_limit_it_was_given_is_not_used() -> None:
    """The tone prompt says "At most $max_chars characters"; a rewrite that ran over (a model
    repeating itself) was used as long as it kept every fact."""

    def reply(body: dict[str, Any], n: int) -> Action:
        return Reply(" ".join([body["messages"][1]["content"]] * 6))

    with ChatServer(reply) as chat:
        result = pipeline(chat.url, mode="hybrid", tone=ToneSettings(mode="llm")).suggest(
            ask("how do I pause payouts")
        )
        assert result.text is not None and result.text.count("To pause payouts") == 1, result.text
        (styled,) = [t for t in result.trace if t["stage"] == "tone"]
        assert "llm rewrite not used: the rewrite is over [llm] max_chars (700)" in styled["extra"]["flags"]
