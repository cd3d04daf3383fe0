"""Workspace settings: `supportcue.toml`, overridden by `SUPPORTCUE_*` environment variables.

Every setting has a documented default (see `DEFAULT_TOML`, which `supportcue init` writes). Environment
overrides: `SUPPORTCUE_WORKSPACE` (the folder), `SUPPORTCUE_DATABASE_URL` (the store), and any other
key as `SUPPORTCUE_<SECTION>__<KEY>`, e.g. `SUPPORTCUE_PIPELINE__TOPIC=shadow`. A bad value fails at
start-up with a `SettingsError` naming the key and the allowed values.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from supportcue.errors import SettingsError, WorkspaceError
from supportcue.vocab import StageMode

CONFIG_NAME = "supportcue.toml"
DB_NAME = "supportcue.db"
ENV_PREFIX = "SUPPORTCUE_"

STAGES = ("validation", "topic", "response", "tone")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DatabaseSettings(_Section):
    url: str = ""
    """SQLAlchemy URL; empty means the workspace's own SQLite file."""


class EmbeddingSettings(_Section):
    model: Literal["minilm", "tfidf"] = "minilm"
    batch_size: int = Field(64, ge=1, le=4096)
    cache: bool = True


class PipelineSettings(_Section):
    """Each stage's mode (`live`, `shadow` or `off`), keyed by the stage's registered name; a stage
    kind registered later (see `stages/registry.py`) is set the same way and is `live` by default."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    validation: StageMode = StageMode.LIVE
    topic: StageMode = StageMode.LIVE
    response: StageMode = StageMode.LIVE
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


class ServiceSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_message_chars: int = Field(10_000, ge=1)
    max_event_bytes: int = Field(65_536, ge=256)
    batch_wait_ms: float = Field(0.0, ge=0)
    write_timeout_ms: int = Field(5000, ge=100)
    """How long a suggestion or event waits for the database (a lock, a slow disk) before a 503."""
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
    """Where the team's Chatwoot runs (e.g. https://chat.example.com); its origin alone may frame the
    /embed/chatwoot page (Chatwoot's Dashboard App). Empty: no page may be framed."""
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

    @property
    def origin(self) -> str:
        """scheme://host[:port] of `base_url` ("" when unset), as a CSP source expression wants it."""
        if not self.base_url:
            return ""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc.lower()}"


class SecuritySettings(_Section):
    rate_per_minute: float = Field(3000.0, ge=0)
    burst: int = Field(300, ge=1)
    session_hours: float = Field(12.0, gt=0, le=24 * 90)
    login_attempts_per_minute: int = Field(10, ge=1)


class MatchSettings(_Section):
    threshold: float = Field(0.7, ge=0.0, le=1.0)


class ToneSettings(_Section):
    greeting: str = "Hi {customer_name},"
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


class ValidationStageSettings(_Section):
    rules: list[str] = Field(default_factory=lambda: ["empty", "greeting_only", "thanks_only", "too_short"])
    invalid_patterns: list[str] = Field(default_factory=list)
    """Regular expressions: a message that matches one is never an actionable question."""
    valid_recall: float = Field(0.995, gt=0.0, le=1.0)
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


class ResponseSettings(_Section):
    min_score: float = Field(0.35, ge=0.0, le=1.0)
    review_grace_days: int = Field(0, ge=0)


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
    chatwoot: ChatwootSettings = Field(default_factory=ChatwootSettings)
    labeling_functions: list[str] = Field(default_factory=list)
    """Python modules in the workspace whose labeling functions `supportcue weak apply` uses."""

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.workspace / DB_NAME).resolve()}"

    @property
    def models_dir(self) -> Path:
        return self.workspace / "models"

    @property
    def cache_dir(self) -> Path:
        return self.workspace / "cache"


