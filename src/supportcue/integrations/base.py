"""The help-desk protocol: what a connector does, so that Zendesk can follow Chatwoot.

Like `embeddings.py`, three parts:

- `HelpDesk`, the protocol: check a webhook's signature (`verify`), read what it says in supportcue's
  terms (`read`: an `Inbound` message, a `Resolved` or `Reopened` conversation, or `Ignored` with the
  reason),
  post a private note to a conversation (`post_note`), and find a note an earlier attempt may have
  posted (`find_note`: an attempt that timed out may have succeeded, and an agent must never see the
  same note twice);
- `RecordingHelpDesk`, a deterministic fake that keeps notes in memory and fails when told to;
- the durable, retrying delivery around any `HelpDesk`: the outbox and its worker
  (`data/outbox.py`, `integrations/delivery.py`).

A help desk's webhook is its caller: `caller_id(name)` (`webhook:chatwoot`) scopes its message ids
and events, as an API key's name scopes a key's.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

from supportcue.errors import HelpDeskError
from supportcue.vocab import MessageRole

__all__ = [
    "HelpDesk",
    "Ignored",
    "Inbound",
    "Note",
    "RecordingHelpDesk",
    "Reopened",
    "Resolved",
    "ThrottledLog",
    "caller_id",
    "note_for",
]


def caller_id(help_desk: str) -> str:
    """The caller id of a help desk's webhook (`Caller(kind="webhook", name=help_desk).id`)."""
    return f"webhook:{help_desk}"


@dataclass(frozen=True)
class Inbound:
    """A message a help desk told us about: a customer's message, an agent's reply, or a bot's."""

    help_desk: str
    message_id: str
    case_id: str
    role: MessageRole
    text: str
    ts: datetime
    target: Mapping[str, Any] = field(default_factory=dict)
    """Where a note for this conversation goes (the help desk's own ids)."""
    customer_name: str | None = None
    agent_id: str | None = None
    channel: str | None = None
    reply_to: str | None = None
    """For an agent's reply, the help desk's id of the customer message it answers, if it says."""
    context_only: bool = False
    """Kept as the conversation's context alone: a customer's message while a bot handles the
    conversation, or the bot's (role `bot`): no suggestion, no reply."""


@dataclass(frozen=True)
class Resolved:
    """A conversation the help desk marked resolved: its case's `resolved` event. `resolution` tells
    this resolution from the conversation's others (a redelivered webhook repeats it; the conversation
    reopened and resolved again has another); `ts` is when it was resolved, `started_at` when the
    conversation began (None when the help desk did not say: the case's first message then)."""

    help_desk: str
    case_id: str
    resolution: str
    ts: datetime
    started_at: datetime | None = None
    agent_id: str | None = None


@dataclass(frozen=True)
class Reopened:
    """A resolved conversation the help desk opened again (`ts`: when): its case is open again. No
    event: the resolution stays recorded, and a second resolution is a second `resolved` event."""

    help_desk: str
    case_id: str
    ts: datetime
    target: Mapping[str, Any] = field(default_factory=dict)
    """Where a note for this conversation goes (the help desk's own ids): for the customer's message
    to a bot that an agent now takes over (`conversation.receive_reopened`)."""
    customer_name: str | None = None
    channel: str | None = None
    handover: bool = False
    """An agent takes the conversation over from a bot (it was pending): the customer's last message
    to the bot awaits their reply."""


@dataclass(frozen=True)
class Ignored:
    """A webhook that asks nothing of us (another event, a private note, a template), and why.
    `outcome` is what it is counted as: `ignored`, or `other_account` for a webhook of an account
    the settings do not name (a setting to fix: it is logged and shown on the dashboard)."""

    reason: str
    outcome: str = "ignored"


class ThrottledLog:
    """Warnings about webhooks, at most one per `every_s` for each kind of message (its text with
    the digits taken out): a help desk sending every webhook with a wrong secret, or anyone posting
    to a public URL, writes one line a minute, not one per request. Thread-safe."""

    def __init__(self, logger: logging.Logger, every_s: float = 60.0) -> None:
        self.logger = logger
        self.every_s = every_s
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def warning(self, message: str, *args: Any) -> None:
        text = message % args if args else message
        kind = re.sub(r"\d+", "#", text)[:200]
        now = time.monotonic()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self.every_s:
                return
            if len(self._last) > 1000:  # kinds are a few fixed texts; never grow without bound
                self._last.clear()
            self._last[kind] = now
        self.logger.warning("%s", text)


