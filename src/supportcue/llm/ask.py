"""One question to the LLM, as both LLM stages ask it: `ask(client, messages, masker, deadline)`.

The messages are rendered from masked texts (`privacy.Masker`); the reply comes back unmasked, or
with the reason there is no usable one: the call failed (timeout, HTTP error, malformed body), the
model said it cannot answer from the sources (`REFUSAL`, also after its reasons), the reply was cut
at `max_tokens` or by the server's content filter (or is a tool call, `UNFINISHED`), it would repeat
a card number, an IBAN or a national id (placeholders of those are never restored, and a literal
card number or IBAN is refused too), or it holds a placeholder that stands for nothing (a
`[NAME_1]` when no text named anyone stands for the case's customer, `Masker.unmask`). `usage`
(model, tokens, latency, attempts) goes into the trace either way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from supportcue.errors import LLMError
from supportcue.llm.client import ChatClient, ChatMessage, failed_usage
from supportcue.llm.privacy import Masker
from supportcue.llm.prompts import REFUSAL
from supportcue.security.redaction import replace_personal

CANNOT_ANSWER = "the model cannot answer from the sources"
_REFUSED = re.compile(rf"(?<![A-Za-z0-9]){REFUSAL}(?![A-Za-z0-9])", re.IGNORECASE)
UNFINISHED = frozenset({"content_filter", "tool_calls", "function_call"})
"""Finish reasons of a reply that is not a whole answer: content the server's filter cut or left out,
or a tool call (never asked for) in place of the reply."""


@dataclass(frozen=True)
class Reply:
    """The unmasked reply (None when there is none usable) and what the call cost."""

    text: str | None
    usage: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


def _payment_data(text: str) -> list[str]:
    found: list[str] = []
    replace_personal(text, lambda kind, value: found.append(kind) or value)  # type: ignore[func-returns-value]
    return [k for k in found if k in ("card", "iban", "id")]


def ask(client: ChatClient, messages: Sequence[ChatMessage], masker: Masker, deadline: float | None) -> Reply:
    """Send the messages, check the reply, restore the customer's data in it."""
    try:
        completion = client.complete(messages, deadline=deadline)
    except LLMError as exc:
        return Reply(None, failed_usage(client.name, exc), f"llm: {exc}")
    usage = completion.usage()
    text = completion.text.strip()
    if _REFUSED.search(text):  # alone, first, or after the model's explanation of why
        return Reply(None, usage, CANNOT_ANSWER)
    if completion.finish_reason == "length":
        return Reply(None, usage, "the reply was cut at [llm] max_tokens")
    if completion.finish_reason in UNFINISHED:
        return Reply(None, usage, f"the reply did not finish (finish_reason {completion.finish_reason})")
    restored = masker.unmask(text)
    if restored.withheld or _payment_data(restored.text):
        return Reply(None, usage, "the reply repeats a card number, an IBAN or a national id")
    if restored.unknown:
        return Reply(
            None, usage, f"the reply has placeholders that stand for nothing: {', '.join(restored.unknown)}"
        )
    return Reply(restored.text, usage)
