"""The store's tables (SQLAlchemy 2 declarative). The schema itself is owned by the Alembic migrations.

Cases, answers and articles are keyed by the external ids the help desk gave them, so re-importing a
file never creates duplicates. Times are stored as naive UTC and read back as aware UTC on every
database (`UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from supportcue.vocab import (
    AnswerStatus,
    CaseStatus,
    DeliveryStatus,
    ExperimentStatus,
    ModelStatus,
    SuggestionMode,
    TopicStatus,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, naive UTC in the database, aware UTC out."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Topic(Base):
    __tablename__ = "topics"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=TopicStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Answer(Base):
    """An entry of the answer library (the "living oracle")."""

    __tablename__ = "answers"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    topic: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=AnswerStatus.DRAFT)
    owner: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None]
    review_due_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnswerVersion(Base):
    """One saved version of an answer's text (every save through `Library.save_answer` adds one; the
    answer row holds the newest). Kept so an edit can be diffed and undone."""

    __tablename__ = "answer_versions"
    answer_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    editor: Mapped[str | None] = mapped_column(String(200))
    """Who saved it (`user:NAME` or `key:NAME`); None for imported versions."""
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Article(Base):
    __tablename__ = "articles"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    topic: Mapped[str | None] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    """The help desk's external id."""
    channel: Mapped[str] = mapped_column(String(30), default="email")
    message: Mapped[str] = mapped_column(Text)
    context: Mapped[list[Any]] = mapped_column(default=list)
    """Earlier turns of the conversation: [{"role": "customer"|"agent"|"bot", "text": ...}]."""
    customer_name: Mapped[str | None] = mapped_column(String(200))
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    arm: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default=CaseStatus.OPEN)
    status_changed_at: Mapped[datetime | None]
    """When the status it shows was set: a help desk's resolution or reopening (the help desk's time),
    a customer message (its time: it reopens the case), the console's Resolve. A help desk's change
    older than it changes nothing (`Cases.follow_status`). NULL: never changed since stored."""
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    purged_at: Mapped[datetime | None]
    """When `supportcue purge` removed the case's text (message, context, customer name, fields)."""


class Suggestion(Base):
    __tablename__ = "suggestions"
    __table_args__ = (Index("ix_suggestions_case_message", "case_id", "message_key"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str | None] = mapped_column(String(100), index=True)
    message_key: Mapped[str | None] = mapped_column(String(200))
    """The customer message it answers (the help desk's message id): with `case_id`, a request for the
    same message gets this suggestion again instead of a new one."""
    message: Mapped[str | None] = mapped_column(Text)
    """The customer message it answers, personal data masked (`pipeline.masked_message`): what drift
    compares when the suggestion's case is not stored (an API-only team's case ids, or none). NULL
    for suggestions made before it was kept; `[purged]` after the retention purge."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    pipeline_version: Mapped[str] = mapped_column(String(100))
    model_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    trace: Mapped[list[Any]] = mapped_column(default=list)
    topic: Mapped[str | None] = mapped_column(String(100), index=True)
    confidence: Mapped[float | None] = mapped_column(Float)
    answer_id: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str | None] = mapped_column(Text)
    abstained_at: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(20), default=SuggestionMode.LIVE)
    """live: shown to the agent; shadow: logged only (some stage in shadow decided it); none."""
    shadow: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What the stages in shadow mode would have produced (label, answer id, text)."""
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    arm: Mapped[str | None] = mapped_column(String(50))
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    origin: Mapped[str] = mapped_column(String(20), default="service", server_default="service")
    """Who asked: `service` (a live request) or `cli` (`supportcue suggest`): the dashboard's latency
    counts live requests only (and never simulated history)."""
    purged_at: Mapped[datetime | None]


class SuggestionClaim(Base):
    """Who is making the suggestion for one customer message right now, so that requests for the same
    message at different processes (`serve --workers N`, several machines) make one suggestion: the
    process that inserts the row makes it and deletes the row once the suggestion is stored; the others
    wait for that suggestion. A claim older than its lease (its process died) may be taken over."""

    __tablename__ = "suggestion_claims"
    case_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    message_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(40))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateBucket(Base):
    """A token bucket that every process counts in (`serve --workers N`, several machines): failed
    logins per user name, per address and per device cookie. `key` is the SHA-256 of what is
    limited, so no name or address is stored; a bucket that has refilled is deleted."""

    __tablename__ = "rate_buckets"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    at: Mapped[float] = mapped_column(Float, index=True)
    """When `tokens` was counted, in seconds since the epoch (the processes' clocks)."""


