"""The LLM response mode end to end: the pipeline `serve` runs, a chat-completions server over real
HTTP with replies scripted per prompt, and what each scripted reply ends as: shown, abstained with the
reason, retried, or timed out into no suggestion. The server's recorded requests prove that no
personal data was sent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from tests.llm.chat_server import Action, ChatServer, Pause, Raw, Reply, Status, customer_message
from tests.llm.world import CARD, EMAIL, NAME, ORDER, PERSONAL, PHONE, ask, pipeline

from supportcue.pipeline import SuggestRequest

FAITHFUL = (
    "[NAME_1], to pause payouts, go to Settings → Payouts and choose Manual [ans-pause]. "
    "The funds of order [ORDER_1] stay in your Tillwick balance for up to 90 days [ans-pause]."
)
SCRIPT: dict[str, Action] = {
    "pause": Reply(FAITHFUL),
    "how long": Reply("Refunds take 3 to 7 business days to reach the customer's card [ans-refund]."),
    "portal": Reply(
        "Refunds take 5 to 10 business days to reach the customer's card [ans-refund]. "
        "Track it at https://tillwick.example/refund-portal [kb-refunds]."
    ),
    "upgrade": Reply("The Platinum plan costs $49 a month and includes 3 team members [ans-plans]."),
    "fee back": Reply("The processing fee of 2.9% is returned with the refund [ans-refund]."),
    "cite": Reply("Refunds take 5 to 10 business days to reach the customer's card [kb-nowhere]."),
    "weather": Reply("CANNOT_ANSWER"),
    "explained": Reply(
        "The sources do not say when refunds reach the card (5 to 10 days?).\n\nCANNOT_ANSWER"
    ),
    "echo": Reply("Refunds take 5 to 10 business days to reach your card [CARD_1] [ans-refund]."),
    "digits": Reply(f"Refunds take 5 to 10 business days to reach your card {CARD} [ans-refund]."),
    "national id": Reply("Refunds for DNI 12345678Z take 5 to 10 business days [ans-refund]."),
    "invented": Reply(
        "Refunds take 5 to 10 business days to reach the customer's card [ans-refund]. "
        "We will also send you a gift voucher by post next week."
    ),
    "courtesy": Reply("Thanks for reaching out! Let me know if you have any other questions."),
    "garbled": Raw(b"<html>502 Bad Gateway</html>"),
    "empty": Raw(b'{"choices": [{"message": {"role": "assistant", "content": ""}}]}'),
    "truncated": Reply("Refunds take 5 to 10", finish_reason="length"),
    "filtered": Reply(
        "Refunds take 5 to 10 business days to reach the customer's card [ans-refund].",
        finish_reason="content_filter",
    ),
    "tool call": Reply(
        "Refunds take 5 to 10 business days to reach the customer's card [ans-refund].",
        finish_reason="tool_calls",
    ),
    "down": Status(503),
    "forbidden": Status(401),
}


def script(body: dict[str, Any], n: int) -> Action:
    said = customer_message(body).lower()
    if "flaky" in said:  # a 500 first, then a faithful draft: retried
        return Status(500) if n == 0 else Reply(FAITHFUL)
    if "busy" in said:  # a 429 with Retry-After first
        return Status(429, {"Retry-After": "0.05"}) if n == 0 else Reply(FAITHFUL)
    if "slow" in said:
        return Pause(2.0, Reply(FAITHFUL))
    return next((action for key, action in SCRIPT.items() if key in said), Reply(FAITHFUL))


@pytest.fixture(scope="module")
def server() -> Iterator[ChatServer]:
    with ChatServer(script) as chat:
        yield chat


@pytest.fixture(autouse=True)
def no_personal_data_sent(server: ChatServer) -> Iterator[None]:
    """After every test: nothing the server received holds the customer's data."""
    before = len(server.requests)
    yield
    assert len(server.requests) > before, "the test made no call"
    sent = "\n".join(str(r) for r in server.requests[before:])
    digits = re.sub(r"\D", "", sent)
    for value in PERSONAL:
        assert value not in sent, f"{value!r} was sent to the LLM server"
        if value.isdigit() and len(value) >= 10:
            assert value not in digits, f"the digits of {value!r} were sent"
    assert "[NAME_1]" in sent or "[NAME_2]" in sent  # masked, not dropped


def entry(result: Any, stage: str) -> dict[str, Any]:
    (found,) = [t for t in result.trace if t["stage"] == stage]
    return dict(found)


