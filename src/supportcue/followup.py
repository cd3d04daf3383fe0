"""Follow-ups: a short question that only makes sense with the conversation before it.

"And how long does that take?" names no topic; the customer's earlier turn ("How do I get a refund
for order 1234?") does. For such a message the pipeline's stages read the earlier customer turn and
the message together (`read_with_thread`); every other message is read alone, so a new question in
an old conversation is not pulled back to the old topic.

A message is a follow-up when the thread has an earlier customer turn and the message

- is short (at most `MAX_WORDS` words),
- asks something (has a question mark), and
- starts with a connective ("and", "but", "what about", ...) or refers back ("it", "that", "this",
  "those", "there", ...).

So "thanks for that" (no question) and "How do I pause my payouts?" (refers to nothing) are read
alone. The earlier turn read with a follow-up is the latest customer turn that is not itself a
follow-up (a chain of follow-ups keeps its subject).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from supportcue.stages.base import Turn

MAX_WORDS = 12
CONNECTIVES = ("and", "but", "so", "also", "or", "then", "plus", "what about", "how about", "what if")
REFERENCES = frozenset(
    {"it", "its", "that", "this", "those", "these", "them", "they", "there", "one", "ones", "same"}
)
_WORD = re.compile(r"[a-z0-9']+")

__all__ = ["is_follow_up", "read_with_thread"]


def is_follow_up(text: str) -> bool:
    """Whether `text` reads as a follow-up question (see the module docstring)."""
    words = _WORD.findall(text.lower())
    if not words or len(words) > MAX_WORDS or "?" not in text:
        return False
    opening = " ".join(words[:2])
    starts = any(opening == c or opening.startswith(c + " ") for c in CONNECTIVES)
    return starts or any(w in REFERENCES for w in words)


def read_with_thread(text: str, thread: Sequence[Turn]) -> str:
    """What the stages read for `text`: the message alone, or, for a follow-up, the subject turn of
    the conversation and the message."""
    if not is_follow_up(text):
        return text
    for turn in reversed(thread):
        if turn.role == "customer" and not is_follow_up(turn.text):
            return f"{turn.text}\n{text}"
    return text
