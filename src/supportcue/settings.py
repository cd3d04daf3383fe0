"""Workspace settings: `supportcue.toml`, overridden by `SUPPORTCUE_*` environment variables.

Every setting has a documented default (see `DEFAULT_TOML`, which `supportcue init` writes). Environment
overrides: `SUPPORTCUE_WORKSPACE` (the folder), `SUPPORTCUE_DATABASE_URL` (the store), and any other
key as `SUPPORTCUE_<SECTION>__<KEY>`, e.g. `SUPPORTCUE_PIPELINE__TOPIC=shadow`. A bad value fails at
start-up with a `SettingsError` naming where it came from (the file, or the variable), the key and the
allowed values. A list or table setting is given to a variable as JSON (`SUPPORTCUE_TONE__PRODUCT_NAMES=
'["Acme Pay"]'`).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_origin
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from supportcue.errors import SettingsError, WorkspaceError
from supportcue.vocab import StageMode

CONFIG_NAME = "supportcue.toml"
DB_NAME = "supportcue.db"
ENV_PREFIX = "SUPPORTCUE_"

STAGES = ("validation", "topic", "response", "draft", "tone")
"""The stage kinds in pipeline order (`stages/registry.py` holds the classes); `draft` is the LLM
response stage, built only when `[response] mode` is `llm` or `hybrid`."""
OPTIONAL_STAGES = ("draft",)
"""Stages a workspace may not run at all: the funnel shows them only when they stopped something."""


class _Section(BaseModel):
    # no infinite waits or limits: `inf` passes `ge=0` (batch_wait_ms = inf would hold every suggestion)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


_SECRET_QUERY = re.compile(r"([?&][^=&#]*(?:password|passwd|pwd|secret|token)[^=&#]*=)[^&]*", re.IGNORECASE)
"""A query-string parameter that holds a secret (libpq's `?password=`, `?sslpassword=`)."""


def hide_password(url: str) -> str:
    """A database URL fit to print: its password, if any, replaced by `***`, in the user-info part
    (from the user's `:` to the last `@`, so a password holding `/`, `@`, `?` or `#` is hidden whole,
    however a driver would split it) and in the query string (`?password=...`, `?sslpassword=...`)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _SECRET_QUERY.sub(r"\1***", url)
    user = re.match(r"[^:/@?]*:", rest)
    if user and "@" in rest:
        rest = user.group(0) + "***" + rest[rest.rindex("@") :]
    return scheme + sep + _SECRET_QUERY.sub(r"\1***", rest)


class DatabaseSettings(_Section):
    url: str = ""
    """SQLAlchemy URL; empty means the workspace's own SQLite file."""

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        url = url.strip()
        if not url:
            return url
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(url).get_backend_name()
        except ArgumentError:
            backend = ""
        if backend not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(
                f"{hide_password(url)!r} is not a database URL supportcue can use: give "
                "sqlite:///PATH or postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE "
                "(or nothing, for the workspace's own SQLite file)"
            )
        return url


class EmbeddingSettings(_Section):
    """Which embedder: `backend` and `device` change only speed (the same vectors), `quantize` changes
    the vectors (the embedder `all-MiniLM-L6-v2-int8`), so models must be retrained after it."""

    model: Literal["minilm", "tfidf"] = "minilm"
    backend: Literal["onnx", "torch"] = "onnx"
    quantize: bool = False
    device: Literal["auto", "cpu", "cuda"] = "auto"
    batch_size: int = Field(64, ge=1, le=4096)
    cache: bool = True
    spelling: bool = True
    """MiniLM reads texts with misspelt words corrected ("my payemnt" as "my payment", `spelling.py`);
    correctly spelled text gets the same vectors, so models need no retraining either way."""
    known_words: list[str] = Field(default_factory=list, max_length=10_000)
    """A team's own words (brands, products) that `spelling` keeps as typed: "venmo" was read as
    "venom". Retrain after changing it: the models trained before read those words as corrected."""

    @field_validator("known_words")
    @classmethod
    def _words(cls, words: list[str]) -> list[str]:
        bad = [w for w in words if not re.fullmatch(r"[A-Za-z]{1,100}", w)]
        if bad:
            raise ValueError(f"{bad[0][:100]!r} is not a word of letters A-Z (one word per item)")
        return sorted({w.lower() for w in words})

    @model_validator(mode="after")
    def _int8_on_onnx(self) -> EmbeddingSettings:
        if self.quantize and self.backend != "onnx":
            raise ValueError("quantize = true needs backend = onnx (the int8 model runs on ONNX Runtime)")
        return self


class PipelineSettings(_Section):
    """Each stage's mode (`live`, `shadow` or `off`), keyed by the stage's registered name; a stage
    kind registered later (see `stages/registry.py`) is set the same way and is `live` by default."""

    model_config = ConfigDict(extra="allow", validate_assignment=True, allow_inf_nan=False)

    validation: StageMode = StageMode.LIVE
    topic: StageMode = StageMode.LIVE
    response: StageMode = StageMode.LIVE
    draft: StageMode = StageMode.LIVE
    tone: StageMode = StageMode.LIVE
    timeout_ms: int = Field(2000, ge=1)

    @model_validator(mode="after")
    def _modes(self) -> PipelineSettings:
        for key, value in (self.model_extra or {}).items():
            if value not in tuple(StageMode):
                allowed = ", ".join(StageMode)
                raise ValueError(f"{key}: mode must be one of {allowed}, got {value!r}")
        return self

    def mode(self, stage: str) -> StageMode:
        value = getattr(self, stage, None) or (self.model_extra or {}).get(stage) or StageMode.LIVE
        return StageMode(value)


def _host_name(entry: str) -> str:
    """One `allowed_hosts` entry, lower-cased; a URL or a port is an error that says what to write."""
    host = entry.strip().lower()
    if not host:
        raise ValueError("an empty host name; give names such as 'support.example.com', or '*' for any")
    if "://" in host:
        bare = urlsplit(host).hostname or ""
        raise ValueError(f"{entry!r} is a URL; give the host name only: {bare!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # [::1]
    if host.count(":") == 1 or host.startswith("["):
        raise ValueError(f"{entry!r}: give the host name without the port")
    if "*" in host and host != "*" and not (host.startswith("*.") and "*" not in host[2:]):
        raise ValueError(f"{entry!r}: '*' is allowed alone or as '*.domain' (any subdomain)")
    if any(c in host for c in "/?#@ \t,;"):
        raise ValueError(f"{entry!r} is not a host name")
    return host


def _http_url(url: str, what: str) -> str:
    """An http(s) URL with a plain host (or "" for none)."""
    url = url.strip()
    if not url:
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{url!r} must start with http:// or https://")
    if not parts.hostname:
        raise ValueError(f"{url!r} has no host")
    if not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+", parts.netloc):
        raise ValueError(f"{url!r} is not a valid URL of {what}")
    return url


def _origin_url(url: str) -> str:
    """An origin, scheme://host[:port] (as CSP `frame-ancestors` and `MessageEvent.origin` name a
    site), or "" for none; a trailing slash is dropped, any other path refused."""
    url = url.strip()
    if not url:
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{url!r} must start with http:// or https://")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(
            f"{url!r} must be an origin only (scheme://host[:port]), with no path, query, fragment or "
            "user name: the address agents' browsers open Chatwoot at, e.g. https://chat.example.com"
        )
    _http_url(url, "a Chatwoot server")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError(f"{url!r} has a port that is not a number from 1 to 65535")
    return url.rstrip("/")


def _browser_origin(url: str) -> str:
    """scheme://host[:port] of `url` ("" for none) as a browser writes an origin: the host in lower
    case, no port when it is the scheme's default."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.netloc.lower()
    try:
        port = parts.port
    except ValueError:  # not a number: left as written (no browser origin has it)
        port = None
    if port is not None and port == {"http": 80, "https": 443}.get(parts.scheme):
        host = host.rsplit(":", 1)[0]
    return f"{parts.scheme}://{host}"


class ServiceSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_message_chars: int = Field(10_000, ge=1)
    max_event_bytes: int = Field(65_536, ge=256)
    batch_wait_ms: float = Field(0.0, ge=0)
    write_timeout_ms: int = Field(5000, ge=100)
    """How long a suggestion or event waits for the database (a lock, a slow disk) before a 503."""
    registry_poll_s: float = Field(1.0, ge=0.0)
    """How often a running server checks the model registry for a promotion or rollback (0: never)."""
    shutdown_grace_s: int = Field(30, ge=1, le=3600)
    """How long a stopping server (SIGTERM, Ctrl-C, the workers SIGHUP replaces) waits for requests
    under way before it cuts them off: a client that trickles a request body (or hangs halfway
    through one) cannot keep it from stopping. Longer than any request takes ([pipeline] timeout_ms,
    an import)."""
    workers: int = Field(1, ge=1, le=64)
    """Processes `serve` runs (`--workers`): more than one needs PostgreSQL (see docs/deployment.md)."""
    public_url: str = ""
    """The address people open supportcue's pages at (https://support.example.com): links in a help
    desk's notes start with it. Empty: the address the help desk's webhook was sent to."""
    allowed_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1", "localhost", "::1", "testserver"])
    """Host names the service answers to (the request's Host header); `*` answers any, `*.example.com`
    any subdomain. Others get a 400: a DNS-rebinding page cannot talk to a service on localhost."""

    _public = field_validator("public_url")(lambda url: _http_url(url, "supportcue").rstrip("/"))

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        """From the environment: a JSON list, or names separated by commas."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except json.JSONDecodeError:
                    if "," not in text and text.endswith("]"):
                        return [text]  # an IPv6 address in brackets: [::1]
                    raise ValueError(f"{value!r} is not a JSON list of host names") from None
            return text.split(",")
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        return [_host_name(h) for h in hosts]


class ChatwootSettings(_Section):
    base_url: str = ""
    """Where supportcue reaches Chatwoot's API (e.g. https://chat.example.com, or an internal address);
    unless `frame_origin` says otherwise, its origin alone may frame the /embed/chatwoot page
    (Chatwoot's Dashboard App). Empty: no note is posted, and no page may be framed."""
    frame_origin: str = ""
    """The origin agents' browsers open Chatwoot at (scheme://host[:port], e.g. https://chat.example.com),
    when it is not `base_url`'s (supportcue reaching Chatwoot at an internal address): it alone may
    frame the /embed/chatwoot page, whose script listens to it alone. Empty: `base_url`'s origin."""
    account_id: int = Field(0, ge=0)
    """The Chatwoot account whose webhooks are read and whose conversations get notes (0: the account
    each webhook names)."""
    api_token: SecretStr = SecretStr("")
    """An agent's (or bot's) access token, sent as `api_access_token` to post the notes."""
    webhook_secret: SecretStr = SecretStr("")
    """The webhook's secret in Chatwoot; without it /integrations/chatwoot/webhook refuses everything."""
    post_notes: bool = True
    """False: suggestions are still made and measured, but no note is posted (a dark launch)."""
    max_attempts: int = Field(10, ge=1, le=100)
    retry_seconds: float = Field(5.0, gt=0, le=3600)
    """The wait after a note's first failed attempt; it doubles after each (at most an hour)."""
    timeout_seconds: float = Field(4.0, gt=0, le=120)

    _url = field_validator("base_url")(lambda url: _http_url(url, "a Chatwoot server"))
    _frame = field_validator("frame_origin")(_origin_url)

    @property
    def origin(self) -> str:
        """The origin of Chatwoot in agents' browsers: `frame_origin`, else `base_url`'s ("" when
        neither is set), as a browser writes an origin (the host in lower case, no port when it is
        the scheme's default): the embed page compares it with `MessageEvent.origin` as a string, and
        it is the page's CSP `frame-ancestors`."""
        return _browser_origin(self.frame_origin or self.base_url)


class SecuritySettings(_Section):
    rate_per_minute: float = Field(3000.0, ge=0)
    burst: int = Field(300, ge=1)
    session_hours: float = Field(12.0, gt=0, le=24 * 90)
    login_attempts_per_minute: int = Field(10, ge=1)


class MatchSettings(_Section):
    threshold: float = Field(0.7, ge=0.0, le=1.0)


class ToneSettings(_Section):
    mode: Literal["rules", "llm"] = "rules"
    """rules: the style policy below; llm: an LLM rewrite that must keep every fact (else the rules)."""
    greeting: str = "Hi {first_name},"
    greeting_fallback: str = "Hi there,"
    signoff: str = "Best,\n{agent_name}"
    signoff_fallback: str = "Best,\nThe support team"
    max_chars: int = Field(900, ge=50)
    contractions: bool = True
    replace: dict[str, str] = Field(
        default_factory=lambda: {
            "utilize": "use",
            "in order to": "to",
            "at this point in time": "now",
            "we apologize for any inconvenience": "sorry for the trouble",
            "please be advised that": "",
            "kindly": "please",
        }
    )
    avoid: list[str] = Field(default_factory=lambda: ["unfortunately", "as per", "per our policy"])
    product_names: list[str] = Field(default_factory=list)


class LabelSettings(_Section):
    source_weights: dict[str, float] = Field(
        default_factory=lambda: {"expert": 1.0, "sme": 1.0, "agent": 0.8, "weak": 0.5, "model": 0.3}
    )
    target_per_topic: int = Field(500, ge=1)
    min_confidence: float = Field(0.0, ge=0.0, le=1.0)


class ReviewSettings(_Section):
    """The review queue (`/review`, `review/queue.py`) and the labels reviews become."""

    label_days: int = Field(180, ge=1)
    """A reviewer's label expires this many days after the review (then it leaves training)."""
    window_days: int = Field(14, ge=1)
    """The queue picks from the suggestions, replies and messages of this many recent days."""
    random_share: float = Field(0.05, ge=0.0, le=1.0)
    """Share of the live suggestions shown to agents drawn, per topic, into the random sample."""
    random_slots: float = Field(0.2, ge=0.0, le=1.0)
    """Share of each queue page given to random-sample items (at least one while any is open)."""
    overlap_share: float = Field(0.1, ge=0.0, le=1.0)
    """Share of items given to two reviewers blind (for Krippendorff's alpha)."""
    low_confidence: float = Field(0.6, ge=0.0, le=1.0)
    """A suggestion made with less confidence than this is queued as `low_confidence`."""
    near_threshold: float = Field(0.4, ge=0.0, le=1.0)
    """An abstention whose confidence reached this is queued as `near_threshold` (almost suggested)."""
    per_reason: int = Field(50, ge=1)
    """At most this many new items per active-learning reason at each refresh."""


class ValidationStageSettings(_Section):
    rules: list[str] = Field(
        default_factory=lambda: ["empty", "greeting_only", "thanks_only", "too_short", "other_language"]
    )
    invalid_patterns: list[str] = Field(default_factory=list)
    """Regular expressions: a message that matches one is never an actionable question."""
    valid_recall: float = Field(0.99, gt=0.0, le=1.0)
    margin: float = Field(0.05, ge=0.0, lt=0.5)

    @field_validator("invalid_patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
        return patterns


class GateSettings(_Section):
    """The floors a trained version must clear to go live (the first version included), and how the
    backtest that measures it is split. Below a floor a version stays a candidate; `promote --force`
    is the deliberate way past them."""

    min_topic_accuracy: float = Field(0.5, ge=0.0, le=1.0)
    """Topic backtest accuracy (an abstention counts as wrong)."""
    target_precision: float = Field(0.9, gt=0.0, le=1.0)
    min_topic_coverage: float = Field(0.2, ge=0.0, le=1.0)
    """Share of the topic backtest's cases answered while precision stays at `target_precision`."""
    validation_both_classes: bool = True
    """Validation must have seen `valid` and `invalid` labels."""
    min_labels_per_class: int = Field(20, ge=0)
    """A topic (or validity class) with fewer labels gets a warning."""
    test_share: float = Field(0.2, gt=0.0, lt=1.0)
    """Share of the labeled cases a backtest holds out (the latest ones, or a stratified sample)."""
    min_time_spread_hours: float = Field(24.0, ge=0.0)
    """The backtest is time-ordered only when the cases' `created_at` span at least this long."""


class ResponseSettings(_Section):
    mode: Literal["library", "llm", "hybrid"] = "library"
    """library: the best approved answer; llm: a reply drafted by an LLM from the topic's answers and
    KB articles (the `draft` stage); hybrid: the library answer when one qualifies, else the LLM."""
    min_score: float = Field(0.35, ge=0.0, le=1.0)
    review_grace_days: int = Field(0, ge=0)
    review_cycle_days: int = Field(90, ge=1, le=3650)
    """How far "mark reviewed" (/library, PATCH /v1/answers) moves an answer's review due date."""


class ExperimentSettings(_Section):
    max_handle_seconds: float = Field(7 * 24 * 3600.0, ge=0)
    """`experiment analyze --metric handle_seconds` and the dashboard leave out handle times above this
    (a conversation left open for days, then resolved by someone or by Chatwoot's auto-resolve, was
    not handled that long), counting them per arm; 0 keeps every one. 7 days: the longest handle time
    `POST /v1/events` accepts."""

    @property
    def handle_cap(self) -> float | None:
        """`max_handle_seconds` as the analysis takes it: None for no limit (0)."""
        return self.max_handle_seconds or None


class DriftSettings(_Section):
    """When `supportcue drift` raises an alert (monitoring/drift.py): windows, and one threshold per
    kind of alert; each p-value threshold is for one test (answers are Holm-corrected together)."""

    every: Literal["day", "week"] = "day"
    window_days: int = Field(7, ge=1, le=90)
    reference_days: int = Field(14, ge=1, le=365)
    alpha: float = Field(0.001, gt=0.0, lt=1.0)
    min_topic_shift: float = Field(0.15, ge=0.0, le=1.0)
    """Cramér's V of the topic counts (window vs reference) that makes a `topic_volume` alert."""
    min_auc: float = Field(0.65, ge=0.5, le=1.0)
    """Domain-classifier AUC (window vs reference messages) that makes an `embedding_shift` alert."""
    min_unclaimed_rise: float = Field(0.03, ge=0.0, le=1.0)
    """Rise in the share of valid messages no topic claims before they are clustered."""
    min_cluster_share: float = Field(0.02, ge=0.0, le=1.0)
    """A candidate new topic holds at least this share of the window's valid messages."""
    min_match_drop: float = Field(0.2, ge=0.0, le=1.0)
    """Fall of an answer's match rate (reference minus window) that makes an `answer_match_drop`."""
    min_pairs: int = Field(10, ge=1)
    """Sent replies an answer needs in each window before its match rate is compared."""
    review_items: int = Field(5, ge=0, le=50)
    """Review items each alert puts in the queue (its examples: messages, suggestions; a new topic's
    cluster besides), reason `drift_alert`; 0: none."""
    review_warning_days: int = Field(7, ge=0)
    """Answers due for review within this many days are flagged (with their owner) on the dashboard."""
    webhook_url: str = ""
    """Each new alert is POSTed here as JSON (empty: none); one not taken is posted again by the next
    runs, for a week."""

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, url: str) -> str:
        return _http_url(url, "[drift] webhook_url") if url else url


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class LLMSettings(_Section):
    """The OpenAI-compatible chat-completions server of the LLM modes, and what the prompts say."""

    base_url: str = "https://api.openai.com/v1"
    model: str = ""
    api_key_env: str = "OPENAI_API_KEY"
    """The name of the environment variable that holds the API key ("" for a server without keys);
    the key itself is never written in a settings file."""
    timeout_ms: int = Field(10_000, ge=100)
    """One suggestion's LLM calls, retries included, give up after this (and never after the
    pipeline's own `[pipeline] timeout_ms`, which must be longer)."""
    max_tokens: int = Field(400, ge=16, le=32_768)
    temperature: float = Field(0.2, ge=0.0, le=2.0)
    retries: int = Field(2, ge=0, le=10)
    """Retries after a 429, a 5xx or a refused connection, with exponential backoff."""
    backoff_ms: int = Field(250, ge=0, le=60_000)
    privacy: bool = True
    """Replace personal data by placeholders in everything sent, and restore it in the reply."""
    prompts: str = "prompts"
    """The workspace folder holding the editable prompt templates (response.txt, tone.txt)."""
    style_rules: list[str] = Field(
        default_factory=lambda: [
            "Write plainly and warmly, in short sentences, addressing the customer as you.",
            "Do not start with a greeting or end with a sign-off: they are added afterwards.",
        ]
    )
    guard_rails: list[str] = Field(
        default_factory=lambda: [
            "Use only facts from the sources: never invent amounts, dates, time frames, links, "
            "plan or product names.",
            "Never promise a refund, credit or exception that the sources do not state.",
            "Never ask for or repeat card numbers, passwords or security codes.",
        ]
    )
    max_chars: int = Field(700, ge=50)
    """The length limit the prompts give the model."""
    max_answers: int = Field(3, ge=0, le=20)
    """Approved answers of the message's topic given as sources (the most similar first)."""
    max_articles: int = Field(3, ge=0, le=20)
    """KB article passages given as sources (the most similar to the message)."""
    min_article_score: float = Field(0.3, ge=0.0, le=1.0)
    """An article passage less similar to the message than this is not a source."""
    support_floor: float = Field(0.55, ge=0.0, le=1.0)
    """The grounding check: each statement of a draft needs a source passage at least this similar
    (cosine of sentence embeddings; see bench/bench_grounding.py for how it was tuned)."""

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, url: str) -> str:
        url = url.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} must be an http:// or https:// URL, e.g. http://127.0.0.1:8080/v1")
        return url

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, name: str) -> str:
        name = name.strip()
        if name and not _ENV_NAME.fullmatch(name):
            raise ValueError(
                f"{name!r} is not an environment variable name; give the variable's name "
                "(e.g. OPENAI_API_KEY), never the key itself"
            )
        return name


