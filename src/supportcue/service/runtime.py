"""What the service holds for its lifetime: settings, store, the pipeline (loaded once), metrics."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial

import sklearn
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from supportcue.data.store import Store
from supportcue.errors import SupportcueError
from supportcue.pipeline import Pipeline, Prepared, SuggestRequest, SuggestResult
from supportcue.security.redaction import hide_paths, redact
from supportcue.service.batcher import Later
from supportcue.service.writer import SuggestionWriter
from supportcue.settings import Settings
from supportcue.vocab import SuggestionMode

log = logging.getLogger("supportcue.service")
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
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def ready(self) -> bool:
        return self.pipeline is not None

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

    def suggest_batch(self, requests: Sequence[SuggestRequest]) -> list[SuggestResult | Later[SuggestResult]]:
        """Run the pipeline; every suggestion is stored with its trace (behind the response when a
        writer runs, see `writer.py`). When a stage waits on I/O, each request's chain is handed
        back as a `Later`, which the batcher finishes concurrently with the other requests."""
        assert self.pipeline is not None
        pipeline = self.pipeline
        with _fast_sklearn():
            prepared = pipeline.prepare(requests)
            if pipeline.has_blocking_stages:
                return [Later(partial(self._finish, pipeline, p)) for p in prepared]
            results = [pipeline.finish(p) for p in prepared]
        self._record(results)
        return list(results)

    def _finish(self, pipeline: Pipeline, prepared: Prepared) -> SuggestResult:
        with _fast_sklearn():
            result = pipeline.finish(prepared)
        self._record([result])
        return result

    def _record(self, results: Sequence[SuggestResult]) -> None:
        rows = [r.row() for r in results]
        if self.writer is not None:
            self.writer.submit(rows)
        else:
            self.store.cases.add_suggestions(rows)
        for r in results:
            self.telemetry.suggestions.labels(
                r.mode if r.mode != SuggestionMode.NONE else f"abstained_{r.abstained_at}"
            ).inc()


@contextlib.contextmanager
def _fast_sklearn() -> Iterator[None]:
    """Inputs to the fitted models are built by the stages themselves: skip scikit-learn's per-call
    input and parameter checks on the hot path (about 0.3 ms a message), in this thread only."""
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        yield
