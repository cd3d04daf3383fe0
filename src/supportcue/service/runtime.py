"""What the service holds for its lifetime: settings, store, the pipeline, the suggestion writer,
metrics; and what /readyz says about the database.

The pipeline follows the model registry: every `[service] registry_poll_s` each worker process reads
the live versions (one small query) and, when they changed (a `promote`, a `rollback`, a first
`train`), loads the new pipeline in the background and swaps it in with one assignment. A batch of
requests reads `Runtime.pipeline` once, so it runs wholly on the old or wholly on the new one, and no
request waits for a load. A load that fails leaves the previous pipeline serving (/readyz says why).

With `serve --workers N` each worker process holds all of this for itself; what they share lives in
the database, except the Prometheus metrics, which each worker writes to a file of its own in
`$PROMETHEUS_MULTIPROC_DIR` (prometheus_client's multiprocess mode, which `serve` turns on) and
/metrics adds up across the workers (see `Telemetry`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import sklearn
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from supportcue.data.database import unavailable_reason
from supportcue.data.store import Store
from supportcue.embeddings import Embedder
from supportcue.errors import SupportcueError
from supportcue.pipeline import Pipeline, Prepared, SuggestRequest, SuggestResult
from supportcue.security.redaction import hide_paths, personal_scope, redact, remember_personal
from supportcue.service.batcher import Later
from supportcue.service.writer import Outcome, SuggestionWriter, write_rows
from supportcue.settings import Settings
from supportcue.vocab import SuggestionMode

log = logging.getLogger("supportcue.service")

RETRY_AFTER_S = 5
"""What a 503 for an unavailable database asks the client to wait (`Retry-After`)."""
PROBE_EVERY_S = 1.0
"""/readyz checks the database at most this often (the answer is cached in between)."""
PROBE_TIMEOUT_S = 2.0
"""/readyz waits at most this long (or `write_timeout_ms`, when shorter) for the database's answer:
a server that stopped answering is "did not answer within 2 s", a 503, not a probe that hangs."""
FAILURE_MEMORY_S = float(RETRY_AFTER_S)
"""A failed write keeps /readyz at 503 this long (the time clients were asked to wait), unless a
write succeeds sooner: a `SELECT 1` cannot tell that a full disk has room again, only a write can."""

MAX_SHADOW_BACKLOG = 1000
"""Shadow chains waiting to run after their agents were answered; past this (a stage on trial slower
than the traffic) a message's shadow chain is skipped, and counted, rather than queued without bound."""

RETRY_FAILED_S = 30.0
"""A load that failed is tried again after this long even when the registry did not change."""

PipelineLoader = Callable[[Store, Settings], Pipeline]
"""How the app gets its pipeline: called in a worker thread when the app starts, and again whenever
the registry's live versions change."""


class WorkspacePipelines:
    """The default `PipelineLoader`: the workspace's live models, as `serve` runs them. The embedder
    is made once and shared by every pipeline loaded after a promotion."""

    def __init__(self) -> None:
        self._embedder: Embedder | None = None

    def __call__(self, store: Store, settings: Settings) -> Pipeline:
        from supportcue.training.loader import load_pipeline, workspace_embedder

        if self._embedder is None:
            # no disk cache when serving: live messages rarely repeat, and a cache write per request
            # would cost more than it saves
            self._embedder = workspace_embedder(settings, cache=False)
        return load_pipeline(store, settings, self._embedder)


def load_workspace_pipeline(store: Store, settings: Settings) -> Pipeline:
    """The workspace's live models with an embedder of their own (one load; see `WorkspacePipelines`)."""
    return WorkspacePipelines()(store, settings)