class Settings(_Section):
    workspace: Path = Path(".")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    match: MatchSettings = Field(default_factory=MatchSettings)
    tone: ToneSettings = Field(default_factory=ToneSettings)
    labels: LabelSettings = Field(default_factory=LabelSettings)
    validation: ValidationStageSettings = Field(default_factory=ValidationStageSettings)
    response: ResponseSettings = Field(default_factory=ResponseSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    gate: GateSettings = Field(default_factory=GateSettings)
    chatwoot: ChatwootSettings = Field(default_factory=ChatwootSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    experiments: ExperimentSettings = Field(default_factory=ExperimentSettings)
    placeholders: dict[str, str] = Field(default_factory=dict)
    """Workspace-wide values for answer placeholders (`support_phone = "+1 555 0100"` fills
    `{support_phone}`); a case's own fields and names win over them."""
    labeling_functions: list[str] = Field(default_factory=list)
    """Python modules in the workspace whose labeling functions `supportcue weak apply` uses."""
    _from_env: dict[str, str] = PrivateAttr(default_factory=dict)
    """Setting ("database.url") -> the environment variable that set it, for messages about it."""

    def source(self, key: str) -> str:
        """Where setting `key` ("database.url") came from: its environment variable, or the file."""
        name = self._from_env.get(key)
        return f"environment variable {name}" if name else str(self.workspace / CONFIG_NAME)

    @field_validator("placeholders")
    @classmethod
    def _placeholder_keys(cls, values: dict[str, str]) -> dict[str, str]:
        for key, value in values.items():
            if not re.fullmatch(r"[a-z0-9]+(?:_[a-z0-9]+)*", key):
                usable = re.sub(r"[^0-9a-z]+", "_", key.lower()).strip("_") or "support_phone"
                raise ValueError(
                    f"{key!r} is not a placeholder key: use lowercase letters, digits and _, "
                    f"e.g. {usable!r} (which {{{usable}}} reads)"
                )
            if not value.strip():
                raise ValueError(f"{key!r} is empty: give it a value or remove it")
        return values

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.workspace / DB_NAME).resolve()}"

    @property
    def models_dir(self) -> Path:
        return self.workspace / "models"

    @property
    def cache_dir(self) -> Path:
        return self.workspace / "cache"

    @property
    def uses_llm(self) -> bool:
        """True when a stage calls the LLM: `[response] mode` llm or hybrid, or `[tone] mode` llm."""
        return self.response.mode != "library" or self.tone.mode == "llm"

    def llm_problem(self) -> str | None:
        """What stops the LLM modes from running with these settings, or None (checked at start-up)."""
        if not self.uses_llm:
            return None
        if not self.llm.model.strip():
            return (
                "setting llm.model: the LLM modes need a model name "
                "(e.g. gpt-4o-mini, or the name your server serves)"
            )
        if self.llm.timeout_ms >= self.pipeline.timeout_ms:
            return (
                f"setting llm.timeout_ms ({self.llm.timeout_ms}) must be below pipeline.timeout_ms "
                f"({self.pipeline.timeout_ms}): raise [pipeline] timeout_ms (e.g. to "
                f"{self.llm.timeout_ms + 5000}) or lower [llm] timeout_ms"
            )
        return None