class SigningKey(Base):
    """A secret this deployment signs with, made once and shared by every process that shares the
    database: `device-cookies` signs the login's device cookies (`security.devices`). Whoever reads
    the database can sign with it, which is why only marks that grant nothing on their own (a device
    cookie changes rate limiting, never authenticates) are signed with one."""

    __tablename__ = "signing_keys"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))
    """Hex of 32 random bytes."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("caller", "idempotency_key", name="uq_events_caller_key"),
        # a suggestion's events of a kind ("was it inserted?"): one index for both terms, or SQLite,
        # without statistics, may look such events up by their kind alone, once per suggestion
        Index("ix_events_suggestion_kind", "suggestion_id", "kind"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    caller: Mapped[str] = mapped_column(String(100), default="", server_default="")
    """Who sent it: an API caller's id; "" for the importer, the demo loader and older rows."""
    idempotency_key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the request that stored it (see `monitoring.events.fingerprint`)."""
    case_id: Mapped[str] = mapped_column(String(100), index=True)
    suggestion_id: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    text: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(50))
    agent_id: Mapped[str | None] = mapped_column(String(100))
    answer_id: Mapped[str | None] = mapped_column(String(100))
    """The library answer an `alternative` event inserted."""
    handle_seconds: Mapped[float | None] = mapped_column(Float)
    ts: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    similarity: Mapped[float | None] = mapped_column(Float)
    """For a purged `sent` event: the similarity of its reply to the suggestion it answered (and to
    that suggestion's shadow text), measured before the texts were removed."""
    shadow_similarity: Mapped[float | None] = mapped_column(Float)
    purged_at: Mapped[datetime | None]


class ConversationMessage(Base):
    """One turn of a case's conversation, as `POST /v1/messages` or a help desk's webhook sent it.

    Stored once per (caller, message id): a repeat changes nothing. A customer turn records the
    suggestion made for it and the answer given (`result`, returned again to a repeat); an agent turn
    the `sent` event it became. Turns of an imported case's `context` are copied in (without a message
    id) when its first turn arrives, so the conversation is read from this table alone.
    """

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("caller", "message_id", name="uq_messages_caller_message"),
        Index("ix_messages_case_ts", "case_id", "ts"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    caller: Mapped[str] = mapped_column(String(100), default="")
    message_id: Mapped[str | None] = mapped_column(String(200))
    """The help desk's id of the message (NULL for turns copied from an imported case)."""
    case_id: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    """An agent's internal note: kept, but neither a turn the pipeline reads nor a reply."""
    context_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Kept as context alone: a message of a help desk's conversation while a bot handled it (the
    customer's, or the bot's: role `bot`), read as a turn before a later one, yet no suggestion is
    made for it, it is no reply, and no reply is awaited for it."""
    agent_id: Mapped[str | None] = mapped_column(String(100))
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of what the request said of the turn: a repeat must say the same (else a 409)."""
    suggestion_id: Mapped[str | None] = mapped_column(String(40))
    event_id: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The answer given for this turn (the suggestion, or the event), given again to a repeat."""
    purged_at: Mapped[datetime | None]


class OutboxItem(Base):
    """A note to post to a help desk, kept until it is posted or given up (survives a restart).

    A worker claims due items (`lease_until`), posts them, and reschedules a failed attempt with
    exponential backoff (`next_attempt_at`). The note's text is built when it is posted, from the
    stored suggestion: no text is kept here.
    """

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("help_desk", "kind", "message_pk", name="uq_outbox_message"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    help_desk: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(20), default="note")
    message_pk: Mapped[int] = mapped_column(Integer)
    """The customer turn (`messages.id`) the note answers."""
    case_id: Mapped[str] = mapped_column(String(100))
    target: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Where the help desk wants it, e.g. {"account_id": 1, "conversation_id": 42}."""
    link_base: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    """Why the last attempt failed, in words without personal data ("HTTP 503", "timed out")."""
    suggestion_id: Mapped[str | None] = mapped_column(String(40))
    remote_id: Mapped[str | None] = mapped_column(String(100))
    """The help desk's id of the posted note."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]


class Label(Base):
    __tablename__ = "labels"
    __table_args__ = (
        UniqueConstraint("subject", "task", "source", "annotator", name="uq_label_subject"),
        Index("ix_labels_task_value", "task", "value"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(200))
    """A case id, or `text:<sha1>` for a label on free text."""
    case_id: Mapped[str | None] = mapped_column(String(100), index=True)
    text: Mapped[str | None] = mapped_column(Text)
    task: Mapped[str] = mapped_column(String(30))
    value: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))
    annotator: Mapped[str] = mapped_column(String(100), default="")
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    version: Mapped[str | None] = mapped_column(String(100))
    """For weak labels: the labeling-function set's version."""


class DriftAlert(Base):
    """A drift alert of `supportcue drift` (monitoring/drift.py): one per kind and subject while it
    lasts; `details` holds what a reviewer needs to act on it (examples, top terms, p-values)."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("kind", "subject", "first_seen", name="uq_alert_kind_subject"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    first_seen: Mapped[datetime] = mapped_column(index=True)
    last_seen: Mapped[datetime]
    score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None]
    """When the alert was posted to the `[drift] webhook_url` (None: not yet, or no webhook)."""


class ReviewItem(Base):
    """Something the review queue asks reviewers about: a suggestion, a message or a cluster of
    messages, with why it was chosen (`reason`: `random` for the unbiased sample, else an active-learning
    reason). One item per subject (`key`), however many times the queue is refreshed."""

    __tablename__ = "review_items"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), unique=True)
    """What it is about, e.g. `suggestion:<id>`, `message:<case id>`, `cluster:<hash of its cases>`."""
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(30), index=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    """How informative a review would be (higher first in the queue)."""
    case_id: Mapped[str | None] = mapped_column(String(100), index=True)
    suggestion_id: Mapped[str | None] = mapped_column(String(40))
    topic: Mapped[str | None] = mapped_column(String(100))
    """The topic proposed with it (the suggestion's), also the stratum of the random sample."""
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What the reviewer sees besides the case: the reply sent, the shadow text, a cluster's terms and
    cases."""
    reviews_wanted: Mapped[int] = mapped_column(Integer, default=1)
    """2 for the blind-overlap share: two reviewers, neither seeing the other's review."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    alert_id: Mapped[int | None] = mapped_column(Integer, index=True)
    """The drift alert (`alerts.id`) that created it (reason `drift_alert`); None for the others."""


class Review(Base):
    """One reviewer's judgement of one item (once per reviewer: a second is refused with a 409)."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("item_id", "reviewer", name="uq_reviews_item_reviewer"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"), index=True)
    reviewer: Mapped[str] = mapped_column(String(100))
    verdict: Mapped[str] = mapped_column(String(30))
    valid: Mapped[bool | None] = mapped_column(Boolean)
    topic: Mapped[str | None] = mapped_column(String(100))
    corrected_text: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("stage", "version", name="uq_model_stage_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stage: Mapped[str] = mapped_column(String(30), index=True)
    version: Mapped[str] = mapped_column(String(50))
    artifact_path: Mapped[str] = mapped_column(String(500))
    fingerprint: Mapped[str] = mapped_column(String(80))
    sha256: Mapped[str | None] = mapped_column(String(64))
    """The artifact file's SHA-256, checked before it is unpickled (None: written before it was kept)."""
    kind: Mapped[str | None] = mapped_column(String(200))
    """The stage class the artifact holds (`module.Class`), checked after it is unpickled."""
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default=ModelStatus.CANDIDATE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    promoted_at: Mapped[datetime | None]


class Experiment(Base):
    """A controlled experiment: cases are split between arms by a hash of the experiment's key and
    the case id (`experiments/assignment.py`); the `control` arm is served no suggestion."""

    __tablename__ = "experiments"
    __table_args__ = (
        # one experiment runs at a time in a workspace, even when two `experiment create` race
        Index(
            "uq_experiments_running",
            "status",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    arms: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """The arms in order, each {"name": ..., "weight": share of the traffic}; weights sum to 1."""
    control: Mapped[str | None] = mapped_column(String(50))
    """The arm served no suggestion (the pipeline runs in shadow for it)."""
    coverage: Mapped[float] = mapped_column(Float, default=1.0)
    """The share of new cases that enter the experiment at all (GrowthBook's coverage)."""
    metrics: Mapped[list[Any] | None] = mapped_column(JSON, default=list)
    """The metrics of interest (`experiments.outcomes.METRICS` names)."""
    status: Mapped[str] = mapped_column(String(20), default=ExperimentStatus.RUNNING)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)


class Assignment(Base):
    """Which experiment arm a case fell into, recorded the first time the case was seen while the
    experiment ran (so the analysis never re-derives it)."""

    __tablename__ = "assignments"
    experiment: Mapped[str] = mapped_column(ForeignKey("experiments.key"), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
    arm: Mapped[str] = mapped_column(String(50))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class DataVersion(Base):
    """A change counter per data set (`library`: answers, articles, topics), bumped by every write
    in the writer's transaction, so a reader polls one row to know whether to reload."""

    __tablename__ = "data_versions"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A machine caller: only the SHA-256 of the key is stored (the key is shown once, at creation)."""

    __tablename__ = "api_keys"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """Hex SHA-256 of the whole key."""
    prefix: Mapped[str] = mapped_column(String(16))
    """The key's first characters, to tell keys apart in `keys list` (not enough to use one)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    """When a request last came with it, to within `data.security.USED_EVERY_S` (None: never since
    it was created, or since this column was added)."""


class User(Base):
    """A person who logs in at /login; the password is stored as an argon2id hash."""

    __tablename__ = "users"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginSession(Base):
    """A logged-in browser: the session id lives only in its cookie; the store keeps its SHA-256."""

    __tablename__ = "login_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(ForeignKey("users.name", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AccessAudit(Base):
    """One change of who may call (a key created or revoked, a user added, removed, given another role
    or password), written in the change's own transaction: who did it (`actor`, `via` console or cli),
    to whom (`target`), and the roles involved. Never a secret, a hash or a password. Rows are only
    ever inserted."""

    __tablename__ = "access_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    """The console user's name, or the operating-system account that ran the CLI."""
    via: Mapped[str] = mapped_column(String(20))
    """`console` or `cli`."""
    action: Mapped[str] = mapped_column(String(30))
    """`key.create`, `key.revoke`, `user.add`, `user.set_role`, `user.set_password`, `user.remove`."""
    target: Mapped[str] = mapped_column(String(100))
    """The key's or the user's name."""
    role: Mapped[str | None] = mapped_column(String(20))
    """The role the key or user has after the change (before it, for a removal or a revocation)."""
    previous_role: Mapped[str | None] = mapped_column(String(20))
    """For a role change: the role before it."""


TABLES: dict[str, type[Base]] = {
    "topics": Topic,
    "answers": Answer,
    "articles": Article,
    "cases": Case,
    "suggestions": Suggestion,
    "events": Event,
    "messages": ConversationMessage,
    "outbox": OutboxItem,
    "labels": Label,
    "model_versions": ModelVersion,
    "review_items": ReviewItem,
    "reviews": Review,
    "experiments": Experiment,
    "assignments": Assignment,
    "data_versions": DataVersion,
    "api_keys": ApiKey,
    "users": User,
    "login_sessions": LoginSession,
    "access_audit": AccessAudit,
}