@dataclass(frozen=True)
class Note:
    """A private note for a conversation. `ref` is unique to the note and appears in its content,
    so `find_note` can tell whether an earlier attempt posted it."""

    target: Mapping[str, Any]
    content: str
    ref: str


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~])")
_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
"""What makes Markdown anywhere in a line: emphasis, code, links and images (their brackets), HTML
and autolinks, tables, strikethrough."""
_LINE_START = re.compile(r"^( {0,3})(?:([#>+=-])|(\d{1,9})([.)]))")
"""What makes Markdown at a line's start: a heading, a quote, a list, a setext heading's underline."""


def escape_markdown(text: str) -> str:
    """`text` shown as itself in Markdown: its syntax characters backslash-escaped, its line breaks
    spaces (a value from outside, such as the name a contact gives, must not write links or lines)."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def escape_markdown_lines(text: str) -> str:
    """`text` shown as itself in Markdown, line by line, its line breaks kept (a reply's lines are the
    agent's to copy): only what would make Markdown is escaped, so the plain text of a reply reads
    the same in the note's source (an email or a client that does not render it)."""

    def line_start(m: re.Match[str]) -> str:
        indent, mark, number, closer = m.groups()
        return f"{indent}\\{mark}" if mark else f"{indent}{number}\\{closer}"

    return "\n".join(_LINE_START.sub(line_start, _INLINE.sub(r"\\\1", line)) for line in text.splitlines())


def note_for(
    target: Mapping[str, Any],
    text: str,
    topic: str | None,
    link_base: str,
    case_id: str,
    suggestion_id: str,
) -> Note:
    """A suggestion as a private note (Markdown): that it is a suggestion and not sent, the topic, the
    reply, and a link to the console's page of the case, which says why. The link names the
    suggestion (`?suggestion=`), which makes it the note's `ref`. The reply's Markdown is escaped,
    so the note shows its characters and renders none of it: the customer's name fills its greeting
    (a contact names themself), and an LLM draft may repeat what the customer wrote, so "[Why this
    suggestion](https://...)", an image or a heading would have been rendered as supportcue's own."""
    ref = f"suggestion={suggestion_id}"
    link = f"{link_base.rstrip('/')}/cases/{quote(case_id, safe='')}?{ref}"
    about = f" · topic: {escape_markdown(topic)}" if topic else ""
    content = (
        f"**Suggested reply** (supportcue{about}). Not sent to the customer: copy what fits.\n\n"
        f"{escape_markdown_lines(text)}\n\n"
        f"[Why this suggestion]({link})"
    )
    return Note(target=target, content=content, ref=ref)


@runtime_checkable
class HelpDesk(Protocol):
    name: str

    @property
    def unable_to_post(self) -> str | None:
        """Why notes are not posted (turned off, or not configured), or None."""
        ...

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        """Raise `WebhookRefused` unless the webhook is signed by the help desk (`now`: Unix time)."""
        ...

    def read(self, payload: Any) -> Inbound | Resolved | Reopened | Ignored:
        """What a verified webhook's JSON says; `Ignored` for anything but a message, a resolution or
        a reopening to act on."""
        ...

    def post_note(self, note: Note) -> str:
        """Post `note`; the help desk's id of it. Raises `HelpDeskError`."""
        ...

    def find_note(self, note: Note) -> str | None:
        """The id of a note with `note.ref` already in its conversation, else None. Raises
        `HelpDeskError`."""
        ...


class RecordingHelpDesk:
    """A help desk in memory: notes are kept in `notes`; the next `fail` posts raise a retryable
    `HelpDeskError` (after storing the note when `lose_answers`, like a timeout after success)."""

    def __init__(self, name: str = "recording", fail: int = 0, lose_answers: bool = False) -> None:
        self.name = name
        self.fail = fail
        self.lose_answers = lose_answers
        self.notes: list[Note] = []
        self.attempts = 0

    @property
    def unable_to_post(self) -> str | None:
        return None

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        return None

    def read(self, payload: Any) -> Inbound | Resolved | Reopened | Ignored:
        return Ignored("the recording help desk reads no webhooks")

    def post_note(self, note: Note) -> str:
        self.attempts += 1
        if self.fail > 0:
            self.fail -= 1
            if self.lose_answers:
                self.notes.append(note)
            raise HelpDeskError("HTTP 503 (scripted)", retryable=True)
        self.notes.append(note)
        return str(len(self.notes))

    def find_note(self, note: Note) -> str | None:
        for i, posted in enumerate(self.notes, start=1):
            if note.ref in posted.content:
                return str(i)
        return None