def shared_metrics_dir() -> str | None:
    """The folder where every worker process writes its metrics (`serve --workers N` sets
    `PROMETHEUS_MULTIPROC_DIR` before the workers start), or None when this process counts alone.
    prometheus_client decides at import, so the variable set later changes nothing."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return path if path and getattr(values.ValueClass, "_multiprocess", False) else None


@dataclass
class Telemetry:
    """Prometheus metrics, in a registry of the app's own (so tests can build many apps).

    Under `serve --workers N` (prometheus_client's multiprocess mode) each worker's counts go to files
    in `shared_metrics_dir()`, and `exposition` and `counts` add up every worker's: whichever worker
    answers /metrics, the figures are the service's. Counters and histograms of a worker that stopped
    keep counting in the totals (they are totals since `serve` started); its gauges are dropped.
    """

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    collectors: list[Collector] = field(default_factory=list)
    """Collectors that read the database (help-desk health, alerts): the same from any worker."""

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
        self.shadow_skipped = Counter(
            "supportcue_shadow_skipped",
            "Shadow chains not run: too many were waiting (a stage on trial slower than the traffic)",
            registry=r,
        )
        self.model = Gauge(
            "supportcue_model_live",
            "Live model versions (1: served by at least one worker)",
            ["stage", "version"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.llm_calls = Counter(
            "supportcue_llm_calls",
            "LLM calls by stage and outcome (ok or the error)",
            ["stage", "outcome"],
            registry=r,
        )
        self.llm_tokens = Counter(
            "supportcue_llm_tokens",
            "LLM tokens by stage and kind (prompt, completion)",
            ["stage", "kind"],
            registry=r,
        )
        self.llm_latency = Histogram(
            "supportcue_llm_call_seconds",
            "LLM call latency, retries included",
            ["stage"],
            buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30),
            registry=r,
        )
        self.webhooks = Counter(
            "supportcue_webhooks",
            "Help-desk webhooks received, by outcome (accepted, duplicate, ignored, other_account, "
            "refused, too_large, invalid)",
            ["help_desk", "outcome"],
            registry=r,
        )
        self.notes = Counter(
            "supportcue_helpdesk_notes",
            "Notes for help desks, by outcome (posted, skipped, failed_attempt, failed)",
            ["help_desk", "outcome"],
            registry=r,
        )

    def add_collector(self, collector: Collector) -> None:
        """Serve a collector's metrics on /metrics too."""
        self.registry.register(collector)
        self.collectors.append(collector)

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format: every worker's, added up, under `serve --workers N`."""
        path = shared_metrics_dir()
        if path is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path)  # type: ignore[no-untyped-call]
        for collector in self.collectors:
            registry.register(collector)
        return generate_latest(registry)

    def close(self) -> None:
        """This worker stops: its gauges leave the totals (its counts stay in them)."""
        path = shared_metrics_dir()
        if path is not None:
            mark_process_dead(os.getpid(), path)  # type: ignore[no-untyped-call]

    @staticmethod
    def counts(counter: Counter, help_desk: str) -> dict[str, int]:
        """A help-desk counter's values since start (every worker's), by outcome."""
        path = shared_metrics_dir()
        name = next(iter(counter.describe())).name
        metrics: Iterable[Metric] = counter.collect()
        if path is not None:
            metrics = MultiProcessCollector(None, path).collect()  # type: ignore[no-untyped-call]
        return {
            sample.labels["outcome"]: int(sample.value)
            for metric in metrics
            if metric.name == name
            for sample in metric.samples
            if sample.name.endswith("_total") and sample.labels.get("help_desk") == help_desk
        }

    def delivered(self, help_desk: str, outcome: str) -> None:
        """Count a note's outcome (the outbox worker's `Observer`)."""
        self.notes.labels(help_desk, outcome).inc()

    def observe_llm(self, trace: Sequence[Mapping[str, Any]]) -> None:
        """Count the LLM calls recorded in (a part of) a suggestion's trace."""
        for entry in trace:
            usage = (entry.get("extra") or {}).get("llm")
            if not isinstance(usage, Mapping) or usage.get("cached"):
                continue
            stage = str(entry.get("stage"))
            self.llm_calls.labels(stage, usage.get("error") or "ok").inc()
            for kind in ("prompt", "completion"):
                tokens = usage.get(f"{kind}_tokens")
                if isinstance(tokens, int) and tokens > 0:
                    self.llm_tokens.labels(stage, kind).inc(tokens)
            self.llm_latency.labels(stage).observe(float(usage.get("latency_ms") or 0.0) / 1000)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    telemetry: Telemetry = field(default_factory=Telemetry)
    pipeline: Pipeline | None = None
    writer: SuggestionWriter | None = None
    error: str | None = None
    """Why there is no pipeline (the last load failed), or why the registry's newest live versions are
    not served (the pipeline loaded before keeps serving)."""
    loaded_at: float | None = None
    registry: dict[str, str] | None = None
    """The registry's live versions the pipeline was loaded from (None: not read yet)."""
    pending_suggestions: dict[tuple[str, str], asyncio.Future[None]] = field(default_factory=dict)
    """(case id, message id) of suggestions being made now (the suggestion route's, on its loop)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _shadows: ThreadPoolExecutor | None = None
    _shadow_backlog: int = 0
    _shadow_idle: threading.Condition = field(default_factory=threading.Condition)
    _probe: tuple[float, str | None] | None = None
    _pinging: Future[None] | None = None
    _probe_thread: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="supportcue-probe")
    )
    _loader: PipelineLoader | None = None
    _failed: tuple[dict[str, str] | None, float] | None = None

    @property
    def ready(self) -> bool:
        return self.pipeline is not None

    @property
    def not_ready_reason(self) -> str:
        """Why there is no pipeline yet: the load error, or that it is still loading."""
        return self.error or "models are still loading; retry in a few seconds"

    def load(self, loader: PipelineLoader) -> None:
        """Load the pipeline and warm its embedder (at start-up); a failure is kept in `error` for
        /readyz and the suggestion route to report, and the process stays up to say why (and to load
        the models once the registry changes)."""
        self._loader = loader
        self._load(self._live_versions())

    def follow_registry(self) -> bool:
        """One look at the registry: when its live versions differ from the served ones, load the new
        pipeline and swap it in. Returns whether it swapped. Called every `registry_poll_s`."""
        if self._loader is None:
            return False
        live = self._live_versions()
        if live is None or live == self.registry:
            return False
        failed = self._failed
        if failed is not None and failed[0] == live and time.monotonic() - failed[1] < RETRY_FAILED_S:
            return False
        return self._load(live)

    def _live_versions(self) -> dict[str, str] | None:
        try:
            self.store.db.check_file()  # a SQLite file that is gone is not recreated by a read
            return self.store.models.live_versions()
        except Exception as exc:  # the database is down: /readyz reports it; try again next time
            log.debug("reading the live model versions failed: %s", type(exc).__name__)
            return None

    def _load(self, live: dict[str, str] | None) -> bool:
        assert self._loader is not None
        try:
            pipeline = self._loader(self.store, self.settings)
            pipeline.embed(["warm up"])
            pipeline.check_runs()  # a model that loads but cannot run is refused, saying why
        except Exception as exc:
            # the reason is public (/readyz needs no caller): no server paths, no personal data
            said = str(exc) if isinstance(exc, SupportcueError) else f"{type(exc).__name__}: {exc}"
            again, self.error = self.error, redact(hide_paths(said))
            self._failed = (live, time.monotonic())
            log.log(
                logging.DEBUG if again == self.error else logging.ERROR,  # said once, not every retry
                "loading the pipeline failed: %s%s",
                self.error,
                "; the models loaded before keep serving" if self.pipeline is not None else "",
                exc_info=not isinstance(exc, SupportcueError),
            )
            return False
        before = self.pipeline.versions if self.pipeline is not None else {}
        self.pipeline = pipeline  # one assignment: a batch reads it once, old or new
        self.registry, self.error, self._failed = live, None, None
        self.loaded_at = time.time()
        for stage, version in before.items():
            self.telemetry.model.labels(stage, version).set(0)
        for stage, version in pipeline.versions.items():
            self.telemetry.model.labels(stage, version).set(1)
        if before:
            log.info("now serving models %s (were %s)", pipeline.versions, before)
        return True

    def suggest_batch(
        self, requests: Sequence[SuggestRequest]
    ) -> list[SuggestResult | Later[SuggestResult] | Exception]:
        """Run the pipeline and commit every suggestion (with its trace) before it is answered: one
        transaction for the batch. A request whose suggestion could not be stored gets the error
        instead (`DatabaseUnavailable`: 503, `UnstorableValue`: 422), never its suggestion. When a
        stage waits on I/O, each request's chain is handed back as a `Later`, which the batcher
        finishes (and stores) concurrently with the other requests."""
        pipeline = self.pipeline  # read once: a promotion may swap it meanwhile
        assert pipeline is not None
        with personal_scope(), _fast_sklearn():  # the batcher's thread: not in the requests' scopes
            _remember(requests)
            prepared = pipeline.prepare(requests)
            if pipeline.has_blocking_stages:
                return [Later(partial(self._finish, pipeline, p)) for p in prepared]
            results = [pipeline.finish(p, shadow=False) for p in prepared]
        outcomes = self._record(results)
        for p, r, error in zip(prepared, results, outcomes, strict=True):
            if error is None:
                self._later_shadow(pipeline, p, r)
        return [r if error is None else error for r, error in zip(results, outcomes, strict=True)]

    def _finish(self, pipeline: Pipeline, prepared: Prepared) -> SuggestResult:
        with personal_scope(), _fast_sklearn():
            _remember([prepared.request])
            result = pipeline.finish(prepared, shadow=False)
        (error,) = self._record([result])
        if error is not None:
            raise error
        self._later_shadow(pipeline, prepared, result)
        return result

    # -- shadow chains, after the answer ---------------------------------------------------------
    def _later_shadow(self, pipeline: Pipeline, prepared: Prepared, result: SuggestResult) -> None:
        """Run the message's shadow chain (if it has one) on the shadow thread once its suggestion is
        stored and answered, then store its part. The answer the caller gets is a copy made before."""
        if not pipeline.has_shadow(prepared):
            return
        with self._shadow_idle:
            if self._shadow_backlog >= MAX_SHADOW_BACKLOG:
                self.telemetry.shadow_skipped.inc()
                return
            self._shadow_backlog += 1
            if self._shadows is None:
                self._shadows = ThreadPoolExecutor(max_workers=1, thread_name_prefix="supportcue-shadow")
        shadowed = dataclasses.replace(result, trace=list(result.trace), shadow={})
        try:
            self._shadows.submit(self._run_shadow, pipeline, prepared, shadowed)
        except RuntimeError:  # shutting down (`close_shadows`): the comparison is dropped
            self._shadow_done()

    def _run_shadow(self, pipeline: Pipeline, prepared: Prepared, result: SuggestResult) -> None:
        with personal_scope():  # its failure's traceback too
            _remember([prepared.request])
            try:
                answered = len(result.trace)
                with _fast_sklearn():
                    pipeline.finish_shadow(prepared, result)
                self.telemetry.observe_llm(result.trace[answered:])  # the shadow chain's calls are paid too
                self.store.cases.add_shadow(result.suggestion_id, result.shadow, result.trace, result.mode)
            except Exception:  # the agent's suggestion stands; only the comparison is lost
                log.warning("the shadow chain of suggestion %s failed", result.suggestion_id, exc_info=True)
            finally:
                self._shadow_done()

    def _shadow_done(self) -> None:
        with self._shadow_idle:
            self._shadow_backlog -= 1
            self._shadow_idle.notify_all()

    def wait_for_shadows(self, timeout_s: float = 30.0) -> bool:
        """Wait until every shadow chain handed over so far is stored (tests, shutdown); False when
        some still run after `timeout_s`."""
        with self._shadow_idle:
            return self._shadow_idle.wait_for(lambda: self._shadow_backlog == 0, timeout_s)

    def close_shadows(self, timeout_s: float = 5.0) -> None:
        """At shutdown: give the shadow chains under way a few seconds, then drop the rest (the agents'
        suggestions are stored; only comparisons are lost)."""
        if self._shadows is None:
            return
        self.wait_for_shadows(timeout_s)
        self._shadows.shutdown(wait=False, cancel_futures=True)

    def _record(self, results: Sequence[SuggestResult]) -> list[Outcome]:
        rows = [r.row() for r in results]
        if self.writer is not None:
            outcomes = self.writer.store(rows)
        else:
            outcomes = write_rows(self.store.cases.add_suggestions, rows)
        for r, error in zip(results, outcomes, strict=True):
            self.telemetry.observe_llm(r.trace)  # the calls were made (and paid) either way
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
            probe = self._probe = (now, self._ping())
        if probe[1] is not None:
            return probe[1]
        failure = self.writer.failure if self.writer is not None else None
        if failure is not None and now - failure.at < FAILURE_MEMORY_S:
            return f"the last write failed {now - failure.at:.0f} s ago: {failure.reason}"
        return None

    def _ping(self) -> str | None:
        """The database's problem, from a `SELECT 1` given `PROBE_TIMEOUT_S` (or `write_timeout_ms`)
        to answer. It runs on a thread of its own, one at a time: while a ping waits on a server that
        stopped answering, later probes wait for that one rather than each leave another behind."""
        timeout_s = min(PROBE_TIMEOUT_S, self.settings.service.write_timeout_ms / 1000)
        with self._lock:
            if self._pinging is None or self._pinging.done():
                self._pinging = self._probe_thread.submit(self.store.db.ping)
            pinging = self._pinging
        try:
            pinging.result(timeout_s)
        except TimeoutError:
            return f"the database did not answer within {timeout_s:g} s"
        except Exception as exc:
            return unavailable_reason(exc) or f"the database check failed ({type(exc).__name__})"
        return None

    @property
    def backlog(self) -> int:
        """Suggestions waiting for their commit."""
        return self.writer.backlog if self.writer is not None else 0


def _remember(requests: Sequence[SuggestRequest]) -> None:
    """The requests' customer names and field values, for the log records of the scope at hand."""
    for r in requests:
        remember_personal(r.customer_name, r.fields.values())


@contextlib.contextmanager
def _fast_sklearn() -> Iterator[None]:
    """Inputs to the fitted models are built by the stages themselves: skip scikit-learn's per-call
    input and parameter checks on the hot path (about 0.3 ms a message), in this thread only."""
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        yield
