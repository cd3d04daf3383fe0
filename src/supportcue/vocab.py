"""The vocabularies the store, the service and the CLI share, one `StrEnum` each.

A member is a `str` and compares equal to its value, so the database columns, JSON and the
files a team imports keep plain strings; code names the member instead of repeating the literal.
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """What an agent or the help desk did with a case or suggestion (the `events.kind` column)."""

    SHOWN = "shown"
    INSERTED = "inserted"
    EDITED = "edited"
    DISMISSED = "dismissed"
    SENT = "sent"
    RESOLVED = "resolved"
    FEEDBACK = "feedback"
    ALTERNATIVE = "alternative"
    """The agent inserted another approved answer than the suggestion (one of its alternatives, or one
    found by searching the library when there was none); `answer_id` names it."""
    UNDISMISSED = "undismissed"
    """The agent undid a dismissal (the console's Undo): the suggestion's dismissals made before it
    no longer count (`monitoring/facts.py`); it names the `suggestion_id`."""


SUGGESTION_ACTIONS = (EventKind.SHOWN, EventKind.INSERTED, EventKind.DISMISSED)
"""What an agent does with a suggestion it is shown (counted per suggestion by the metrics)."""


class DismissReason(StrEnum):
    """Why an agent dismissed a suggestion (a `dismissed` event's `reason`, from `POST /v1/events`
    or `import events`): the dashboard counts dismissals by these."""

    WRONG_TOPIC = "wrong_topic"
    OUTDATED = "outdated"
    TONE = "tone"
    NOT_NEEDED = "not_needed"
    OTHER = "other"


class MessageRole(StrEnum):
    """Who wrote a turn of a conversation (`POST /v1/messages`, a help desk's webhook)."""

    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"
    """A help desk's bot (Chatwoot's agent bot, its Captain): kept as context, never a reply. Only a
    help desk's webhook says so; `POST /v1/messages` takes customer and agent."""


class DeliveryStatus(StrEnum):
    """Where a note for a help desk stands in the outbox (`outbox.status`)."""

    PENDING = "pending"
    """Waiting for its (next) attempt."""
    POSTED = "posted"
    SKIPPED = "skipped"
    """Not posted, on purpose: no suggestion, a newer turn came first, or notes are off."""
    FAILED = "failed"
    """Given up: every attempt failed, or the help desk refused it for good (a 4xx)."""


class LabelSource(StrEnum):
    """Who gave a label; people first, then machines."""

    EXPERT = "expert"
    SME = "sme"
    AGENT = "agent"
    WEAK = "weak"
    MODEL = "model"


HUMAN_SOURCES = (LabelSource.EXPERT, LabelSource.SME, LabelSource.AGENT)
MACHINE_SOURCES = (LabelSource.WEAK, LabelSource.MODEL)
PROPAGATION_ANNOTATOR = "propagation"
"""The annotator of `supportcue weak propagate`'s weak labels (spread from the people's labels)."""


class LabelTask(StrEnum):
    """What a label is about (the `labels.task` column)."""

    VALIDITY = "validity"
    TOPIC = "topic"
    ANSWER = "answer"
    RESPONSE_QUALITY = "response_quality"


class ReviewKind(StrEnum):
    """What a review item asks about (`review_items.kind`)."""

    SUGGESTION = "suggestion"
    """A stored suggestion: was its reply right? (verdict, flags, corrected text or topic)"""
    MESSAGE = "message"
    """A customer's message: is it a question, and of which topic? (the verdict judges the topic
    proposed with it)"""
    CLUSTER = "cluster"
    """Messages no topic claimed, grouped: are they one (new) topic, and which?"""


class ReviewReason(StrEnum):
    """Why an item entered the review queue; all but `random` are active learning (and biased)."""

    RANDOM = "random"
    LOW_CONFIDENCE = "low_confidence"
    NEAR_THRESHOLD = "near_threshold"
    SHADOW_DISAGREEMENT = "shadow_disagreement"
    DISMISSED = "dismissed"
    UNMATCHED_REPLY = "unmatched_reply"
    NO_TOPIC_CLUSTER = "no_topic_cluster"
    GENERATED_DRAFT = "generated_draft"
    DRIFT_ALERT = "drift_alert"
    """Made by a drift alert (`review/alert_items.py`): the item names its alert (`alert_id`)."""
    EXPIRED_LABEL = "expired_label"
    """A case whose topic or validity labels all expired (`[review] label_days`): label it afresh."""


class Verdict(StrEnum):
    """A reviewer's judgement, from worst to best (ordered: agreement treats it as ordinal)."""

    INCORRECT = "incorrect"
    PARTIALLY_CORRECT = "partially_correct"
    CORRECT = "correct"


class ReviewFlag(StrEnum):
    """What is wrong with a reviewed item (`POST /v1/reviews` `flags`)."""

    WRONG_TOPIC = "wrong_topic"
    OUTDATED = "outdated"
    INCORRECT_FACT = "incorrect_fact"
    TONE = "tone"
    MISSING_CONTEXT = "missing_context"
    OTHER = "other"


class AnswerStatus(StrEnum):
    """An answer's place in the library; only approved answers are suggested."""

    DRAFT = "draft"
    APPROVED = "approved"
    RETIRED = "retired"


class CaseStatus(StrEnum):
    """Open cases fill the agent console's inbox."""

    OPEN = "open"
    RESOLVED = "resolved"


class TopicStatus(StrEnum):
    """Only active topics are offered to the topic stage and the weak labelers."""

    ACTIVE = "active"


class ModelStatus(StrEnum):
    """A model version's place in the registry; `previous` is the one a rollback returns to."""

    CANDIDATE = "candidate"
    LIVE = "live"
    PREVIOUS = "previous"
    RETIRED = "retired"


class ExperimentStatus(StrEnum):
    """One experiment runs at a time in a workspace."""

    RUNNING = "running"
    STOPPED = "stopped"


HOLDOUT = "holdout"
"""The `abstained_at` of a suggestion held back for an experiment's control arm: computed in shadow,
never shown (see `experiments/assignment.py`)."""


class StageMode(StrEnum):
    """How a stage runs: its decision is shown, only logged (shadow), or it is skipped."""

    LIVE = "live"
    SHADOW = "shadow"
    OFF = "off"


class SuggestionMode(StrEnum):
    """How a stored suggestion reached the agent: shown, logged only (shadow), or not made."""

    LIVE = "live"
    SHADOW = "shadow"
    NONE = "none"


class SuggestionOrigin(StrEnum):
    """Who asked for a stored suggestion (`suggestions.origin`)."""

    SERVICE = "service"
    """A live request to the service: the only one an agent waited for."""
    CLI = "cli"
    """`supportcue suggest`, one message from the command line."""
    BATCH = "batch"
    """`supportcue batch suggest`, a back-fill over historical cases: never shown to anyone, so left
    out of every live metric (adoption, coverage, match rate, latency), drift and the review queue."""


class Role(StrEnum):
    """What a caller (an API key or a user) may do; see `security/roles.py` for who includes whom.

    `agent` < `reviewer` < `admin`, each including the ones before; `integration` (a help desk's
    connector), `metrics` (a monitor) and `embed` (the key of the page a help desk shows in an iframe,
    `/embed/chatwoot`) are narrow roles outside that ladder.
    """

    AGENT = "agent"
    REVIEWER = "reviewer"
    ADMIN = "admin"
    INTEGRATION = "integration"
    METRICS = "metrics"
    EMBED = "embed"
