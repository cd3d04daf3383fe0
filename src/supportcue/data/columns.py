"""The columns of each import kind, defined once: the row models the importer validates with.

Each field of a row model is a column of the kind's files (a CSV header or a JSONL key); its pydantic
annotation gives the type and the allowed values, its `column(...)` declaration the default and what
it means. `columns(kind)` reads them back as `Column`s, which `supportcue import KIND --help` prints
and `docs/data-formats.md` is checked against, so help, docs and validation cannot drift apart.
Each model's `example` is one valid row, shown by the help (and validated by the tests).
"""

from __future__ import annotations

import contextlib
import json
import re
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from supportcue.boundary import check_id, check_text, check_time, check_title, lf_lines
from supportcue.data.files import loads, number_text
from supportcue.data.library import answer_id_problem
from supportcue.data.tables import utcnow
from supportcue.errors import InvalidEvent
from supportcue.mailtext import clean as clean_email
from supportcue.monitoring.events import check_event
from supportcue.vocab import AnswerStatus, CaseStatus, DismissReason, EventKind, LabelSource, LabelTask

__all__ = [
    "KINDS",
    "MAX_FIELD_CHARS",
    "MODELS",
    "AnswerRow",
    "ArticleRow",
    "CaseRow",
    "Column",
    "EventRow",
    "ImportRow",
    "LabelRow",
    "columns",
]

MAX_FIELD_CHARS = 1_000_000
TURN_ROLES = ("customer", "agent", "bot")
"""Who wrote a turn of a case's context: the customer, an agent, or a help desk's bot (`MessageRole`)."""
VALIDITY_VALUES = ("valid", "invalid")


def column(
    doc: str,
    default: Any = PydanticUndefined,
    *,
    factory: Any = None,
    shown: str | None = None,
    **constraints: Any,
) -> Any:
    """A column: what it means (`doc`), its default, and `shown`, the default as the help says it
    when it is not a plain value (e.g. "the import time")."""
    extra: dict[str, Any] | None = {"shown_default": shown} if shown else None
    if factory is not None:
        return Field(default_factory=factory, description=doc, json_schema_extra=extra, **constraints)
    return Field(default, description=doc, json_schema_extra=extra, **constraints)


_UTC_NAMED = re.compile(r"(?<=\d)\s*(?:UTC|GMT)$", re.IGNORECASE)
"""A time's zone named UTC or GMT after it, as Rails writes a time (`Time#to_s`)."""


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time (a date alone is midnight UTC) in the accepted range, or None when empty."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            text = _UTC_NAMED.sub("+00:00", str(value).strip())  # Rails' `2026-10-01 10:00:00 UTC`
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            # the value itself is left out: a shifted CSV row may put a message in this column
            raise ValueError("not an ISO 8601 date/time (e.g. 2026-03-02T09:15:00Z)") from None
    return check_time(parsed)


def parse_json(value: Any, kind: type) -> Any:
    if value in (None, ""):
        return kind()
    if isinstance(value, kind):
        return value
    try:
        parsed = loads(str(value))
    except json.JSONDecodeError:
        raise ValueError("not valid JSON") from None
    if not isinstance(parsed, kind):
        raise ValueError(f"expected a JSON {'object' if kind is dict else 'array'}")
    return parsed


def parse_context(value: Any) -> list[dict[str, str]]:
    """Earlier turns, oldest first: a JSON array of strings (customer turns) or {"role", "text"}
    objects; any other text is one customer turn."""
    if value in (None, "", []):
        return []
    if isinstance(value, str) and value.lstrip().startswith("["):
        with contextlib.suppress(json.JSONDecodeError):  # "[URGENT] see below" is text, not an array
            value = loads(value)
    items = value if isinstance(value, list) else [value]
    turns = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise ValueError(f"turn {i + 1}: expected text or an object with a text key")
        role = item.get("role") or "customer"
        if role not in TURN_ROLES:
            raise ValueError(f"turn {i + 1}: role must be one of {' | '.join(TURN_ROLES)}")
        text = clean_email(lf_lines(item["text"])).strip()  # an e-mail's new text (`mailtext.clean`)
        if text:
            turns.append({"role": str(role), "text": text})
    return turns


