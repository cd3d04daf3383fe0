"""The exceptions supportcue raises, all in one place.

SupportcueError                 base: anything the user can fix or must know about
├── SettingsError               a bad setting: names the key and the allowed values
├── WorkspaceError              no workspace, or not a workspace folder
├── ImportDataError             a file that cannot be read at all (encoding, missing columns)
├── NotFittedError              a stage or model used before `fit`
├── TrainingDataError           labels a stage cannot learn from (one topic only, no valid example)
├── ModelNotFoundError          an unknown model version or stage
│   └── NoTrainedModel          no stage has a live model yet (serve and suggest say so)
├── ModelIntegrityError         a model file that is not the one trained: its SHA-256 or its stage
│                               kind differs from the registry's record (never served)
├── PromotionRefused            the promotion gate said no (below a floor, or worse than live)
├── InvalidEvent                an agent event that lacks what its kind needs (a `sent` without text)
├── IdempotencyConflict         an idempotency key used again with a different request (HTTP 409)
├── LastAdminError              removing or demoting the only user with the admin role (HTTP 409)
├── DatabaseUnavailable         the database cannot take writes now (down, full, locked, moved):
│                               the service answers 503 with Retry-After, never an unstored 200;
│                               the CLI names the database, where its URL was set, and why
├── UnstorableValue             one row the database refuses (a NUL character on PostgreSQL)
├── ExperimentError             an experiment that cannot be created, stopped or analysed as asked
│                               (another one is running, unknown name, bad arms or weights)
├── WebhookRefused              a help desk's webhook without a valid, fresh signature (HTTP 401)
├── HelpDeskError               a help desk's API failed; `retryable` says whether to try again
├── BatchError                  a batch job that cannot run as asked (Ray not installed, no cluster
│                               at the address, the live models changed mid-job)
├── TopicError                  a topic merge or rename that cannot be done as asked (no such
│                               topic, a new key that is a topic already)
└── StageError                  a stage failed at prediction time (the pipeline turns it into
    │                           "no suggestion" with the reason; it never reaches an agent)
    └── LLMError                the LLM server gave no usable reply (the stage abstains)
        ├── LLMTimeout          no reply before the request's deadline
        ├── LLMUnavailable      refused, or an HTTP error that retries did not cure (429, 5xx, 4xx)
        └── LLMBadResponse      a reply that is not a chat completion (malformed JSON, no text)
"""

from __future__ import annotations


class SupportcueError(Exception):
    """Base class: the message is written for the person who can fix it."""


class SettingsError(SupportcueError):
    """A setting has a value that is not allowed."""


class WorkspaceError(SupportcueError):
    """The workspace folder is missing or is not a supportcue workspace."""


class ImportDataError(SupportcueError):
    """A data file cannot be imported at all (as opposed to single bad rows)."""


class NotFittedError(SupportcueError, ValueError):
    """A stage or model was used before it was fitted."""


class TrainingDataError(SupportcueError, ValueError):
    """The examples given to `fit` cannot teach the stage (too few kinds of label, wrong values)."""


class ModelNotFoundError(SupportcueError):
    """No model version with that stage and version."""


class NoTrainedModel(ModelNotFoundError):
    """No stage that learns has a live model: nothing can be suggested until one is trained (or a
    candidate is promoted)."""


class ModelCannotRun(SupportcueError):
    """A live model loaded but fails on a plain message (one pickled by an earlier release, whose
    class has changed since): the service would answer every suggestion with that stage's error."""


class ModelIntegrityError(SupportcueError):
    """A model artifact's bytes or stage kind differ from what the registry recorded when it was
    written: the file was changed or swapped, and is not loaded (a pickle runs code when loaded)."""


class PromotionRefused(SupportcueError):
    """The promotion gate refused a candidate: below a floor of `[gate]`, or worse than the live model."""


class InvalidEvent(SupportcueError, ValueError):
    """An agent event breaks a rule of its kind; the message names the missing field, `field` too
    (an import's reject names it as the column to fix)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class IdempotencyConflict(SupportcueError):
    """The caller used an idempotency key again, with a request other than the one stored under it."""


class LastAdminError(SupportcueError):
    """The only admin user cannot be removed or given another role: nobody could manage users then."""


class ExperimentError(SupportcueError, ValueError):
    """An experiment command that cannot be done as asked; the message names the experiment or the
    option to fix (e.g. the experiment that is already running)."""


class StageError(SupportcueError):
    """A stage failed while predicting."""


class DatabaseUnavailable(SupportcueError):
    """The database cannot take writes right now; the message says why (never the SQL or the data)."""


class UnstorableValue(SupportcueError, ValueError):
    """The database refused one row's values (the other rows of its batch are stored)."""


class LLMError(StageError):
    """The LLM server gave no usable reply; the message says why (a status, never the prompt).
    `attempts` and `latency_ms` say what the call cost before it failed (for the trace)."""

    attempts: int = 0
    latency_ms: float = 0.0


class LLMTimeout(LLMError):
    """No reply before the request's deadline (`[llm] timeout_ms`, within the pipeline's)."""


class LLMUnavailable(LLMError):
    """The server refused the call, or kept failing (429, 5xx) through every retry."""


class LLMBadResponse(LLMError):
    """The server answered, but not with a chat completion that has a text."""


class WebhookRefused(SupportcueError):
    """A webhook that is not signed by the help desk (no secret set, a wrong or stale signature)."""


class HelpDeskError(SupportcueError):
    """A help desk's API call failed. `retryable`: a later attempt may succeed (timeouts, 5xx, 429);
    else it never will as things are (a refused token, a conversation that is gone). `retry_after`:
    the seconds the help desk asked to wait (its `Retry-After`), when it said."""

    def __init__(self, reason: str, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.retry_after = retry_after


class ReviewConflict(SupportcueError):
    """A reviewer reviewed the same review item before (the API answers 409)."""


class ReviewError(SupportcueError, ValueError):
    """A review that cannot be taken as given (an unknown topic, a verdict a message item lacks)."""


class BatchError(SupportcueError):
    """A `supportcue batch` job cannot run as asked (Ray missing or unreachable, models changed)."""


class TopicError(SupportcueError, ValueError):
    """`supportcue topics merge|rename` cannot be done as asked; the message names the topic."""
