"""Request and response bodies of the HTTP API, kept apart from the tables."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from supportcue.boundary import CLEAN, Id, Lines, Text, Timestamp, Title
from supportcue.data.columns import parse_context
from supportcue.data.library import answer_id_problem
from supportcue.data.tables import utcnow
from supportcue.mailtext import clean as clean_email
from supportcue.vocab import DismissReason, EventKind, MessageRole, SuggestionMode

EVENT_AHEAD = timedelta(days=1)
"""How far after the server's clock an event's (or a conversation turn's) `ts` may be: a client's
clock may run a little fast; an event dated further ahead would sit in every metrics window until then."""


def not_ahead(value: datetime | None, when: str = "the event happened") -> datetime | None:
    """`value`, refused (a 422 naming the field) when more than `EVENT_AHEAD` after the server's
    clock: the rule of every `ts` an API caller sends. The importers and a help desk's webhook take
    their times as they are (`check_event` has no clock; a webhook's signature is what is checked
    against it, and Chatwoot shows no refusal: the message would be lost)."""
    now = utcnow()
    if value is not None and value > now + EVENT_AHEAD:
        raise ValueError(
            f"more than a day ahead of the server's clock ({now:%Y-%m-%dT%H:%MZ}); give when {when} "
            "(UTC if no offset), or leave ts out for now"
        )
    return value


RESERVED_KEY_PREFIXES = ("import:", "demo:", "message:")
"""Idempotency keys of the importer, the demo loader and the conversations' `sent` events (from
`POST /v1/messages`): no API caller may send one to `POST /v1/events`."""


def _whole_numbers_as_text(value: Any) -> Any:
    """A case field given as a whole number (a help desk's order id 88213) is its text, as `import cases`
    reads one; other non-text values stay errors."""
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    return value


def _whole(v: Any) -> Any:
    if type(v) is int:
        return str(v)
    if type(v) is float and v.is_integer():  # 88213.0: JSON Schema's integer too
        return str(int(v))
    return v


CaseFields = Annotated[
    dict[str, str],
    BeforeValidator(_whole_numbers_as_text),
    CLEAN,
    # the schema says what is accepted: a whole number is read as its text
    WithJsonSchema(
        {"type": "object", "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}
    ),
]
"""Case fields for answer placeholders: text, or whole numbers read as their text."""


class SuggestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Text = Field(min_length=1, description="the customer's message (not blank)")
    case_id: Id | None = Field(None, max_length=100)
    message_id: Text | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="the help desk's id of this customer message: with `case_id`, asking again for the "
        "same message answers the suggestion already made for it (`reused`), not a new one",
    )
    context: Annotated[list[str | dict[str, Any]] | str | None, CLEAN] = Field(
        None,
        description='earlier turns, oldest first: each a string (the customer\'s) or {"role": "customer"|'
        '"agent"|"bot", "text": ...}; or free text (one customer turn)',
    )
    customer_name: Text | None = Field(
        None, max_length=200, description="default: the stored case's (a `case_id` imported or stored)"
    )
    agent_name: Text | None = Field(None, max_length=200)
    fields: CaseFields = Field(
        default_factory=dict,
        description="case fields for answer placeholders; with the `case_id` of a stored case, its "
        "fields fill the rest (a field given here wins, key by key)",
    )

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message is empty")
        return value

    @field_validator("context")
    @classmethod
    def _turns(cls, value: list[str | dict[str, Any]] | str | None) -> Any:
        """A list's turns as an imported case's are read (`parse_context`): a turn it cannot read is an
        error naming it, not left out of the suggestion without a word."""
        return parse_context(value) if isinstance(value, list) else value


class StageTrace(BaseModel):
    stage: str
    mode: str | None = None
    label: str | None = None
    confidence: float | None = None
    abstained: bool | None = None
    reason: str | None = None
    latency_ms: float
    model_version: str | None = None


class SuggestPublic(BaseModel):
    suggestion_id: str
    case_id: str | None
    message_id: str | None = None
    reused: bool = Field(False, description="the suggestion made before for the same `message_id`")
    text: str | None = Field(description="the suggested reply; null when the pipeline abstained")
    topic: str | None
    confidence: float | None
    answer_id: str | None
    abstained_at: str | None = Field(description="the stage that abstained, or null")
    reason: str | None
    mode: SuggestionMode
    alternatives: list[dict[str, Any]]
    trace: list[dict[str, Any]]
    latency_ms: float
    arm: str | None = Field(
        None,
        description="the case's arm in the running experiment, or null; the control arm is shown no "
        'suggestion (`text` null, `abstained_at` "holdout"): its suggestion is computed in shadow',
    )


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    idempotency_key: Text = Field(
        min_length=1,
        max_length=200,
        description="one per event: a retry with the same key and body is acknowledged again and stored "
        "once; the same key with another body is a 409. Keys starting with "
        + " or ".join(f"`{p}`" for p in RESERVED_KEY_PREFIXES)
        + " are reserved.",
    )
    case_id: Id = Field(min_length=1, max_length=100)
    suggestion_id: Text | None = Field(
        None,
        max_length=40,
        description="the `suggestion_id` POST /v1/suggest answered (422 when none such is stored, or it was "
        "made for another `case_id`)",
    )
    kind: EventKind
    text: Text | None = None
    reason: DismissReason | None = None
    agent_id: Text | None = Field(None, max_length=100)
    answer_id: Id | None = Field(
        None,
        max_length=100,
        description="for `alternative`: the id of the library answer the agent inserted (422 when the "
        "library has none such)",
    )
    handle_seconds: float | None = Field(None, ge=0, le=7 * 24 * 3600, allow_inf_nan=False)
    ts: Timestamp | None = Field(
        None,
        description="when it happened (UTC if no offset); default: now. More than a day ahead of the "
        "server's clock is a 422",
    )

    @field_validator("text")
    @classmethod
    def _new_text(cls, value: str | None) -> str | None:
        """A reply sent from an e-mail inbox, without the quoted history, signature or footer below
        it (`mailtext.clean`): what the agent wrote is what is stored and measured."""
        return clean_email(value) if value else value

    @field_validator("ts")
    @classmethod
    def _ts_not_ahead(cls, value: datetime | None) -> datetime | None:
        return not_ahead(value)

    @field_validator("idempotency_key")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        for prefix in RESERVED_KEY_PREFIXES:
            if value.startswith(prefix):
                raise ValueError(f"keys starting with {prefix!r} are reserved for supportcue's own imports")
        return value


class MessageCreate(BaseModel):
    """One turn of a case's conversation."""

    model_config = ConfigDict(extra="forbid")

    case_id: Id = Field(min_length=1, max_length=100)
    message_id: Id = Field(
        min_length=1,
        max_length=200,
        description="the help desk's id of the message: a repeat (same caller and id) changes nothing "
        "and is answered as the first time; the same id with another turn is a 409",
    )
    role: Literal["customer", "agent"] = Field(
        description="customer: a suggestion is made for it; agent: the reply sent"
    )
    text: Text = Field(min_length=1)
    ts: Timestamp | None = Field(
        None,
        description="when it was written (UTC if no offset); default: now. More than a day ahead of the "
        "server's clock is a 422",
    )
    customer_name: Text | None = Field(None, max_length=200)
    channel: Text | None = Field(None, max_length=30)
    agent_id: Text | None = Field(None, max_length=100)
    private: StrictBool = Field(
        False, description="an agent's internal note: kept, not a reply (agents only)"
    )

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty")
        return value

    @field_validator("ts")
    @classmethod
    def _ts_not_ahead(cls, value: datetime | None) -> datetime | None:
        return not_ahead(value, "the message was written")

    @model_validator(mode="after")
    def _private_agents_only(self) -> MessageCreate:
        if self.private and self.role == MessageRole.CUSTOMER.value:
            raise ValueError("only an agent's message can be private")
        return self


class AgentMessagePublic(BaseModel):
    """An agent's message: the `sent` event it became (none for a private note), and the suggestion
    it answers (the case's latest one that was shown, if any)."""

    message_id: str
    case_id: str
    role: Literal["agent"]
    private: bool
    event_id: int | None
    suggestion_id: str | None


class WebhookPublic(BaseModel):
    """What a help desk's webhook led to."""

    status: Literal["accepted", "duplicate", "ignored"]
    reason: str | None = Field(None, description="why it was ignored")
    case_id: str | None = None
    message_id: str | None = None


class AnswerPublic(BaseModel):
    id: str
    topic: str
    title: str
    body: str = Field(description="the answer as stored, placeholders such as `{customer_name}` unfilled")
    status: str
    owner: str | None
    version: int
    reviewed_at: datetime | None
    review_due_at: datetime | None


NextOffset = Annotated[
    int | None, Field(description="the `offset` of the next page; null when this page is the last")
]


class AnswersPublic(BaseModel):
    data: list[AnswerPublic]
    count: int = Field(description="how many are in `data` (at most `limit`)")
    next_offset: NextOffset = None


class AnswerCreate(BaseModel):
    """A new answer (POST /v1/answers): a draft unless `status` says approved."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: Id | None = Field(
        None,
        min_length=1,
        max_length=100,
        pattern=r"^[\w.\-]*[\w\-][\w.\-]*$",  # not dots alone: `/library/..` is no answer's page
        description="letters, digits, `.`, `_`, `-`, not dots alone, not `versions`, `diff` or `compose` "
        "(default: from topic and title)",
    )
    topic: Id = Field(min_length=1, max_length=100)
    title: Title = Field(min_length=1, max_length=300)
    body: Lines = Field(min_length=1, max_length=20_000, description="placeholders such as `{customer_name}`")
    owner: Text | None = Field(None, max_length=200)
    status: Literal["draft", "approved"] = "draft"
    note: Text | None = Field(None, max_length=500, description="why (kept with the version)")
    new_topic: StrictBool = Field(
        False,
        description="`topic` starts a topic the workspace does not have yet; without it such a topic is "
        "refused (422 naming the closest known ones): a misspelt one makes an answer no suggestion picks",
    )

    @field_validator("id")
    @classmethod
    def _not_a_route(cls, value: str | None) -> str | None:
        problem = answer_id_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value


class AnswerPatch(BaseModel):
    """A change of an answer (PATCH /v1/answers/{id}): new text makes a new version (the old one is
    kept); `status` approves, retires or drafts it; `reviewed` marks it reviewed. Approving or
    marking reviewed sets the next review `[response] review_cycle_days` ahead."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    topic: Id | None = Field(None, min_length=1, max_length=100)
    title: Title | None = Field(None, min_length=1, max_length=300)
    body: Lines | None = Field(None, min_length=1, max_length=20_000)
    owner: Text | None = Field(None, max_length=200, description='"" removes the owner')
    status: Literal["draft", "approved", "retired"] | None = None
    reviewed: bool = False
    note: Text | None = Field(None, max_length=500)
    new_topic: StrictBool = Field(
        False, description="a new `topic` starts a topic the workspace does not have yet (else 422)"
    )
    base_version: int | None = Field(
        None,
        ge=0,
        description="the version the change was made on (required, or an If-Match header): refused "
        "(409) when the answer moved on since, 428 when neither is given",
    )


class AnswerVersionPublic(BaseModel):
    answer_id: str
    version: int
    topic: str
    title: str
    body: str
    owner: str | None
    editor: str | None = Field(description="who saved it; null for imported versions")
    note: str | None
    created_at: datetime


class AnswerVersionsPublic(BaseModel):
    data: list[AnswerVersionPublic] = Field(description="newest first")
    count: int


class AnswerDiffPublic(BaseModel):
    answer_id: str
    from_version: int
    to_version: int
    diff: str = Field(description="a unified diff of the title and body")


class ComposeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: Id | None = Field(None, max_length=100)
    customer_name: Text | None = Field(None, max_length=200)
    agent_name: Text | None = Field(None, max_length=200)
    fields: CaseFields = Field(
        default_factory=dict, max_length=100, description="case fields for answer placeholders"
    )


class ComposedPublic(BaseModel):
    answer_id: str
    text: str = Field(description="the reply: placeholders filled, in the workspace's tone")
    missing: list[str] = Field(description="placeholders the case could not fill (left in `text`)")


class FieldError(BaseModel):
    loc: list[str | int] = Field(description='where: ["body", "message"], ["query", "since"], ...')
    msg: str
    type: str


class Problem(BaseModel):
    """Every 4xx and 5xx answer of the API: `detail` says what to fix; for a request that breaks the
    schema, `errors` lists each field."""

    detail: str
    errors: list[FieldError] | None = None


class EventPublic(BaseModel):
    id: int
    idempotency_key: str
    case_id: str
    kind: str
    accepted: bool = True
    duplicate: bool = False


_PROBLEMS = {
    401: "no valid credentials: for a help desk's webhook, no valid and fresh signature (or no "
    "webhook secret configured)",
    403: "the caller's role does not allow this (`detail` says which role does)",
    404: "no such thing (`detail` says what kind: `no case with this id`; never the id asked for, which "
    "may be personal data)",
    409: "the idempotency key (or message id) was used before with a different request",
    412: "If-Match names a version the answer has moved on from (`detail` says which it is at)",
    413: "the body or the message is over its limit",
    422: "the request breaks the schema or a rule; `detail` names the field",
    428: "the change names no version it was made on (`base_version` or If-Match): `detail` says "
    "what to send",
    500: "the pipeline failed on this request only (logged); other requests are not affected",
    503: "not ready (models loading, or the reason they failed), or the database cannot be reached "
    "or take writes now: nothing was stored, send the same request again after `Retry-After` seconds",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a route's error answers, each a `Problem`."""
    return {status: {"model": Problem, "description": _PROBLEMS[status]} for status in statuses}


Verdict = Literal["correct", "partially_correct", "incorrect"]
ReviewFlagName = Literal["wrong_topic", "outdated", "incorrect_fact", "tone", "missing_context", "other"]


class ReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: Text = Field(min_length=1, max_length=40, description="an item of `GET /v1/review/queue`")
    verdict: Verdict = Field(
        description="a suggestion: is its reply right? a message: is the topic proposed with it right? "
        "a cluster: are its messages one topic?"
    )
    corrected_text: Lines | None = Field(None, max_length=5000, description="a better reply")
    topic: Text | None = Field(
        None, min_length=1, max_length=100, description="the right topic (a cluster's may be new)"
    )
    flags: list[ReviewFlagName] = Field(default_factory=list, max_length=6)
    valid: StrictBool | None = Field(
        None, description="a message item only: is it a question support answers? (default true)"
    )


class ReviewLabelPublic(BaseModel):
    subject: str = Field(description="the case id, or `text:<sha1>` for a label on a message's text")
    case_id: str | None
    task: str
    value: str
    source: str
    expires_at: datetime


class ReviewPublic(BaseModel):
    id: int
    item_id: str
    reviewer: str
    verdict: str
    labels: list[ReviewLabelPublic] = Field(description="the labels the review became (source `sme`)")


class ReviewSuggestionPublic(BaseModel):
    id: str
    text: str | None
    topic: str | None
    confidence: float | None
    answer_id: str | None
    mode: str
    abstained_at: str | None
    reason: str | None


class ReviewAlertPublic(BaseModel):
    """The drift alert that created a review item (reason `drift_alert`)."""

    id: int
    kind: str
    subject: str


class ReviewItemPublic(BaseModel):
    item_id: str
    kind: str = Field(description="suggestion | message | cluster")
    reason: str = Field(
        description="why it was chosen: `random` (the unbiased sample) or an active-learning reason"
    )
    why: str = Field(description="the reason in words")
    case_id: str | None
    message: str | None = Field(description="the customer's message (a cluster: its first)")
    proposed_topic: str | None
    suggestion: ReviewSuggestionPublic | None
    details: dict[str, Any] = Field(
        description="the reply sent, the shadow text, a cluster's terms and cases"
    )
    alert: ReviewAlertPublic | None = Field(
        None, description="the drift alert that created it (reason `drift_alert`), else null"
    )


class AlertPublic(BaseModel):
    """A stored drift alert (`supportcue drift`) with the review items it created."""

    id: int
    kind: str = Field(description="new_topic_cluster | topic_volume | embedding_shift | answer_match_drop")
    subject: str
    first_seen: datetime
    last_seen: datetime
    score: float
    threshold: float
    answer_id: str | None = Field(description="the answer whose match rate dropped (answer_match_drop)")
    top_terms: list[str] = Field(description="a candidate new topic's top terms (new_topic_cluster)")
    examples: list[str] = Field(
        description="a few of its messages (a candidate new topic's, the answer's, the shifted window's), "
        "personal data replaced by placeholders"
    )
    review_item_ids: list[str] = Field(description="the review items it created")
    reviewed_items: int = Field(description="how many of them were reviewed at least once")
    review_url: str = Field(description="the review queue filtered to its items")


class AlertsPublic(BaseModel):
    data: list[AlertPublic]
    count: int = Field(description="how many are in `data` (at most `limit`)")
    next_offset: NextOffset = None


class ReviewQueuePublic(BaseModel):
    data: list[ReviewItemPublic]
    count: int
    topics: list[str] = Field(description="the workspace's topics, for `topic`")


class CaseMessagePublic(BaseModel):
    """One turn of a case's conversation, as the console shows it."""

    message_id: str | None = Field(description="the help desk's id; null for an imported case's turns")
    role: str = Field(description="customer | agent")
    text: str
    ts: datetime
    private: bool = Field(description="an agent's internal note: kept, no reply")
    agent_id: str | None
    suggestion_id: str | None = Field(
        description="a customer turn: the suggestion made for it; an agent's: the one its reply answers"
    )


class CaseEventPublic(BaseModel):
    id: int
    kind: str
    ts: datetime
    agent_id: str | None
    reason: str | None = Field(description="a dismissal's reason")
    answer_id: str | None = Field(description="an `alternative`'s answer")
    text: str | None = Field(description="a `sent` event's reply")


class CaseSuggestionPublic(BaseModel):
    suggestion_id: str
    message_id: str | None
    created_at: datetime
    text: str | None = Field(description="the suggested reply; null when the pipeline abstained")
    topic: str | None
    confidence: float | None
    answer_id: str | None
    abstained_at: str | None
    reason: str | None
    mode: str = Field(description="live | shadow | none")
    arm: str | None
    events: list[CaseEventPublic] = Field(description="the events that name it, oldest first")
    outcome: Literal["shown", "inserted", "dismissed", "sent"] | None = Field(
        description="how far it went: `sent` (a reply was sent for it), else `dismissed` (not undone), "
        "else `inserted` (it or an alternative), else `shown`; null when no event names it"
    )
    match: bool | None = Field(
        description="for `sent`: whether the reply matched the suggestion (the match rate's definition)"
    )


class CasePublic(BaseModel):
    """A stored case (GET /v1/cases/{case_id}): what the console shows an agent of it, without the
    personal data of its fields."""

    case_id: str
    channel: str
    status: str = Field(description="open | resolved")
    status_changed_at: datetime | None
    created_at: datetime
    arm: str | None = Field(description="its arm in the experiment running when it was first seen")
    purged_at: datetime | None = Field(description="when `supportcue purge` removed its text")
    fields: dict[str, str] = Field(
        description="its fields (for answer placeholders) but those holding personal data"
    )
    withheld: list[str] = Field(
        description="what is stored and left out as personal: `customer_name`, and the keys of fields "
        "holding an email, card number, IBAN, phone number, national id or postal address"
    )
    messages: list[CaseMessagePublic] = Field(description="its conversation, oldest first: a page")
    next_offset: NextOffset = None
    suggestions: list[CaseSuggestionPublic] = Field(
        description="the suggestions made for it, newest first (the latest 20)"
    )
    more_suggestions: bool = Field(description="older suggestions were made than these")
