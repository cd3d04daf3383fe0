"""The chat-completions client against a local server over real HTTP: the request it sends, retries
with backoff on 429/5xx/refused connections, no retry on other errors, the deadline across attempts,
malformed replies; the key from the environment and never in a repr; the fake and the cache."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.llm.chat_server import Action, ChatServer, Pause, Raw, Reply, Status, Trickle

from supportcue.errors import LLMBadResponse, LLMTimeout, LLMUnavailable, SettingsError
from supportcue.llm.ask import ask
from supportcue.llm.client import (
    MAX_REPLY_BYTES,
    CachedChatClient,
    ChatClient,
    ChatMessage,
    FakeChatClient,
    OpenAIChatClient,
    make_client,
    quote_first_source,
)
from supportcue.llm.privacy import Masker
from supportcue.settings import LLMSettings

ASK = [ChatMessage("system", "Be brief."), ChatMessage("user", "hello")]


def client(url: str, **kw: Any) -> OpenAIChatClient:
    return OpenAIChatClient(url, "m-1", "sk-secret-123", **{"timeout_ms": 2000, "backoff_ms": 10, **kw})


def serve(*actions: Action) -> ChatServer:
    """A server that answers the n-th request with the n-th action (the last one after that)."""
    return ChatServer(lambda body, n: actions[min(n, len(actions) - 1)])


def test_a_reply_with_its_usage_and_the_request_it_answered() -> None:
    with serve(Reply("Hi there.", prompt_tokens=11, completion_tokens=3)) as server:
        done = client(server.url, max_tokens=50, temperature=0.0).complete(ASK)
    assert (done.text, done.prompt_tokens, done.completion_tokens, done.attempts) == ("Hi there.", 11, 3, 1)
    assert done.finish_reason == "stop" and done.latency_ms > 0 and done.model == "m-1"
    (body,) = server.requests
    assert body == {
        "model": "m-1",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}],
        "max_tokens": 50,
        "temperature": 0.0,
        "stream": False,
    }
    assert server.headers[0]["Authorization"] == "Bearer sk-secret-123"


def test_5xx_and_429_are_retried_with_backoff_until_an_answer() -> None:
    with serve(Status(500), Status(429, {"Retry-After": "0.2"}), Reply("ok")) as server:
        started = time.perf_counter()
        done = client(server.url, retries=2).complete(ASK)
    assert done.text == "ok" and done.attempts == 3 and len(server.requests) == 3
    assert time.perf_counter() - started >= 0.2  # waited as Retry-After asked


def test_retries_end_with_the_last_error() -> None:
    with (
        serve(Status(503)) as server,
        pytest.raises(LLMUnavailable, match=r"HTTP 503 .* after 3 attempts") as err,
    ):
        client(server.url, retries=2).complete(ASK)
    assert len(server.requests) == 3 and err.value.attempts == 3


@pytest.mark.parametrize(("status", "hint"), [(401, "API key"), (404, "base_url"), (400, "HTTP 400")])
def test_client_errors_are_not_retried_and_say_what_to_check(status: int, hint: str) -> None:
    with serve(Status(status)) as server, pytest.raises(LLMUnavailable, match=hint):
        client(server.url, retries=3).complete(ASK)
    assert len(server.requests) == 1


def test_a_429_for_a_used_up_quota_is_not_retried_and_says_so() -> None:
    """OpenAI answers 429 both to "slow down" and to "the account's quota is used up"
    (`insufficient_quota`): the second one fails the same way at every retry; it was retried like
    the first, and reported as a plain 429."""
    quota = (
        b'{"error": {"message": "You exceeded your current quota, please check your plan and billing",'
        b' "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}}'
    )
    with (
        serve(Status(429, body=quota)) as server,
        pytest.raises(LLMUnavailable, match=r"HTTP 429 from the LLM server: insufficient_quota \(") as err,
    ):
        client(server.url, retries=3).complete(ASK)
    assert len(server.requests) == 1 and "billing" in str(err.value) and "exceeded" not in str(err.value)
    with serve(Status(429, {"Retry-After": "0"}), Reply("hi")) as server:  # a rate limit: retried
        assert client(server.url, retries=3).complete(ASK).text == "hi" and len(server.requests) == 2


def test_a_refused_connection_is_retried_then_reported() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with pytest.raises(LLMUnavailable, match=r"cannot reach the LLM server .* after 2 attempts"):
        client(f"http://127.0.0.1:{port}/v1", retries=1).complete(ASK)


def test_the_timeout_covers_every_attempt() -> None:
    with serve(Status(500), Pause(1.0, Reply("late"))) as server:
        started = time.perf_counter()
        with pytest.raises(LLMTimeout, match="timeout") as err:
            client(server.url, timeout_ms=400, retries=3).complete(ASK)
    assert time.perf_counter() - started < 0.9 and err.value.attempts == 2


def test_the_callers_deadline_wins_when_it_is_earlier() -> None:
    with serve(Pause(1.0, Reply("late"))) as server:
        started = time.perf_counter()
        with pytest.raises(LLMTimeout):
            client(server.url, timeout_ms=5000).complete(ASK, deadline=time.monotonic() + 0.3)
    assert time.perf_counter() - started < 0.8


def test_no_retry_when_the_wait_would_pass_the_deadline() -> None:
    with (
        serve(Status(429, {"Retry-After": "5"}), Reply("ok")) as server,
        pytest.raises(LLMUnavailable, match="no time left to retry"),
    ):
        client(server.url, timeout_ms=1000).complete(ASK)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"<html>oops</html>", "not JSON"),
        (b'{"choices": []}', "no choices"),
        (b'{"choices": [{"message": {"content": null}}]}', "no text"),
        (b'{"choices": [{"message": {"content": "   "}}]}', "no text"),
        (b"[1, 2]", "no choices"),
        (b"[" * 100_000, "not JSON"),
        (b'{"choices": [{"message": {"content": "Go to Settings\\u0000 now."}}]}', "NUL byte"),
        (b'{"choices": [{"message": {"content": "Go to Settings \\ud800 now."}}]}', "lone surrogate"),
        (b'{"choices": [{"message": {"content": "Go to Settings\\u0007 now."}}]}', "control character"),
    ],
)
def test_a_malformed_reply_is_a_clear_error(body: bytes, match: str) -> None:
    with serve(Raw(body)) as server, pytest.raises(LLMBadResponse, match=match):
        client(server.url).complete(ASK)


def test_a_finish_reason_or_model_that_is_not_text_is_left_out() -> None:
    """A server's odd `finish_reason` (an object) or `model` (a huge or NUL-holding string) went into
    the trace as it came; `ask` failed on it ("unhashable type: 'dict'")."""
    body = (
        b'{"model": "\\u0000' + b"x" * 1000 + b'", "choices": [{"message": {"content": "Hi"}, '
        b'"finish_reason": {"type": "stop"}}]}'
    )
    with serve(Raw(body)) as server:
        done = client(server.url).complete(ASK)
    assert done.text == "Hi" and done.finish_reason is None and done.model == "m-1"
    odd = FakeChatClient(lambda messages: "Hi")
    odd.complete = lambda messages, deadline=None: done  # type: ignore[method-assign]
    assert ask(odd, ASK, Masker(), None).text == "Hi"


def test_a_reasoning_models_thinking_is_not_part_of_the_reply() -> None:
    """A reasoning model served without a reasoning parser (Ollama, vLLM, llama.cpp) puts its
    thinking before the reply, in <think> tags: it was taken for the draft's first statements (and
    every draft abstained as not grounded)."""
    content = "<think>\nThe customer asks about payouts; source [ans-1] says 2 days.\n</think>\n\nHi!"
    with serve(Reply(content)) as server:
        assert client(server.url).complete(ASK).text == "Hi!"
    with (
        serve(Reply("<think>\nonly thinking\n</think>")) as server,
        pytest.raises(LLMBadResponse, match="no text"),
    ):
        client(server.url).complete(ASK)


def test_content_parts_and_missing_usage_are_accepted() -> None:
    parts = b'[{"type": "text", "text": "Hi"}, {"type": "text", "text": "!"}]'
    body = b'{"choices": [{"message": {"content": ' + parts + b"}}]}"
    with serve(Raw(body)) as server:
        done = client(server.url).complete(ASK)
    assert done.text == "Hi!" and done.prompt_tokens is None


def test_the_key_comes_from_the_named_variable_and_never_shows() -> None:
    settings = LLMSettings(base_url="http://127.0.0.1:9/v1", model="m", api_key_env="MY_LLM_KEY")
    with pytest.raises(SettingsError, match="MY_LLM_KEY is not set"):
        make_client(settings, environ={})
    made = make_client(settings, environ={"MY_LLM_KEY": "sk-abc-SECRET"})
    assert "SECRET" not in repr(made) and "SECRET" not in made.identity
    assert isinstance(made, ChatClient)
    keyless = make_client(settings.model_copy(update={"api_key_env": ""}), environ={})
    assert "Authorization" not in keyless._http.headers


def test_a_key_read_with_its_line_break_is_used_without_it() -> None:
    """A key from a mounted secret file or an .env line often ends in a line break: every call
    failed ("cannot reach the LLM server (LocalProtocolError)", after every retry) and the HTTP
    library's debug log printed the key."""
    with serve(Reply("hi")) as server:
        settings = LLMSettings(base_url=server.url, model="m", api_key_env="MY_LLM_KEY")
        made = make_client(settings, environ={"MY_LLM_KEY": " sk-abc-SECRET\r\n"})
        assert made.complete(ASK).text == "hi"
        assert server.headers[-1]["Authorization"] == "Bearer sk-abc-SECRET"
    with pytest.raises(SettingsError, match="MY_LLM_KEY holds a line break or a control character") as bad:
        make_client(settings, environ={"MY_LLM_KEY": "sk-abc\nSECRET"})
    assert "SECRET" not in str(bad.value)
    with pytest.raises(SettingsError, match="MY_LLM_KEY is not set"):
        make_client(settings, environ={"MY_LLM_KEY": " \n"})


