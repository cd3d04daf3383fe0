"""OpenAI-compatible chat completions: one protocol, the HTTP client, a deterministic fake, a cache.

Like `embeddings.py`, three parts behind one small protocol, injected into the stages
(`Services.llm`) so that tests and offline runs swap the network for something deterministic:

- `ChatClient`: `complete(messages, deadline=None) -> Completion` (the reply's text, the model, the
  tokens used, the latency and the attempts it took).
- `OpenAIChatClient`: `POST {base_url}/chat/completions` over httpx, a plain request (system and
  user messages; the reply is the assistant message's text; no JSON mode or tool calls, which not
  every server has), so it works with OpenAI, vLLM, llama.cpp's `llama-server` and Ollama's `/v1`.
  A 429, a 5xx or a refused connection is retried with exponential backoff (full jitter, honouring
  `retry-after-ms` or `Retry-After`) while time is left; a 429 whose error code says no retry can help
  (`insufficient_quota`: the account's quota or billing) fails at once, saying so. Time is bounded
  per request: the earlier of `timeout_ms` from now and the caller's `deadline` (the pipeline's
  remaining budget), across every attempt; the body
  is read as it comes, so one that trickles in past that time is a timeout, and one over
  `MAX_REPLY_BYTES` is refused unread. A reply text holding a NUL byte, a lone surrogate or another
  control character is refused; a `model` or `finish_reason` that is not a short name is left out;
  a reasoning model's `<think>...</think>` before the reply is not part of it.
- `FakeChatClient`: answers with a function of the messages; by default it quotes the prompt's
  first source passage (a line `[id] text`) and cites it. `CachedChatClient` keeps replies by a hash
  of the request in a SQLite file (for `eval`, so a rerun costs no calls).

Errors are `LLMTimeout`, `LLMUnavailable` and `LLMBadResponse` (`errors.py`); each carries the
attempts and the time spent, for the trace. Messages name a status or an exception type, never the
prompt or the reply.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx

from supportcue.errors import LLMBadResponse, LLMError, LLMTimeout, LLMUnavailable, SettingsError

if TYPE_CHECKING:
    from supportcue.settings import LLMSettings

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MIN_ATTEMPT_S = 0.05
"""An attempt needs at least this much time left; with less, the call gives up as a timeout."""
MAX_RETRY_AFTER_S = 30.0
MAX_REPLY_BYTES = 4 * 1024 * 1024
MAX_ERROR_BYTES = 64 * 1024
"""A 429's body is read up to this size, for its error code."""
NO_RETRY_CODES = {
    "insufficient_quota": "the account's quota or billing: retrying does not help; check the plan",
}
"""429 error codes (OpenAI's `error.code`) that a retry cannot fix: the call fails at once."""


@dataclass(frozen=True)
class ChatMessage:
    role: str
    """system | user | assistant"""
    content: str


@dataclass(frozen=True)
class Completion:
    """One call's reply and what it cost."""

    text: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: float = 0.0
    attempts: int = 1
    finish_reason: str | None = None
    cached: bool = False

    def usage(self) -> dict[str, Any]:
        """What the trace records of the call (no text)."""
        return {
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_ms": round(self.latency_ms, 1),
            "attempts": self.attempts,
            "finish_reason": self.finish_reason,
            **({"cached": True} if self.cached else {}),
        }


def failed_usage(model: str, error: LLMError) -> dict[str, Any]:
    """What the trace records of a call that failed."""
    return {
        "model": model,
        "error": type(error).__name__,
        "latency_ms": round(error.latency_ms, 1),
        "attempts": error.attempts,
    }


@runtime_checkable
class ChatClient(Protocol):
    """Anything that completes a chat: `name` is the model, `identity` what a cached reply depends on."""

    name: str
    identity: str

    def complete(self, messages: Sequence[ChatMessage], *, deadline: float | None = None) -> Completion: ...