DEFAULT_TOML = """\
# supportcue workspace settings. Every key is optional; the values shown are the defaults.
# Environment variables override them: SUPPORTCUE_DATABASE_URL, and SUPPORTCUE_<SECTION>__<KEY>
# (for example SUPPORTCUE_PIPELINE__TOPIC=shadow).
#
# Policy or learned? Model files keep only what training learned. [pipeline], [validation],
# [response] and [tone] are policy: read each time `serve` (or `suggest`, `eval`) starts, so a
# change takes effect at the next start without retraining. [labels], [embedding] and [match]
# (which past replies count as sent from an answer) shape what training learns: changing them
# needs `supportcue train`; the online metrics read [match] whenever they are computed. [gate] is
# read by `train` and `promote` when they decide whether a version may go live.

# Python files (or folders of them), relative to this folder, whose labeling functions
# `supportcue weak apply` runs (see supportcue.weak: keyword_lf, regex_lf, @labeling_function).
labeling_functions = []

[database]
# SQLAlchemy URL. Empty: the SQLite file supportcue.db in this folder.
# PostgreSQL: "postgresql+psycopg://user@host:5432/dbname"
url = ""

[embedding]
model = "minilm"      # minilm (all-MiniLM-L6-v2, shipped offline) | tfidf (model-free fallback)
backend = "onnx"      # onnx (ONNX Runtime, ~3x faster; exported once from the installed model)
                      # | torch (sentence-transformers); both give the same vectors
quantize = false      # onnx only: int8 weights, faster, slightly different vectors (its own cache
                      # and embedder name, so retrain after changing it)
device = "auto"       # auto (a CUDA GPU when there is one) | cpu | cuda
batch_size = 64
cache = true          # cache vectors by text hash under cache/
spelling = true       # minilm: read misspelt words as corrected ("my payemnt" as "my payment"); correctly
                      # spelled text gets the same vectors, so no retraining either way
known_words = []      # your own brand and product words spelling keeps as typed, e.g. ["venmo", "autopay"]
                      # (else read as "venom", "autopsy"); retrain after changing it

[pipeline]
# Each stage: live (its output is used) | shadow (runs and is logged, not shown) | off
validation = "live"
topic = "live"
response = "live"
draft = "live"        # the LLM response stage: runs only when [response] mode is llm or hybrid
tone = "live"
timeout_ms = 2000     # a slower pipeline gives "no suggestion" with the reason (LLM modes: ~15000)

[service]
host = "127.0.0.1"
port = 8000
max_message_chars = 10000  # longer: 413; counted without an e-mail's quoted thread and signature
max_event_bytes = 65536
batch_wait_ms = 0.0   # extra wait to micro-batch concurrent requests (0: batch whatever is queued)
write_timeout_ms = 5000  # how long a suggestion or event waits for the database before a 503
registry_poll_s = 1.0 # how often the server checks for a promotion or rollback and swaps models (0: never)
shutdown_grace_s = 30     # a stopping server cuts off requests still under way after this long
workers = 1           # processes `serve` runs (`serve --workers N`); more than 1 needs PostgreSQL
# The address people open supportcue at, e.g. "https://support.example.com": the links in help-desk
# notes start with it. Empty: the address the help desk's webhook was sent to.
public_url = ""
# Host names this service answers to (the Host header of requests); others get a 400. Add the name
# people and help desks use to reach it, e.g. ["support.example.com"]; "*.example.com" allows any
# subdomain and ["*"] any name (only behind a proxy that checks the host itself).
# Environment: SUPPORTCUE_SERVICE__ALLOWED_HOSTS="support.example.com,localhost"
allowed_hosts = ["127.0.0.1", "localhost", "::1", "testserver"]

[security]
# Who may call is in the store: `supportcue keys create` (machines) and `supportcue users add` (people).
rate_per_minute = 3000.0       # sustained requests a minute per caller (API key, user, or address
                               # without either); over it: 429 with Retry-After. 0 turns it off
burst = 300                    # requests a caller may make at once before the rate applies
session_hours = 12.0           # a login lasts this long
login_attempts_per_minute = 10 # failed logins allowed per user name and per address; a browser
                               # the user logged in from before counts its own (device cookie)

[match]
threshold = 0.7       # similarity(suggested, sent) >= threshold counts as a match

[tone]
mode = "rules"        # rules | llm (an LLM rewrite that must keep every fact, else the rules apply)
# {first_name} and {customer_name} are the customer's; without a name, greeting_fallback is used (here
# and for a library answer's own "Hi {customer_name}," line). Both may use [placeholders] too.
greeting = "Hi {first_name},"
greeting_fallback = "Hi there,"
signoff = "Best,\\n{agent_name}"
signoff_fallback = "Best,\\nThe support team"
max_chars = 900
contractions = true
avoid = ["unfortunately", "as per", "per our policy"]
product_names = []

[tone.replace]
"utilize" = "use"
"in order to" = "to"
"at this point in time" = "now"
"we apologize for any inconvenience" = "sorry for the trouble"
"please be advised that" = ""
"kindly" = "please"

[labels]
target_per_topic = 500
min_confidence = 0.0

[labels.source_weights]
expert = 1.0
sme = 1.0
agent = 0.8
weak = 0.5
model = 0.3

[validation]
# Rules that win over the model: empty | greeting_only | thanks_only | too_short (one word,
# of any script; in Chinese, Japanese and Thai each character counts as a word) | other_language
# (no suggestion for a message not in English: drop it if your embedding model is multilingual)
rules = ["empty", "greeting_only", "thanks_only", "too_short", "other_language"]
invalid_patterns = []     # your own rules, as regular expressions, e.g. ["^test message$"]
valid_recall = 0.99       # share of known questions (held-out scores) the threshold keeps
margin = 0.05             # abstain when P(valid) is within this of 0.5

[response]
mode = "library"          # library | llm | hybrid (the library answer when one qualifies, else the LLM)
min_score = 0.35          # below this ranker score the response stage abstains
review_grace_days = 0     # answers overdue for review by more than this are not suggested
review_cycle_days = 90    # "mark reviewed" in /library sets the next review this many days ahead

[review]
label_days = 180          # a reviewer's label expires (leaves training) this many days after the review
window_days = 14          # the queue picks from this many recent days of suggestions and replies
random_share = 0.05       # share of shown live suggestions sampled at random, per topic (online precision)
random_slots = 0.2        # share of each queue page given to the random sample
overlap_share = 0.1       # share of items reviewed by two reviewers, blind (Krippendorff's alpha)
low_confidence = 0.6      # suggestions below this confidence are queued (active learning)
near_threshold = 0.4      # abstentions at or above this confidence are queued (almost suggested)
per_reason = 50           # at most this many new items per active-learning reason per refresh

[llm]
# Any OpenAI-compatible chat-completions server: OpenAI, vLLM, llama.cpp's llama-server, Ollama
# (see the README, "LLM mode"). Used only when [response] mode or [tone] mode asks for it.
base_url = "https://api.openai.com/v1"   # vLLM/llama.cpp: "http://127.0.0.1:8080/v1"; Ollama: "http://127.0.0.1:11434/v1"
model = ""                # e.g. "gpt-4o-mini", or the model name your server serves
api_key_env = "OPENAI_API_KEY"   # the NAME of the environment variable holding the key; "" for none
timeout_ms = 10000        # one suggestion's calls, retries included; must be below [pipeline] timeout_ms
max_tokens = 400
temperature = 0.2
retries = 2               # after a 429, a 5xx or a refused connection, with exponential backoff
backoff_ms = 250
privacy = true            # emails, card numbers, phones, IBANs, order ids and the customer's name are
                          # replaced by placeholders in everything sent, and restored in the reply
prompts = "prompts"       # folder of the editable templates response.txt and tone.txt (see `supportcue init`)
style_rules = [
    "Write plainly and warmly, in short sentences, addressing the customer as you.",
    "Do not start with a greeting or end with a sign-off: they are added afterwards.",
]
guard_rails = [
    "Use only facts from the sources: never invent amounts, dates, time frames, links, plan or product \
names.",
    "Never promise a refund, credit or exception that the sources do not state.",
    "Never ask for or repeat card numbers, passwords or security codes.",
]
max_chars = 700           # the length limit the prompts give the model
max_answers = 3           # the topic's approved answers given as sources
max_articles = 3          # KB article passages given as sources, the most similar to the message
min_article_score = 0.3   # less similar passages are not sources
support_floor = 0.55      # grounding: each statement needs a source passage at least this similar
                          # (cosine of MiniLM sentence embeddings; tuned in bench/bench_grounding.py)

[placeholders]
# Workspace-wide values for answer placeholders, used where a case has no value of its own:
# support_phone = "+1 555 0100"                   # fills {support_phone}
# help_center_url = "https://help.example.com"    # fills {help_center_url}
# A placeholder nothing fills (an {order_id} the case lacks) makes the response stage abstain,
# naming it; the customer's name never does. Environment: SUPPORTCUE_PLACEHOLDERS__SUPPORT_PHONE=...

[gate]
# A trained version goes live only when its backtest clears these floors, the first version
# included; below them it stays a candidate and `supportcue train` says why.
# `supportcue promote STAGE VERSION --force` puts a version live anyway.
min_topic_accuracy = 0.5      # topic backtest accuracy (an abstention counts as wrong)
target_precision = 0.9        # the precision the topic model must keep on the cases it answers ...
min_topic_coverage = 0.2      # ... while answering at least this share of the backtest's cases
validation_both_classes = true  # validation must have seen both valid and invalid labels
min_labels_per_class = 20     # a topic (or validity class) with fewer labels gets a warning
test_share = 0.2              # the share of labeled cases a backtest holds out
# The backtest trains on the older cases and tests on the newer ones when `created_at` spans at least
# this long and every tested topic has older cases; otherwise it holds out a stratified sample (the
# report says which). Cases imported without a created_at all carry the import time.
min_time_spread_hours = 24.0

[chatwoot]
# Your Chatwoot's URL, e.g. "https://chat.example.com": supportcue posts notes to its API there, and
# only that origin may show the /embed/chatwoot page in an iframe (Chatwoot's Dashboard App), unless
# frame_origin names another. Empty: no note is posted, and no site may frame any page.
base_url = ""
# The origin agents' browsers open Chatwoot at, when supportcue reaches it at another address (base_url
# = "http://chatwoot.internal:3000", frame_origin = "https://chat.example.com"): scheme://host[:port]
# only. It alone may frame /embed/chatwoot. Empty: base_url's origin.
frame_origin = ""
account_id = 0          # the Chatwoot account to serve (0: whichever account a webhook names)
# Secrets: better given as environment variables (SUPPORTCUE_CHATWOOT__API_TOKEN,
# SUPPORTCUE_CHATWOOT__WEBHOOK_SECRET) than written here.
api_token = ""          # an agent's or bot's access token: posts the private notes
webhook_secret = ""     # the webhook's secret in Chatwoot; empty: the webhook refuses every request
post_notes = true       # false: suggest and measure, post no note (a dark launch)
max_attempts = 10       # attempts to post a note before giving up
retry_seconds = 5.0     # wait after the first failed attempt; doubles after each (at most an hour)
timeout_seconds = 4.0   # one call to Chatwoot's API

[experiments]
# `experiment analyze --metric handle_seconds` (and the dashboard) leave out handle times over this
# many seconds: a conversation left open for days and resolved later (by someone, or Chatwoot's
# auto-resolve) was not handled that long, and one such case would swamp the mean. They are counted
# per arm (`excluded`) and still count as resolved. 0 keeps every handle time. 604800 = 7 days.
max_handle_seconds = 604800.0

[drift]
# `supportcue drift`: each day (or week) the last window_days are compared with the reference_days
# before them. A test must reach p < alpha and its effect the threshold below to raise an alert.
every = "day"               # day | week
window_days = 7
reference_days = 14
alpha = 0.001
min_topic_shift = 0.15      # topic_volume: Cramér's V of the topic counts (chi-square test)
min_auc = 0.65              # embedding_shift: AUC of a classifier telling the windows' messages apart
min_unclaimed_rise = 0.03   # new_topic_cluster: rise in the share of messages no topic claims ...
min_cluster_share = 0.02    # ... and each candidate topic's share of the window's messages
min_match_drop = 0.2        # answer_match_drop: fall of an answer's match rate (Holm-corrected test)
min_pairs = 10              # sent replies an answer needs in each window to be compared
review_items = 5            # review items each alert queues (reason drift_alert); 0: none
review_warning_days = 7     # the dashboard flags answers due for review within this many days
webhook_url = ""            # POST each new alert here as JSON (e.g. a Slack or Alertmanager bridge)
"""