def test_the_fake_quotes_the_first_source_and_the_cache_replays(tmp_path: Path) -> None:
    prompt = [
        ChatMessage("system", "x"),
        ChatMessage("user", "Sources:\n[a-1] Refunds take 5 days.\n[b] Other."),
    ]
    assert quote_first_source(prompt) == "Refunds take 5 days. [a-1]"
    assert quote_first_source([ChatMessage("user", "no sources")]) == "CANNOT_ANSWER"
    fake = FakeChatClient()
    cached = CachedChatClient(fake, tmp_path)
    first, again = cached.complete(prompt), cached.complete(prompt)
    assert first.text == again.text and not first.cached and again.cached and len(fake.calls) == 1
    cached.close()
    reopened = CachedChatClient(fake, tmp_path)
    assert reopened.complete(prompt).cached and len(fake.calls) == 1
    reopened.close()


def test_a_reply_that_trickles_in_is_cut_at_the_timeout() -> None:
    body = b'{"choices": [{"message": {"content": "' + b"x" * 200 + b'"}}]}'
    with serve(Trickle(body, every=0.05)) as server:
        started = time.perf_counter()
        with pytest.raises(LLMTimeout, match="timeout"):
            client(server.url, timeout_ms=500).complete(ASK)
    assert time.perf_counter() - started < 1.5


