"""What the service holds for its lifetime: settings, store, the pipeline (loaded once), the
suggestion writer, metrics; and what /readyz says about the database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial

import sklearn
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from supportcue.data.database import unavailable_reason
from supportcue.data.store import Store
from supportcue.errors import SupportcueError
from supportcue.pipeline import Pipeline, Prepared, SuggestRequest, SuggestResult
from supportcue.security.redaction import hide_paths, redact
from supportcue.service.batcher import Later
from supportcue.service.writer import Outcome, SuggestionWriter, write_rows
from supportcue.settings import Settings
from supportcue.vocab import SuggestionMode

log = logging.getLogger("supportcue.service")

RETRY_AFTER_S = 5
"""What a 503 for an unavailable database asks the client to wait (`Retry-After`)."""
PROBE_EVERY_S = 1.0
"""/readyz checks the database at most this often (the answer is cached in between)."""
FAILURE_MEMORY_S = float(RETRY_AFTER_S)
"""A failed write keeps /readyz at 503 this long (the time clients were asked to wait), unless a
write succeeds sooner: a `SELECT 1` cannot tell that a full disk has room again, only a write can."""

PipelineLoader = Callable[[Store, Settings], Pipeline]
"""How the app gets its pipeline: called once, in a worker thread, when the app starts."""


def load_workspace_pipeline(store: Store, settings: Settings) -> Pipeline:
    """The workspace's live models, as `serve` runs them (the default `PipelineLoader`)."""
    from supportcue.embeddings import make_embedder
    from supportcue.training.loader import load_pipeline

    # no disk cache when serving: live messages rarely repeat, and a cache write per request would
    # cost more than it saves
    embedder = make_embedder(settings.embedding.model, batch_size=settings.embedding.batch_size)
    return load_pipeline(store, settings, embedder)


@dataclass
class Telemetry:
    """Prometheus metrics, in a registry of the app's own (so tests can build many apps)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "supportcue_http_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "supportcue_http_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
            registry=r,
        )
        self.suggestions = Counter(
            "supportcue_suggestions", "Suggestions by outcome", ["outcome"], registry=r
        )
        self.events = Counter("supportcue_events", "Accepted events by kind", ["kind"], registry=r)
        self.unstored = Counter(
            "supportcue_suggestions_unstored", "Suggestions not stored (answered 503 or 422)", registry=r
        )
        self.model = Gauge("supportcue_model_live", "Live model versions", ["stage", "version"], registry=r)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    telemetry: Telemetry = field(default_factory=Telemetry)
    pipeline: Pipeline | None = None
    writer: SuggestionWriter | None = None
    error: str | None = None
    loaded_at: float | None = None
    pending_suggestions: dict[tuple[str, str], asyncio.Future[None]] = field(default_factory=dict)
    """(case id, message id) of suggestions being made now (the suggestion route's, on its loop)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _probe: tuple[float, str | None] | None = None

    @property
    def ready(self) -> bool:
        return self.pipeline is not None

    @property
    def not_ready_reason(self) -> str:
        """Why there is no pipeline yet: the load error, or that it is still loading."""
        return self.error or "models are still loading; retry in a few seconds"

    def load(self, loader: PipelineLoader) -> None:
        """Load the pipeline and warm its embedder (called once, at start-up); a failure is kept in
        `error` for /readyz and the suggestion route to report, and the process stays up to say why."""
        try:
            pipeline = loader(self.store, self.settings)
            pipeline.embed(["warm up"])
            for stage, version in pipeline.versions.items():
                self.telemetry.model.labels(stage, version).set(1)
            self.pipeline = pipeline
            self.loaded_at = time.time()
        except Exception as exc:
            # the reason is public (/readyz needs no caller): no server paths, no personal data
            self.error = redact(hide_paths(f"{type(exc).__name__}: {exc}"))
            log.error(
                "loading the pipeline failed: %s", self.error, exc_info=not isinstance(exc, SupportcueError)
            )

    def suggest_batch(
        self, requests: Sequence[SuggestRequest]
    ) -> list[SuggestResult | Later[SuggestResult] | Exception]:
        """Run the pipeline and commit every suggestion (with its trace) before it is answered: one
        transaction for the batch. A request whose suggestion could not be stored gets the error
        instead (`DatabaseUnavailable`: 503, `UnstorableValue`: 422), never its suggestion. When a
        stage waits on I/O, each request's chain is handed back as a `Later`, which the batcher
        finishes (and stores) concurrently with the other requests."""
        assert self.pipeline is not None
        pipeline = self.pipeline
        with _fast_sklearn():
            prepared = pipeline.prepare(requests)
            if pipeline.has_blocking_stages:
                return [Later(partial(self._finish, pipeline, p)) for p in prepared]
            results = [pipeline.finish(p) for p in prepared]
        outcomes = self._record(results)
        return [r if error is None else error for r, error in zip(results, outcomes, strict=True)]

    def _finish(self, pipeline: Pipeline, prepared: Prepared) -> SuggestResult:
        with _fast_sklearn():
            result = pipeline.finish(prepared)
        (error,) = self._record([result])
        if error is not None:
            raise error
        return result

    def _record(self, results: Sequence[SuggestResult]) -> list[Outcome]:
        rows = [r.row() for r in results]
        if self.writer is not None:
            outcomes = self.writer.store(rows)
        else:
            outcomes = write_rows(self.store.cases.add_suggestions, rows)
        for r, error in zip(results, outcomes, strict=True):
            if error is not None:
                self.telemetry.unstored.inc()
                continue
            self.telemetry.suggestions.labels(
                r.mode if r.mode != SuggestionMode.NONE else f"abstained_{r.abstained_at}"
            ).inc()
        return outcomes

    def database_problem(self) -> str | None:
        """Why the database cannot take writes now, or None: a `SELECT 1` (and, on SQLite, the file
        still in place) at most once a second, and the writer's last failure while it is recent."""
        now = time.monotonic()
        probe = self._probe
        if probe is None or now - probe[0] >= PROBE_EVERY_S:
            try:
                self.store.db.ping()
                problem = None
            except Exception as exc:
                problem = unavailable_reason(exc) or f"the database check failed ({type(exc).__name__})"
            probe = self._probe = (now, problem)
        if probe[1] is not None:
            return probe[1]
        failure = self.writer.failure if self.writer is not None else None
        if failure is not None and now - failure.at < FAILURE_MEMORY_S:
            return f"the last write failed {now - failure.at:.0f} s ago: {failure.reason}"
        return None

    @property
    def backlog(self) -> int:
        """Suggestions waiting for their commit."""
        return self.writer.backlog if self.writer is not None else 0


@contextlib.contextmanager
def _fast_sklearn() -> Iterator[None]:
    """Inputs to the fitted models are built by the stages themselves: skip scikit-learn's per-call
    input and parameter checks on the hot path (about 0.3 ms a message), in this thread only."""
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        yield