def _failure(error: LLMError, attempts: int, started: float, now: float) -> LLMError:
    error.attempts, error.latency_ms = attempts, (now - started) * 1000
    return error


class OpenAIChatClient:
    """Chat completions over HTTP (see the module docstring); thread-safe, one connection pool."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        timeout_ms: int = 10_000,
        max_tokens: int = 400,
        temperature: float = 0.2,
        retries: int = 2,
        backoff_ms: int = 250,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.name = model
        self.identity = f"{model}@{urlsplit(base_url).netloc} t={temperature} max={max_tokens}"
        self.timeout_ms = timeout_ms
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.retries = retries
        self.backoff_ms = backoff_ms
        self._clock = clock
        self._sleep = sleep
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(headers=headers, transport=transport, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:  # never the key
        return f"OpenAIChatClient({self.identity!r})"

    def complete(self, messages: Sequence[ChatMessage], *, deadline: float | None = None) -> Completion:
        started = self._clock()
        end = started + self.timeout_ms / 1000
        if deadline is not None:
            end = min(end, deadline)
        body = {
            "model": self.name,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stream": False,
        }
        attempt = 0
        while True:
            attempt += 1
            left = end - self._clock()
            if left < MIN_ATTEMPT_S:
                raise _failure(
                    LLMTimeout("timeout: no time left for the LLM call"), attempt - 1, started, self._clock()
                )
            try:
                status, headers, content = self._post(body, left, end)
            except httpx.TimeoutException:
                raise _failure(
                    LLMTimeout(f"timeout: the LLM server did not answer within {left * 1000:.0f} ms"),
                    attempt,
                    started,
                    self._clock(),
                ) from None
            except httpx.DecodingError:
                raise _failure(
                    LLMBadResponse("the LLM server's reply cannot be decoded (its Content-Encoding)"),
                    attempt,
                    started,
                    self._clock(),
                ) from None
            except _TooLarge:
                raise _failure(
                    LLMBadResponse(f"the LLM server's reply is too large (over {MAX_REPLY_BYTES} bytes)"),
                    attempt,
                    started,
                    self._clock(),
                ) from None
            except httpx.HTTPError as exc:
                problem = f"cannot reach the LLM server ({type(exc).__name__})"
                retry_after = None
            else:
                if status == 200:
                    return self._parse(content, attempt, started)
                problem = f"HTTP {status} from the LLM server{_hint(status)}"
                if status == 429 and _error_code(content) in NO_RETRY_CODES:
                    code = _error_code(content)
                    problem = f"HTTP 429 from the LLM server: {code} ({NO_RETRY_CODES[code]})"
                    raise _failure(LLMUnavailable(problem), attempt, started, self._clock())
                if status not in RETRY_STATUSES:
                    raise _failure(LLMUnavailable(problem), attempt, started, self._clock())
                retry_after = _retry_after(headers)
            if attempt > self.retries:
                raise _failure(
                    LLMUnavailable(f"{problem}, after {attempt} attempts"), attempt, started, self._clock()
                )
            wait = self.backoff_ms / 1000 * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
            wait = max(wait, retry_after or 0.0)
            if self._clock() + wait + MIN_ATTEMPT_S > end:
                raise _failure(
                    LLMUnavailable(f"{problem}; no time left to retry"), attempt, started, self._clock()
                )
            self._sleep(wait)

    def _post(self, body: Mapping[str, Any], left: float, end: float) -> tuple[int, httpx.Headers, bytes]:
        """One attempt: the status, headers and body, read as it comes so that a body that trickles
        in is cut at `end` (a timeout) and one over `MAX_REPLY_BYTES` is refused, never kept whole."""
        with self._http.stream("POST", self.url, json=body, timeout=httpx.Timeout(left)) as response:
            if response.status_code not in (200, 429):
                return response.status_code, response.headers, b""
            # httpx's timeouts are per read, each the whole `left`: headers that come near `end`
            # followed by a stalled body made the call last up to twice its budget. The body's
            # reads get only the time that is left (httpcore reads the request's "timeout"
            # extension when the body is first read, which is below).
            response.request.extensions["timeout"] = {
                **response.request.extensions.get("timeout", {}),
                "read": max(end - self._clock(), 0.001),
            }
            limit = MAX_REPLY_BYTES if response.status_code == 200 else MAX_ERROR_BYTES
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                if response.status_code != 200:  # a 429 whose body is not worth reading
                    return response.status_code, response.headers, b""
                raise _TooLarge
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    if response.status_code != 200:
                        return response.status_code, response.headers, b""
                    raise _TooLarge
                chunks.append(chunk)
                if self._clock() > end:
                    raise httpx.ReadTimeout("the reply did not arrive in time")
            return response.status_code, response.headers, b"".join(chunks)

    def _parse(self, content_bytes: bytes, attempts: int, started: float) -> Completion:
        def bad(why: str) -> LLMError:
            return _failure(LLMBadResponse(why), attempts, started, self._clock())

        try:
            data = json.loads(content_bytes)
        except (ValueError, RecursionError):
            raise bad("the LLM server's reply is not JSON") from None
        try:
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise bad("the LLM server's reply has no choices[0].message.content") from None
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(
                p["text"] for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str)
            )
        if isinstance(content, str):  # a reasoning model's thinking, when the server leaves it in
            content = _THINKING.sub("", content, count=1)
        if not isinstance(content, str) or not content.strip():
            raise bad("the LLM server's reply has no text")
        if found := _UNSTORABLE.search(content):  # JSON escapes: "\u0000", "\ud800", "\u0007"
            what = {"\x00": "a NUL byte"}.get(found.group(), "a control character")
            if "\ud800" <= found.group() <= "\udfff":
                what = "a lone surrogate"
            raise bad(f"the LLM server's reply holds {what} (at character {found.start()})")
        usage: Mapping[str, Any] = data.get("usage") if isinstance(data.get("usage"), Mapping) else {}
        return Completion(
            text=content.strip(),
            model=_label(data.get("model")) or self.name,
            prompt_tokens=_int(usage.get("prompt_tokens")),
            completion_tokens=_int(usage.get("completion_tokens")),
            latency_ms=(self._clock() - started) * 1000,
            attempts=attempts,
            finish_reason=_label(choice.get("finish_reason")) if isinstance(choice, Mapping) else None,
        )


class _TooLarge(Exception):
    """A reply over `MAX_REPLY_BYTES`."""


_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
"""What no reply may hold: a NUL byte or a lone surrogate (neither can be stored or sent as UTF-8)
and the other control characters but tab and line breaks (nothing a reply to a customer needs)."""
_THINKING = re.compile(r"^\s*<think>.*?</think>", re.DOTALL)
"""The thinking a reasoning model (DeepSeek-R1, Qwen3 ...) writes before its reply, which servers
without a reasoning parser leave in the content."""
_LABEL = re.compile(r"[\w.:/@+-]{1,200}")


def _label(value: Any) -> str | None:
    """A reply's `model` or `finish_reason` when it is a short name, as the trace keeps it."""
    return value if isinstance(value, str) and _LABEL.fullmatch(value) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _error_code(content: bytes) -> str:
    """The `error.code` (or `error.type`) of an error body, or ""; never its message."""
    try:
        error = json.loads(content).get("error")
    except (ValueError, RecursionError, AttributeError):
        return ""
    if not isinstance(error, Mapping):
        return ""
    code = error.get("code") or error.get("type")
    return code if isinstance(code, str) and code in NO_RETRY_CODES else ""