def test_a_faithful_draft_is_shown_with_the_data_restored_and_sources_in_the_trace(
    server: ChatServer,
) -> None:
    result = pipeline(server.url).suggest(ask("How do I pause payouts?"))
    assert result.mode == "live" and result.text is not None
    assert "Settings → Payouts" in result.text and "90 days" in result.text
    assert ORDER in result.text and "Ana Silva, to pause" in result.text  # restored from the placeholders
    assert "[ans-pause]" not in result.text  # citations are for the trace, not the customer
    assert result.answer_id is None  # generated, not a library answer
    draft = entry(result, "draft")
    assert draft["label"] == "generated" and not draft["abstained"]
    assert "ans-pause" in draft["extra"]["sources"]
    assert draft["extra"]["grounding"]["passed"] and draft["extra"]["grounding"]["citations"] == ["ans-pause"]
    usage = draft["extra"]["llm"]
    assert usage["prompt_tokens"] == 120 and usage["completion_tokens"] == 30 and usage["attempts"] == 1
    assert usage["model"] == "scripted-model" and usage["latency_ms"] >= 0
    assert result.text.startswith("Hi Ana,") and result.text.endswith("Best,\nSam")  # the tone stage


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("How long does a refund take?", "facts not in the sources: 3, 7"),
        ("Is there a refund portal?", "facts not in the sources: https://tillwick.example/refund-portal"),
        ("Should I upgrade my plan?", "facts not in the sources: Platinum"),
        ("Do I get the fee back on a refund?", "contradicts [ans-refund] (a negation)"),
        ("Please cite the refund rules", "cites [kb-nowhere], which is not a source"),
        ("Anything invented about my refund?", "statement 2 is not supported by any source"),
    ],
    ids=[
        "changed amount",
        "invented URL",
        "invented plan",
        "contradiction",
        "wrong citation",
        "invented sentence",
    ],
)
def test_an_unfaithful_draft_abstains_with_what_was_unsupported(
    server: ChatServer, message: str, reason: str
) -> None:
    result = pipeline(server.url).suggest(ask(message))
    assert result.text is None and result.mode == "none" and result.abstained_at == "draft"
    assert result.reason is not None and reason in result.reason, result.reason
    draft = entry(result, "draft")
    assert draft["abstained"] and draft["extra"]["grounding"]["passed"] is False
    assert draft["extra"]["text"]  # the rejected draft stays in the trace, for review


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("What's the refund weather like?", "the model cannot answer from the sources"),
        ("A refund refusal, explained", "the model cannot answer from the sources"),
        ("Please echo my refund card", "repeats a card number"),
        ("Refund digits please", "repeats a card number"),
        ("Refund to my national id please", "or a national id"),
        ("courtesy refund", "the draft states nothing from its sources"),
        ("garbled refund", "not JSON"),
        ("empty refund", "has no text"),
        ("truncated refund", "cut at [llm] max_tokens"),
        ("filtered refund", "the reply did not finish (finish_reason content_filter)"),
        ("refund tool call", "the reply did not finish (finish_reason tool_calls)"),
        ("refund server down", "HTTP 503 from the LLM server, after 3 attempts"),
        ("refund forbidden", "HTTP 401"),
    ],
    ids=[
        "refusal",
        "refusal after an explanation",
        "card placeholder echoed",
        "card digits echoed",
        "national id written out",
        "courtesy only",
        "malformed body",
        "no text",
        "cut",
        "content filtered",
        "tool call",
        "503",
        "401",
    ],
)
def test_a_reply_that_cannot_be_used_gives_no_suggestion_with_the_reason(
    server: ChatServer, message: str, reason: str
) -> None:
    result = pipeline(server.url).suggest(ask(message))
    assert result.text is None and result.abstained_at == "draft"
    assert result.reason is not None and reason in result.reason, result.reason
    assert CARD not in str(result.trace) and "4111111111111111" not in str(result.trace)
    assert "12345678Z" not in (result.text or "")


def test_a_500_is_retried_and_the_second_answer_is_shown(server: ChatServer) -> None:
    before = len(server.requests)
    result = pipeline(server.url).suggest(ask("flaky: how do I pause payouts?"))
    assert result.text is not None and "90 days" in result.text
    assert len(server.requests) - before == 2
    assert entry(result, "draft")["extra"]["llm"]["attempts"] == 2


def test_a_429_waits_for_retry_after(server: ChatServer) -> None:
    result = pipeline(server.url).suggest(ask("busy: how do I pause payouts?"))
    assert result.text is not None and entry(result, "draft")["extra"]["llm"]["attempts"] == 2


def test_a_401_is_not_retried(server: ChatServer) -> None:
    before = len(server.requests)
    result = pipeline(server.url).suggest(ask("refund forbidden"))
    assert result.text is None and len(server.requests) - before == 1


def test_a_slow_server_times_out_into_no_suggestion_within_the_deadline(server: ChatServer) -> None:
    import time

    started = time.perf_counter()
    result = pipeline(server.url, llm_timeout_ms=400).suggest(ask("slow: how do I pause payouts?"))
    elapsed = time.perf_counter() - started
    assert result.text is None and result.abstained_at == "draft" and result.mode == "none"
    assert result.reason is not None and "timeout: the LLM server did not answer within" in result.reason
    assert elapsed < 1.5  # gave up at the deadline, not when the server answered (2 s)