def _describe(item: ErrorDetails, from_env: bool) -> str:
    """One validation error as `setting KEY: what is wrong` (with the value given, when it came from
    the environment, where nobody can see it in a file; never a database URL's password)."""
    key = ".".join(str(p) for p in item["loc"])
    allowed = (item.get("ctx") or {}).get("expected")
    msg = item["msg"].removeprefix("Value error, ")
    if allowed:
        msg = f"got {item.get('input')!r}; allowed values: {allowed}"
    elif item["type"] == "extra_forbidden":
        msg = "unknown setting"
    elif from_env and item["type"] in ("list_type", "dict_type"):
        example = '["a", "b"]' if item["type"] == "list_type" else '{"a": "b"}'
        msg = f"{msg}: give it as JSON, e.g. {example}"
    elif from_env and item["type"] != "value_error":
        msg = f"{msg}, got {item.get('input')!r}"
    return f"setting {key}: {msg}"


def _env_path(name: str) -> tuple[str, ...] | None:
    """The setting an environment variable overrides (None: not a setting's variable)."""
    rest = name[len(ENV_PREFIX) :].lower()
    if rest == "database_url":
        return ("database", "url")
    if "__" in rest:
        return tuple(rest.split("__", 1))
    return None


def _env_value(path: tuple[str, ...], value: str) -> Any:
    """A list or table setting may be given as JSON (`["a", "b"]`); everything else as text."""
    section = Settings.model_fields.get(path[0])
    model = section.annotation if section is not None else None
    field = (
        model.model_fields.get(path[1]) if isinstance(model, type) and issubclass(model, BaseModel) else None
    )
    if field is not None and get_origin(field.annotation) in (list, dict):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value  # the field says what it wants
    return value