def _hint(status: int) -> str:
    if status in (401, 403):
        return ": check the API key ([llm] api_key_env names the variable that holds it)"
    if status == 404:
        return ": check [llm] base_url (it ends in /v1) and [llm] model"
    return ""


def _retry_after(headers: httpx.Headers) -> float | None:
    """How long the server asks to wait, in seconds, capped: OpenAI's `retry-after-ms` when it is a
    number (milliseconds; OpenAI and Azure OpenAI send it), else `Retry-After`: a number of seconds
    or an HTTP date (RFC 9110)."""
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(headers.get("retry-after-ms", "").strip()) / 1000))
    except ValueError:
        pass
    value = headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))


def make_client(settings: LLMSettings, environ: Mapping[str, str] | None = None) -> OpenAIChatClient:
    """The workspace's client; the key is read from the environment variable `[llm] api_key_env`
    (without the spaces and line break around it)."""
    env = os.environ if environ is None else environ
    key = None
    if settings.api_key_env:
        # A key read from a secret file or an .env line often ends in a line break, which no HTTP
        # header may hold: every call failed, and the HTTP library's debug log printed the key.
        key = (env.get(settings.api_key_env) or "").strip()
        if not key:
            raise SettingsError(
                f"setting llm.api_key_env: the environment variable {settings.api_key_env} is not set; "
                'set it to the API key, or set api_key_env = "" for a server that needs no key'
            )
        if any(ord(c) < 32 or ord(c) == 127 for c in key):
            raise SettingsError(
                f"setting llm.api_key_env: the environment variable {settings.api_key_env} holds a line "
                "break or a control character inside the key; set it to the key alone"
            )
    return OpenAIChatClient(
        settings.base_url,
        settings.model,
        key,
        timeout_ms=settings.timeout_ms,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        retries=settings.retries,
        backoff_ms=settings.backoff_ms,
    )