DEFAULT_TOML = """\
# supportcue workspace settings. Every key is optional; the values shown are the defaults.
# Environment variables override them: SUPPORTCUE_DATABASE_URL, and SUPPORTCUE_<SECTION>__<KEY>
# (for example SUPPORTCUE_PIPELINE__TOPIC=shadow).
#
# Policy or learned? Model files keep only what training learned. [pipeline], [validation],
# [response] and [tone] are policy: read each time `serve` (or `suggest`, `eval`) starts, so a
# change takes effect at the next start without retraining. [labels], [embedding] and [match]
# (which past replies count as sent from an answer) shape what training learns: changing them
# needs `supportcue train`; the online metrics read [match] whenever they are computed.

# Python files (or folders of them), relative to this folder, whose labeling functions
# `supportcue weak apply` runs (see supportcue.weak: keyword_lf, regex_lf, @labeling_function).
labeling_functions = []

[database]
# SQLAlchemy URL. Empty: the SQLite file supportcue.db in this folder.
# PostgreSQL: "postgresql+psycopg://user@host:5432/dbname"
url = ""

[embedding]
model = "minilm"      # minilm (all-MiniLM-L6-v2, shipped offline) | tfidf (model-free fallback)
batch_size = 64
cache = true          # cache vectors by text hash under cache/

[pipeline]
# Each stage: live (its output is used) | shadow (runs and is logged, not shown) | off
validation = "live"
topic = "live"
response = "live"
tone = "live"
timeout_ms = 2000     # a slower pipeline gives "no suggestion" with the reason

[service]
host = "127.0.0.1"
port = 8000
max_message_chars = 10000
max_event_bytes = 65536
batch_wait_ms = 0.0   # extra wait to micro-batch concurrent requests (0: batch whatever is queued)
write_timeout_ms = 5000  # how long a suggestion or event waits for the database before a 503
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
login_attempts_per_minute = 10 # failed logins allowed per user name and per address

[match]
threshold = 0.7       # similarity(suggested, sent) >= threshold counts as a match

[tone]
greeting = "Hi {customer_name},"
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
# Rules that win over the model: empty | greeting_only | thanks_only | too_short
rules = ["empty", "greeting_only", "thanks_only", "too_short"]
invalid_patterns = []     # your own rules, as regular expressions, e.g. ["^test message$"]
valid_recall = 0.995      # share of known questions the out-of-scope threshold keeps
margin = 0.05             # abstain when P(valid) is within this of 0.5

[response]
min_score = 0.35          # below this ranker score the response stage abstains
review_grace_days = 0     # answers overdue for review by more than this are not suggested

[chatwoot]
# Your Chatwoot's URL, e.g. "https://chat.example.com": only that origin may show the
# /embed/chatwoot page in an iframe (Chatwoot's Dashboard App). Empty: no site may frame any page.
base_url = ""
account_id = 0          # the Chatwoot account to serve (0: whichever account a webhook names)
# Secrets: better given as environment variables (SUPPORTCUE_CHATWOOT__API_TOKEN,
# SUPPORTCUE_CHATWOOT__WEBHOOK_SECRET) than written here.
api_token = ""          # an agent's or bot's access token: posts the private notes
webhook_secret = ""     # the webhook's secret in Chatwoot; empty: the webhook refuses every request
post_notes = true       # false: suggest and measure, post no note (a dark launch)
max_attempts = 10       # attempts to post a note before giving up
retry_seconds = 5.0     # wait after the first failed attempt; doubles after each (at most an hour)
timeout_seconds = 4.0   # one call to Chatwoot's API
"""


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"])
        ctx = item.get("ctx") or {}
        allowed = ctx.get("expected")
        msg = item["msg"]
        if allowed:
            msg = f"got {item.get('input')!r}; allowed values: {allowed}"
        elif item["type"] == "extra_forbidden":
            msg = "unknown setting"
        lines.append(f"setting {key}: {msg}")
    return "\n".join(lines)


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in (ENV_PREFIX + "WORKSPACE",):
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        if rest == "database_url":
            out.setdefault("database", {})["url"] = value
        elif "__" in rest:
            section, key = rest.split("__", 1)
            out.setdefault(section, {})[key] = value
    return out


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(workspace: Path | str | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read a workspace's settings; `workspace` defaults to `$SUPPORTCUE_WORKSPACE`, then the cwd."""
    env = dict(os.environ if environ is None else environ)
    folder = Path(workspace or env.get(ENV_PREFIX + "WORKSPACE") or ".")
    config = folder / CONFIG_NAME
    data: dict[str, Any] = {}
    if config.exists():
        try:
            data = tomllib.loads(config.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{config}: not valid TOML: {exc}") from exc
    data = _merge(data, _env_overrides(env))
    data["workspace"] = folder
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(f"{config}: {_describe(exc)}") from None


@lru_cache(maxsize=8)
def get_settings(workspace: Path | None = None) -> Settings:
    """The settings every entry point uses: read once per process and workspace, like `load_settings`
    (`workspace` defaults to `$SUPPORTCUE_WORKSPACE`, then the cwd; `SUPPORTCUE_*` overrides apply).

    Cached, so the CLI and the service never read the file twice; tests that change the file or the
    environment call `get_settings.cache_clear()`.
    """
    return load_settings(workspace)


def require_workspace(settings: Settings) -> Settings:
    """Fail clearly when the folder is not a workspace (no `supportcue.toml`)."""
    if not (settings.workspace / CONFIG_NAME).exists():
        raise WorkspaceError(
            f"{settings.workspace.resolve()} is not a supportcue workspace (no {CONFIG_NAME}); "
            "run `supportcue init DIR` or set SUPPORTCUE_WORKSPACE"
        )
    return settings


def init_workspace(folder: Path) -> Path:
    """Create a workspace folder with the documented default settings; keeps an existing config."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "models").mkdir(exist_ok=True)
    (folder / "cache").mkdir(exist_ok=True)
    config = folder / CONFIG_NAME
    if not config.exists():
        config.write_text(DEFAULT_TOML, encoding="utf-8")
    return config