def _new_text(value: str | None) -> str | None:
    """An e-mail's text without its quoted history, signature, footer or HTML (`mailtext.clean`)."""
    return clean_email(value) if value else value


_TEXT: tuple[Any, ...] = (str, str | None)
"""The annotations of an import row's text fields."""


class RowRuleError(ValueError):
    """A rule over several columns of a row broken, naming the column to fix (a reject's `fields`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ImportRow(BaseModel):
    """A row of an import file: strings stripped, unknown columns ignored, text checked."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    example: ClassVar[dict[str, str]]
    """One valid row, as a CSV would have it: shown by `import KIND --help`."""
    ids: ClassVar[frozenset[str]] = frozenset()
    """Its columns that are ids: no bidi control or zero-width character (`boundary.check_id`)."""
    titles: ClassVar[frozenset[str]] = frozenset()
    """Its titles: no bidi control, zero-width space or BOM (`boundary.check_title`)."""

    @field_validator("*", mode="after")
    @classmethod
    def _visible(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name in cls.ids:
            return check_id(value)
        return check_title(value) if info.field_name in cls.titles else value

    @field_validator("*", mode="before")
    @classmethod
    def _limit(cls, value: Any, info: ValidationInfo) -> Any:
        if type(value) is int and info.field_name and cls.model_fields[info.field_name].annotation in _TEXT:
            # a .jsonl export keeps its ids as numbers: a ticket id 1042 is the id "1042" (it was
            # rejected, "Input should be a valid string": every row of a help desk's JSON export).
            # Only integers: NaN, Infinity or 1e400 where text is expected stay errors.
            return str(value)
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            raise ValueError(f"{len(value):,} characters; the limit is {MAX_FIELD_CHARS:,}")
        value = check_text(value)  # no NUL bytes or lone surrogates, at any depth
        choices = _enum_of(cls.model_fields[info.field_name].annotation) if info.field_name else None
        if choices is not None and isinstance(value, str):
            # a spreadsheet typed by people says `Approved`, `Topic`, `Expert`: the allowed values are
            # read in any case, as the column names are (another value is still refused, naming them)
            folded = value.strip().casefold()
            return next((m.value for m in choices if str(m.value).casefold() == folded), value)
        return value


def _enum_of(annotation: Any) -> type[Enum] | None:
    """The Enum a field's annotation names (`AnswerStatus`, `DismissReason | None`), or None."""
    for kind in typing.get_args(annotation) or (annotation,):
        if isinstance(kind, type) and issubclass(kind, Enum):
            return kind
    return None


HELP_DESK_STATUSES: dict[str, str] = {
    **dict.fromkeys(("open", "new", "pending", "on hold", "hold", "waiting", "snoozed"), CaseStatus.OPEN),
    **dict.fromkeys(("resolved", "solved", "closed"), CaseStatus.RESOLVED),
}
"""Help desks' ticket statuses (Zendesk, Freshdesk, Help Scout, Chatwoot) as a case's: still to
answer is open, done is resolved."""


class CaseRow(ImportRow):
    """A customer's case; with `reply`, a past one whose answer is known (history to learn from)."""

    id: str = column(
        "the case's id in your help desk (re-importing an id updates it)", min_length=1, max_length=100
    )
    message: str = column("the customer's message", min_length=1)
    channel: str = column("where it came in, e.g. email, chat, web", "email", max_length=30)
    customer_name: str | None = column(
        "the customer's name: fills {customer_name} in the greeting", None, max_length=200
    )
    created_at: datetime = column(
        "when the customer wrote (training splits the history by it)",
        factory=utcnow,
        shown="the first import's time",
    )
    context: list[dict[str, str]] = column(
        "earlier turns of the thread, oldest first: text (one customer turn) or a JSON array of "
        'strings or {"role": "customer"|"agent"|"bot", "text": ...}',
        factory=list,
    )
    fields: dict[str, Any] = column(
        "a JSON object of case fields for answer placeholders; other columns are added to it",
        factory=dict,
    )
    arm: str | None = column("the experiment arm the case was in", None, max_length=50)
    status: CaseStatus | None = column(
        "open cases fill the agent console's inbox",
        None,
        shown="resolved when the row has a reply, else open",
    )
    simulated: bool = column(
        "true for generated, not real, history, its reply too (the dashboard says so)", False
    )
    reply: str | None = column("what the agent sent: stored as a `sent` event (history)", None)
    agent_id: str | None = column("who sent the reply", None, max_length=100)
    handle_seconds: float | None = column("time the agent spent on the reply", None, ge=0)

    ids: ClassVar[frozenset[str]] = frozenset({"id"})
    example: ClassVar[dict[str, str]] = {
        "id": "T-1042",
        "message": "My box was supposed to arrive yesterday and it's still not here",
        "customer_name": "Priya",
        "created_at": "2026-02-03T09:14:00Z",
        "reply": "Hi Priya, sorry your box is late: a fresh one is on its way. Best, Sam",
        "agent_id": "sam",
    }

    _time = field_validator("created_at", mode="before")(lambda v: parse_time(v) or utcnow())
    _ctx = field_validator("context", mode="before")(parse_context)

    @field_validator("status", mode="before")
    @classmethod
    def _help_desk_status(cls, value: Any) -> Any:
        """A help desk's status as exported (`Open`, `Pending`, `Solved`, `Closed`) as ours, in any
        case; another is refused naming ours."""
        if not isinstance(value, str):
            return value
        word = " ".join(value.replace("-", " ").replace("_", " ").split()).casefold()
        return HELP_DESK_STATUSES.get(word, value)

    @model_validator(mode="before")
    @classmethod
    def _blank_date_is_none(cls, data: Any) -> Any:
        """A blank `created_at` cell is no date, as a missing column is: a new case is dated by the
        import, a stored one keeps its date (`importer._to_records` tells them apart by the fields set)."""
        if isinstance(data, dict) and "created_at" in data and str(data["created_at"] or "").strip() == "":
            return {k: v for k, v in data.items() if k != "created_at"}
        return data

    _fields = field_validator("fields", mode="before")(lambda v: parse_json(v, dict))
    _email = field_validator("message", "reply", mode="after")(_new_text)
    _lines = field_validator("message", "reply", "context", mode="before")(lf_lines)
    """Line breaks as "\n", as an answer's: a file written on Windows has "\r\n" in a quoted cell, and
    the same message from a Windows and a Unix file must be one text (dedup, embeddings, matching)."""

    def resolved_status(self) -> CaseStatus:
        """History (a row with a reply) is resolved unless the file says otherwise: it must not
        flood the inbox."""
        return self.status or (CaseStatus.RESOLVED if self.reply else CaseStatus.OPEN)


class EventRow(ImportRow):
    """What an agent or the help desk did with a case or a suggestion."""

    idempotency_key: str = column(
        "unique per event: a repeated key is stored once", min_length=1, max_length=200
    )
    case_id: str = column("the case it belongs to", min_length=1, max_length=100)
    kind: EventKind = column("what happened")
    suggestion_id: str | None = column("the suggestion it is about, if any", None, max_length=40)
    text: str | None = column("the text sent (a sent event needs it; an edited one may have it)", None)
    reason: DismissReason | None = column(
        "why the suggestion was dismissed (a dismissed event needs one)", None
    )
    answer_id: str | None = column(
        "the approved answer inserted instead of the suggestion (an alternative event needs one)",
        None,
        max_length=100,
    )
    agent_id: str | None = column("the agent", None, max_length=100)
    handle_seconds: float | None = column("time the agent spent", None, ge=0)
    ts: datetime = column("when it happened", factory=utcnow, shown="the import time")
    simulated: bool = column(
        "true for generated, not real, history (the demo's; `export events` writes it)", False
    )

    ids: ClassVar[frozenset[str]] = frozenset({"case_id"})
    example: ClassVar[dict[str, str]] = {
        "idempotency_key": "T-1042-resolved",
        "case_id": "T-1042",
        "kind": "resolved",
        "agent_id": "sam",
        "ts": "2026-02-03T09:20:00Z",
    }

    _time = field_validator("ts", mode="before")(lambda v: parse_time(v) or utcnow())
    _email = field_validator("text", mode="after")(_new_text)
    _lines = field_validator("text", mode="before")(lf_lines)

    @model_validator(mode="after")
    def _needs(self) -> Self:
        """The rules of `POST /v1/events` (`monitoring.events.check_event`, the one place they are
        written): a dismissal says why, a sent reply has its text (one without would be scored as a
        reply that matched nothing), an alternative names the answer inserted, an undismissal the
        suggestion."""
        try:
            check_event(self.model_dump())
        except InvalidEvent as exc:
            raise RowRuleError(exc.field, str(exc)) from None
        return self


SUGGESTION_SUBJECT = "suggestion:"
"""The subject prefix of a label about one suggestion (a `response_quality` verdict in /review)."""


class LabelRow(ImportRow):
    """What a person (or a machine) says about a case or a text: its validity, topic, answer..."""

    case_id: str | None = column("the case labeled (give case_id or text)", None, max_length=100)
    text: str | None = column("a text labeled without a case (give case_id or text)", None)
    task: LabelTask = column("what the label is about")
    value: str = column(
        "the label: valid | invalid for validity, a topic key for topic, an answer id for answer",
        min_length=1,
        max_length=200,
    )
    source: LabelSource = column("who gave it", LabelSource.EXPERT)
    annotator: str = column("the person who labeled", "", max_length=100)
    confidence: float = column("how sure (weighs the label in training)", 1.0, ge=0.0, le=1.0)
    created_at: datetime = column("when it was labeled", factory=utcnow, shown="the import time")
    expires_at: datetime | None = column("after this the label is not used", None)
    version: str | None = column(
        "what made it: the labeling functions' set or model (as `export labels` writes it)",
        None,
        max_length=100,
    )
    subject: str | None = column(
        "what the label is about, as `export labels` writes it: `suggestion:ID` (with case_id) keeps a "
        "verdict on one suggestion of the case; any other value is not read (case_id or text decide)",
        None,
        max_length=200,
    )

    ids: ClassVar[frozenset[str]] = frozenset({"case_id"})
    example: ClassVar[dict[str, str]] = {
        "case_id": "T-1042",
        "task": "topic",
        "value": "late_delivery",
        "annotator": "maya",
    }

    _times = field_validator("created_at", "expires_at", mode="before")(parse_time)
    _lines = field_validator("text", mode="before")(lf_lines)
    _number = field_validator("value", mode="before")(number_text)
    """A .jsonl file's number label: `3` and `3.0` are both "3" (`files.number_text`)."""

    @field_validator("value")
    @classmethod
    def _validity(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("task") != LabelTask.VALIDITY:
            return value
        if value.casefold() not in VALIDITY_VALUES:  # `Valid`, as people type it, is valid
            raise ValueError(f"a validity label is {' or '.join(VALIDITY_VALUES)}")
        return value.casefold()

    @model_validator(mode="after")
    def _subject(self) -> Self:
        if not (self.case_id or self.text):
            raise ValueError("a label needs case_id or text")
        if self.expires_at is not None and self.expires_at <= self.created_at:
            raise ValueError(
                f"expires_at ({self.expires_at.isoformat()}) is not after created_at "
                f"({self.created_at.isoformat()}): the label would never be used"
            )
        return self

    def stored_subject(self) -> str:
        """What the label is stored under: its suggestion (`suggestion:ID`, a reviewer's verdict on
        one of the case's suggestions, as /review stores it), else its case, else its text's key."""
        if self.case_id and self.subject and self.subject.startswith(SUGGESTION_SUBJECT):
            return self.subject
        if self.case_id:
            return self.case_id
        from supportcue.embeddings import text_key

        return "text:" + text_key(self.text or "")


class AnswerRow(ImportRow):
    """An answer of the library; only approved answers are suggested."""

    id: str = column(
        "the answer's id (re-importing an id updates it); not versions, diff or compose, nor ending in "
        "/versions, /diff or /compose (an answer's addresses)",
        min_length=1,
        max_length=100,
    )
    topic: str = column("the topic key it answers (as in topic labels)", min_length=1, max_length=100)
    title: str = column("a short name agents see", min_length=1, max_length=300)
    body: str = column("the reply; placeholders such as {order_id} are filled from the case", min_length=1)
    """Its line breaks are stored as "\n" (a file written on Windows has "\r\n")."""
    status: AnswerStatus = column("only approved answers are suggested", AnswerStatus.DRAFT)
    owner: str | None = column("who keeps it up to date", None, max_length=200)
    reviewed_at: datetime | None = column("when it was last checked", None)
    review_due_at: datetime | None = column("when it must be checked again", None)
    version: int = column(
        "its version number; without this column, new text for an answer is its next version, the old kept",
        1,
        ge=1,
        shown="1 for a new answer",
    )

    ids: ClassVar[frozenset[str]] = frozenset({"id", "topic"})
    titles: ClassVar[frozenset[str]] = frozenset({"title"})
    example: ClassVar[dict[str, str]] = {
        "id": "late-box",
        "topic": "late_delivery",
        "title": "Box is late",
        "body": "Sorry your box is late. I've sent a replacement that arrives within 2 days.",
        "status": "approved",
    }

    _times = field_validator("reviewed_at", "review_due_at", mode="before")(parse_time)
    _lines = field_validator("body", mode="before")(lf_lines)

    @field_validator("id")
    @classmethod
    def _not_a_route(cls, value: str) -> str:
        problem = answer_id_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class ArticleRow(ImportRow):
    """A help-centre article: context for the LLM response mode."""

    id: str = column("the article's id", min_length=1, max_length=100)
    title: str = column("its title", min_length=1, max_length=300)
    body: str = column("its text", min_length=1)
    topic: str | None = column("the topic key it belongs to", None, max_length=100)
    url: str | None = column("where customers can read it", None, max_length=500)

    _lines = field_validator("body", mode="before")(lf_lines)

    ids: ClassVar[frozenset[str]] = frozenset({"id", "topic"})
    titles: ClassVar[frozenset[str]] = frozenset({"title"})
    example: ClassVar[dict[str, str]] = {
        "id": "kb-delivery-times",
        "title": "When will my box arrive?",
        "body": "Boxes arrive on your delivery day between 8am and 8pm.",
        "topic": "late_delivery",
        "url": "https://help.example.com/delivery-times",
    }


MODELS: dict[str, type[ImportRow]] = {
    "cases": CaseRow,
    "events": EventRow,
    "labels": LabelRow,
    "answers": AnswerRow,
    "articles": ArticleRow,
}
KINDS = tuple(MODELS)


@dataclass(frozen=True)
class Column:
    """One column of a kind, as help and docs describe it."""

    name: str
    required: bool
    values: str
    """The allowed values (`open | resolved`) or the format (`text`, `ISO 8601 time`, ...)."""
    default: str
    """As shown to people: "" when required or empty by default."""
    doc: str


def columns(kind: str) -> list[Column]:
    """The columns of `kind`, in the model's order."""
    return [_column(name, info) for name, info in MODELS[kind].model_fields.items()]


def _column(name: str, info: FieldInfo) -> Column:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    shown = extra.get("shown_default")
    if shown:
        default = str(shown)
    elif info.is_required() or info.default_factory is not None or info.default in (None, ""):
        default = ""
    else:
        default = str(info.default).lower() if isinstance(info.default, bool) else str(info.default)
    return Column(name, info.is_required(), _values(info), default, info.description or "")


def _values(info: FieldInfo) -> str:
    kind = info.annotation
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    if isinstance(kind, type) and issubclass(kind, Enum):
        return " | ".join(str(m.value) for m in kind)
    origin = typing.get_origin(kind) or kind
    limits = {type(m).__name__: m for m in info.metadata}
    if origin is datetime:
        return "ISO 8601 time"
    if origin is bool:
        return "true | false"
    if origin in (int, float):
        low = limits.get("Ge")
        high = limits.get("Le")
        if low is not None and high is not None:
            return f"number {low.ge} to {high.le}"
        return f"number >= {low.ge}" if low is not None else "number"
    if origin is dict:
        return "JSON object"
    if origin is list:
        return "text or JSON array"
    longest = limits.get("MaxLen")
    return f"text, at most {longest.max_length} characters" if longest is not None else "text"