def test_a_body_that_stalls_after_late_headers_is_cut_at_the_timeout() -> None:
    """The headers come near the end of the time allowed, then nothing: the body's reads get only
    the time that is left, not a whole timeout of their own (which made the call take ~2x)."""
    body = b'{"choices": [{"message": {"content": "late"}}]}'
    with serve(Pause(0.8, Trickle(body, stall=5.0))) as server:
        started = time.perf_counter()
        with pytest.raises(LLMTimeout, match="timeout"):
            client(server.url, timeout_ms=1000, retries=0).complete(ASK)
    assert time.perf_counter() - started < 1.4


def test_a_huge_reply_is_refused_without_reading_it_all() -> None:
    body = b'{"choices": [{"message": {"content": "' + b"x" * (MAX_REPLY_BYTES + 10) + b'"}}]}'
    with serve(Trickle(body, chunk=65536)) as server, pytest.raises(LLMBadResponse, match="too large"):
        client(server.url, timeout_ms=5000).complete(ASK)


@pytest.mark.parametrize(
    ("body", "headers", "match"),
    [
        (b"not gzip at all", {"Content-Encoding": "gzip"}, "cannot be decoded"),
        (b'{"choices": [{"message": {"content": [{"type": "text", "text": 5}]}}]}', {}, "no text"),
        (b'data: {"choices": []}\n\ndata: [DONE]\n\n', {"Content-Type": "text/event-stream"}, "not JSON"),
    ],
)
def test_a_reply_that_cannot_be_read_is_a_clear_error(
    body: bytes, headers: dict[str, str], match: str
) -> None:
    with (
        serve(Trickle(body, chunk=len(body), headers=headers)) as server,
        pytest.raises(LLMBadResponse, match=match),
    ):
        client(server.url).complete(ASK)


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after-ms": "1500"}, 1.5),  # OpenAI's and Azure OpenAI's, in milliseconds
        ({"retry-after-ms": "1500", "Retry-After": "2"}, 1.5),  # the finer one first
        ({"retry-after-ms": "soon", "Retry-After": "2"}, 2.0),
    ],
)
def test_a_retry_after_in_milliseconds_is_honoured(headers: dict[str, str], wait: float) -> None:
    """OpenAI's API names its wait in milliseconds (`retry-after-ms`), often beside or instead of
    `Retry-After`: it was ignored, and the call retried after its own 5-10 ms backoff, into the
    next 429."""
    waits: list[float] = []
    with serve(Status(429, headers), Reply("ok")) as server:
        reply = client(server.url, timeout_ms=10_000, sleep=waits.append).complete(ASK)
    assert reply.text == "ok" and waits == [pytest.approx(wait, abs=0.011)]


def test_a_retry_after_given_as_an_http_date_is_honoured() -> None:
    from email.utils import format_datetime

    when = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    waits: list[float] = []
    with serve(Status(429, {"Retry-After": when}), Reply("ok")) as server:
        reply = client(server.url, timeout_ms=10_000, sleep=waits.append).complete(ASK)
    assert reply.text == "ok" and len(waits) == 1 and 1.5 <= waits[0] <= 3.5