# -- the deterministic fake ---------------------------------------------------------------------
_SOURCE_LINE = re.compile(r"^\[([^\]\s]+)\]\s+(.+)$", re.MULTILINE)


def quote_first_source(messages: Sequence[ChatMessage]) -> str:
    """The first source passage of the prompt (a line `[id] text`), cited; or the refusal marker."""
    from supportcue.llm.prompts import REFUSAL

    for message in messages:
        if message.role == "user" and (match := _SOURCE_LINE.search(message.content)):
            return f"{match.group(2).strip()} [{match.group(1)}]"
    return REFUSAL


class FakeChatClient:
    """Deterministic replies from `reply(messages)` (default: `quote_first_source`); records calls."""

    def __init__(self, reply: Callable[[Sequence[ChatMessage]], str] = quote_first_source) -> None:
        self.reply = reply
        self.name = "fake"
        self.identity = f"fake:{getattr(reply, '__name__', 'reply')}"
        self.calls: list[list[ChatMessage]] = []

    def complete(self, messages: Sequence[ChatMessage], *, deadline: float | None = None) -> Completion:
        self.calls.append(list(messages))
        text = self.reply(messages)
        prompt = sum(len(m.content.split()) for m in messages)
        return Completion(text, self.name, prompt, len(text.split()), 0.0, 1, "stop")


# -- the cache --------------------------------------------------------------------------------
class CachedChatClient:
    """Keeps replies by a hash of (client identity, messages) in `cache_dir/llm-replies.sqlite`."""

    def __init__(self, inner: ChatClient, cache_dir: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.identity = inner.identity
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.path = cache_dir / "llm-replies.sqlite"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS reply (key TEXT PRIMARY KEY, completion TEXT NOT NULL)")
        self._db.commit()

    def _key(self, messages: Sequence[ChatMessage]) -> str:
        payload = json.dumps([self.identity, [[m.role, m.content] for m in messages]], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def complete(self, messages: Sequence[ChatMessage], *, deadline: float | None = None) -> Completion:
        key = self._key(messages)
        with self._lock:
            row = self._db.execute("SELECT completion FROM reply WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return replace(Completion(**json.loads(row[0])), latency_ms=0.0, cached=True)
        completion = self.inner.complete(messages, deadline=deadline)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO reply (key, completion) VALUES (?, ?)",
                (key, json.dumps(completion.__dict__)),
            )
            self._db.commit()
        return completion

    def close(self) -> None:
        with self._lock:
            self._db.close()