def test_the_pipeline_deadline_bounds_the_call(server: ChatServer) -> None:
    import time

    started = time.perf_counter()
    result = pipeline(server.url, timeout_ms=600, llm_timeout_ms=3000).suggest(ask("slow: pause payouts"))
    assert result.text is None and result.reason is not None and "timeout" in result.reason.lower()
    assert time.perf_counter() - started < 1.5


def test_hybrid_keeps_a_qualifying_library_answer_without_a_call(server: ChatServer) -> None:
    before = len(server.requests)
    result = pipeline(server.url, mode="hybrid").suggest(ask("how do I pause payouts"))
    assert result.answer_id == "ans-pause" and result.text is not None
    assert entry(result, "draft")["label"] == "library" and len(server.requests) == before
    # (the fixture's check needs a call: make one that the library cannot answer)
    missed = pipeline(server.url, mode="hybrid").suggest(
        ask("pause payouts: zebra quantum xylophone payout?")
    )
    assert entry(missed, "response")["abstained"]
    assert missed.text is not None and entry(missed, "draft")["label"] == "generated"


def test_in_shadow_the_draft_is_logged_and_the_library_answer_shown(server: ChatServer) -> None:
    result = pipeline(server.url, mode="llm", draft="shadow").suggest(ask("how do I pause payouts"))
    assert result.mode == "live" and result.answer_id == "ans-pause"
    assert result.text is not None and "Manual" in result.text
    assert result.shadow["stages"] == ["draft"] and "[ans-pause]" not in result.shadow["text"]
    assert ORDER in result.shadow["text"]  # the draft, as it would have been shown
    shadow = [t for t in result.trace if t["stage"] == "draft"]
    assert shadow[0]["mode"] == "shadow" and shadow[0]["extra"]["sources"]


def test_a_shadow_draft_that_fails_grounding_keeps_its_reason_in_the_trace(server: ChatServer) -> None:
    result = pipeline(server.url, mode="llm", draft="shadow").suggest(ask("Should I upgrade my plan?"))
    draft = entry(result, "draft")
    assert draft["mode"] == "shadow" and draft["abstained"] and "Platinum" in draft["reason"]


def test_the_customer_data_of_the_conversation_is_masked_too(server: ChatServer) -> None:
    request = ask("How do I pause payouts?")
    request.context = [
        f"my email is {EMAIL} and my phone {PHONE}",
        {"role": "agent", "text": f"Thanks {NAME}"},
    ]
    result = pipeline(server.url).suggest(request)
    assert result.text is not None
    last = server.requests[-1]["messages"][-1]["content"]
    assert "customer: my email is [EMAIL_1]" in last and "agent: Thanks [NAME_1]" in last


def test_the_prompt_carries_the_sources_guidance_and_the_model_settings(server: ChatServer) -> None:
    pipeline(server.url).suggest(ask("How do I pause payouts?"))
    body = server.requests[-1]
    assert body["model"] == "scripted-model" and body["stream"] is False and "max_tokens" in body
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    system, user = (m["content"] for m in body["messages"])
    assert "- Write plainly." in system and "- Use only the sources." in system and "CANNOT_ANSWER" in system
    assert "Sources (topic: payouts):\n[ans-pause] To pause payouts" in user
    assert "The customer's message:\nHow do I pause payouts? I'm [NAME_1] ([EMAIL_1], [PHONE_1])" in user
    assert server.headers[-1]["Authorization"] == "Bearer sk-test-key"


@pytest.mark.parametrize(
    ("intro", "first", "last"),
    [
        ("Hi, my name is Ana Silva.", "Ana", "Silva"),
        ("Bonjour, je m'appelle Jeanne Dubois.", "Jeanne", "Dubois"),
        ("Hola, me llamo Lucía Fernández.", "Lucía", "Fernández"),
        ("Hallo, mein Name ist Jonas Becker.", "Jonas", "Becker"),
        ("Thanks,\nKarim Haddad", "Karim", "Haddad"),
    ],
)
def test_a_name_the_customer_gives_is_masked_when_the_case_has_none(
    server: ChatServer, intro: str, first: str, last: str
) -> None:
    """No customer_name on the case (a web form, an e-mail): the name the customer writes in the
    message is still masked, in the conversation before it too."""
    request = SuggestRequest(f"How do I pause payouts? {intro}", case_id="c-7")
    request.context = [f"it's {first} {last} again", {"role": "agent", "text": f"Hello {first}"}]
    pipeline(server.url).suggest(request)
    sent = server.sent()
    assert server.requests and first not in sent and last not in sent