def _env_overrides(environ: dict[str, str]) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """The `SUPPORTCUE_*` overrides as nested settings, and each one's variable name by setting."""
    out: dict[str, Any] = {}
    names: dict[tuple[str, ...], str] = {}
    for name, value in environ.items():
        path = _env_path(name) if name.startswith(ENV_PREFIX) else None
        if path is not None:
            out.setdefault(path[0], {})[path[1]] = _env_value(path, value)
            names[path] = name
    return out, names


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(workspace: Path | str | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read a workspace's settings; `workspace` defaults to `$SUPPORTCUE_WORKSPACE`, then the cwd.

    A bad value is a `SettingsError` naming where it came from: the file, or the environment variable
    (`SUPPORTCUE_SERVICE__PORT`) when the file alone is fine.
    """
    env = dict(os.environ if environ is None else environ)
    folder = Path(workspace or env.get(ENV_PREFIX + "WORKSPACE") or ".")
    config = folder / CONFIG_NAME
    data: dict[str, Any] = {}
    if config.exists():
        try:
            data = tomllib.loads(config.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{config}: not valid TOML: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise SettingsError(f"{config}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    data["workspace"] = folder
    overrides, names = _env_overrides(env)
    try:
        settings = Settings.model_validate(_merge(data, overrides))
    except ValidationError as exc:
        raise SettingsError(_blame(exc, data, names, config)) from None
    settings._from_env = {".".join(path): name for path, name in names.items()}
    problem = settings.llm_problem()
    if problem:
        raise SettingsError(f"{config}: {problem}")
    return settings


def _blame(
    error: ValidationError, file_data: dict[str, Any], names: dict[tuple[str, ...], str], config: Path
) -> str:
    """One line per error, each starting with its source. A value a variable set (or a part of it) is
    the variable's fault; an error about a whole section is the file's when the file alone has it,
    else the fault of the variables that set keys in that section."""
    try:
        Settings.model_validate(file_data)
        in_file: set[tuple[Any, ...]] = set()
    except ValidationError as exc:
        in_file = {(tuple(e["loc"]), e["msg"]) for e in exc.errors()}
    lines = []
    for item in error.errors():
        loc = tuple(str(p) for p in item["loc"])
        culprits = [name for path, name in names.items() if loc[: len(path)] == path]
        if not culprits and (tuple(item["loc"]), item["msg"]) not in in_file:
            culprits = [name for path, name in names.items() if path[: len(loc)] == loc]
        if culprits:
            variables = "environment variable" if len(culprits) == 1 else "environment variables"
            lines.append(f"{', '.join(sorted(culprits))} ({variables}): {_describe(item, from_env=True)}")
        else:
            described = _describe(item, from_env=False)
            line = _line_of(config, loc)
            if line is not None:  # as a TOML syntax error says where: "(at line 48)"
                described = f"{described} (at line {line})"
            lines.append(f"{config}: {described}")
    return "\n".join(lines)


_TABLE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


def _line_of(config: Path, loc: tuple[str, ...]) -> int | None:
    """The line of `supportcue.toml` that sets the setting at `loc` (`("service", "port")`), or its
    table's header for a setting of the whole table (an unknown `[servce]`); None when not found
    (a value inside a multi-line array, a file that cannot be read)."""
    try:
        text = config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    table: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(raw)
        if header:
            table = tuple(part.strip().strip("\"'") for part in header[1].split("."))
            if table == loc:
                return number
            continue
        key = _KEY.match(raw)
        if key:
            path = table + tuple(part.strip().strip("\"'") for part in key[1].split("."))
            if path == loc[: len(path)] and (len(path) >= 2 or len(loc) == 1):  # the key, or its inline table
                return number
    return None


@lru_cache(maxsize=8)
def get_settings(workspace: Path | None = None) -> Settings:
    """The settings every entry point uses: read once per process and workspace, like `load_settings`
    (`workspace` defaults to `$SUPPORTCUE_WORKSPACE`, then the cwd; `SUPPORTCUE_*` overrides apply).

    Cached, so the CLI and the service never read the file twice; tests that change the file or the
    environment call `get_settings.cache_clear()`.
    """
    return load_settings(workspace)


def require_workspace(settings: Settings) -> Settings:
    """Fail clearly when the folder is not a workspace (no `supportcue.toml`), naming the workspaces
    right under it (run from the repository after `make demo`, the workspace is `demo-workspace/`)."""
    if not (settings.workspace / CONFIG_NAME).exists():
        try:
            inside = sorted(p.parent.name for p in settings.workspace.glob(f"*/{CONFIG_NAME}"))
        except OSError:
            inside = []
        if inside:
            name = inside[0]
            more = f" (also: {', '.join(inside[1:4])})" if len(inside) > 1 else ""
            fix = (
                f"the workspace here is {name}/{more}: give `--workspace {name}` or "
                f"`export SUPPORTCUE_WORKSPACE={name}`"
            )
        else:
            fix = "run `supportcue init DIR`, or give `--workspace DIR` or set SUPPORTCUE_WORKSPACE"
        raise WorkspaceError(
            f"{settings.workspace.resolve()} is not a supportcue workspace (no {CONFIG_NAME}); {fix}"
        )
    return settings


def init_workspace(folder: Path) -> Path:
    """Create a workspace folder with the documented default settings and the default prompt
    templates of the LLM modes (`prompts/`); keeps an existing config and existing templates."""
    from supportcue.llm.prompts import write_default_prompts

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "models").mkdir(exist_ok=True)
    (folder / "cache").mkdir(exist_ok=True)
    write_default_prompts(folder / "prompts")
    config = folder / CONFIG_NAME
    if not config.exists():
        config.write_text(DEFAULT_TOML, encoding="utf-8")
    return config
