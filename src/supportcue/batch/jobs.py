"""The three batch jobs: what the driver skips, what a worker computes, what lands in the store.

A job is split the same way whichever engine runs it (`batch/engine.py`):

- `pending(chunk)`, on the driver: the cases of a chunk that still need work (a re-run skips what an
  earlier run stored, so a stopped back-fill resumes where it stopped);
- `JobSpec.worker()`, once per process (the in-process run, or each Ray worker): loads the models and
  returns a function from a list of cases to one result per case;
- `write(results)`, where the store is written: on the driver, or in the workers when the store is
  PostgreSQL and the job runs on Ray (SQLite takes one writer at a time: then only the driver writes).

Every write is idempotent: suggestions have ids derived from the case, its message and the live
models (a repeated id keeps the stored row), labels are keyed by (case, task, source, annotator), and
vectors by their text's hash.

- **suggest**: the pipeline as the service runs it; stored as suggestions with `origin = "batch"`,
  which every live metric, drift check and the review queue leave out (they were never shown).
- **embed**: the case messages' vectors into the workspace's embedding cache (`CachedEmbedder`), the
  texts `train`, `backtest`, `weak` and `labels` embed, so they never embed them again. Only the
  driver writes the cache (a SQLite file of the workspace).
- **label**: the workspace's labeling functions, combined by a label model fitted once on the driver
  (on the file's first rows, with the people's labels of those cases as gold, as `weak apply` does);
  stored as weak labels, annotator `batch`, version the function set's and the model's. Each batch
  replaces the back-filled labels of its cases: a case that gets none now (no function votes, a tie,
  people judged it invalid since) loses the one an earlier run gave it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from supportcue.batch.cases import BatchCase
from supportcue.data.store import Store
from supportcue.data.tables import utcnow
from supportcue.embeddings import CachedEmbedder
from supportcue.errors import BatchError
from supportcue.settings import Settings, load_settings
from supportcue.vocab import LabelSource, LabelTask, SuggestionOrigin
from supportcue.weak.workspace import BATCH_ANNOTATOR, judged_invalid

JOBS = ("suggest", "embed", "label")

Worker = Callable[[Sequence[BatchCase]], list[Any]]


def suggestion_id(case: BatchCase, pipeline_version: str) -> str:
    """A back-filled suggestion's id: the same case, message and live models give the same id."""
    key = f"batch|{case.id}|{pipeline_version}|{case.message}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class JobSpec:
    """What a worker process needs to build its model: small and picklable (Ray ships it)."""

    kind: str
    workspace: Path
    pipeline_version: str = ""
    """suggest: the driver's live models; a worker that loads others stops the job."""
    task: str = LabelTask.TOPIC
    combiner: Any = None
    """label: the label model fitted on the driver (`MajorityVoter` or `LabelModel`)."""
    label_names: tuple[str, ...] = ()
    version: str = ""
    """label: the function set's version and the combiner's name, stored with each label."""
    read_only_cache: bool = False
    """In Ray's workers the embedding cache is read, never written (the driver writes it)."""
    write_in_workers: bool = False

    def settings(self) -> Settings:
        return load_settings(self.workspace)

    @property
    def reads_store(self) -> bool:
        """Whether the worker reads the store (the answer library, the people's labels)."""
        return self.kind in ("suggest", "label")

    def worker(self, store: Store | None) -> Worker:
        """The job's function over a list of cases, its models loaded now (once per process);
        `store` is the one it reads (None for a job that reads none)."""
        settings = self.settings()
        if self.kind == "embed":
            return _embed_worker(settings)
        if store is None:
            raise BatchError(f"the batch {self.kind} job's worker reads the store: open one for it")
        if self.kind == "suggest":
            return _suggest_worker(self, store, settings)
        if self.kind == "label":
            return _label_worker(self, store, settings)
        raise BatchError(f"unknown batch job {self.kind!r}; allowed: {', '.join(JOBS)}")


def _cache(settings: Settings, read_only: bool = False) -> CachedEmbedder:
    from supportcue.training.loader import workspace_embedder

    if not settings.embedding.cache:
        raise BatchError(
            "the embedding cache is off ([embedding] cache = false in supportcue.toml): "
            "`batch embed` fills that cache, and the other jobs read it"
        )
    inner = workspace_embedder(settings, cache=False)
    return CachedEmbedder(inner, settings.cache_dir, read_only=read_only)


def _suggest_worker(spec: JobSpec, store: Store, settings: Settings) -> Worker:
    from supportcue.training.loader import load_pipeline

    pipeline = load_pipeline(store, settings, embedder=_cache(settings, spec.read_only_cache))
    if spec.pipeline_version and pipeline.version != spec.pipeline_version:
        raise BatchError(
            f"the live models changed while the batch ran ({spec.pipeline_version} when it started, "
            f"{pipeline.version} now): run it again, it goes on where it stopped"
        )

    def run(cases: Sequence[BatchCase]) -> list[Any]:
        results = pipeline.suggest_batch([c.request() for c in cases])
        return [
            {**r.row(), "id": suggestion_id(c, pipeline.version), "origin": SuggestionOrigin.BATCH}
            for c, r in zip(cases, results, strict=True)
        ]

    return run


def _embed_worker(settings: Settings) -> Worker:
    from supportcue.training.loader import workspace_embedder

    inner = workspace_embedder(settings, cache=False)

    def run(cases: Sequence[BatchCase]) -> list[Any]:
        vectors = inner.embed([c.message for c in cases])
        return [(c.message, v) for c, v in zip(cases, vectors, strict=True)]

    return run


def _label_worker(spec: JobSpec, store: Store, settings: Settings) -> Worker:
    from supportcue.weak.apply import ABSTAIN_INDEX, apply_lfs
    from supportcue.weak.lf import LFInput
    from supportcue.weak.workspace import WEAK_LABEL_DAYS, workspace_lfs

    lfs = workspace_lfs(store, settings, spec.task)
    invalid = judged_invalid(store) if spec.task == LabelTask.TOPIC else set()
    card = len(spec.label_names)

    def run(cases: Sequence[BatchCase]) -> list[Any]:
        inputs = [LFInput(text=c.message, sent_reply=c.reply) for c in cases]
        applied = apply_lfs(lfs, inputs, label_names=spec.label_names, progress=False)
        votes = applied.matrix.copy()
        votes[votes >= card] = ABSTAIN_INDEX  # a label the combiner never saw while fitted: no vote
        # a tie labels nothing (as in `weak apply`)
        predicted, confidence = spec.combiner.predict_with_confidence(votes, tie_break="abstain")
        voted = predicted != ABSTAIN_INDEX
        expires = utcnow() + timedelta(days=WEAK_LABEL_DAYS)
        out: list[Any] = []  # per case (its id, its label or None): a None still clears an old label
        for i, case in enumerate(cases):
            if not voted[i] or case.id in invalid:
                out.append((case.id, None))
                continue
            out.append(
                (
                    case.id,
                    {
                        "case_id": case.id,
                        "task": spec.task,
                        "value": spec.label_names[int(predicted[i])],
                        "source": LabelSource.WEAK,
                        "annotator": BATCH_ANNOTATOR,
                        "confidence": float(confidence[i]),
                        "expires_at": expires,
                        "version": spec.version,
                    },
                )
            )
        return out

    return run


@dataclass
class Job:
    """A job on the driver: its spec, what is left to do, and where its results go."""

    spec: JobSpec
    store: Store
    cache: CachedEmbedder | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def pending(self, cases: Sequence[BatchCase]) -> list[BatchCase]:
        """The cases still to do: not stored by an earlier run (suggest), not cached (embed, each
        text once). Labels are always recomputed (cheap, and the function set may have changed)."""
        if self.spec.kind == "suggest":
            ids = [suggestion_id(c, self.spec.pipeline_version) for c in cases]
            done = self.store.cases.stored_suggestion_ids(ids)
            return [c for c, i in zip(cases, ids, strict=True) if i not in done]
        if self.spec.kind == "embed":
            assert self.cache is not None
            todo = set(self.cache.missing([c.message for c in cases]))
            out = []
            for c in cases:
                if c.message in todo:
                    todo.discard(c.message)
                    out.append(c)
            return out
        return list(cases)

    def write(self, results: Sequence[Any]) -> int:
        """Store one batch of results; returns how many rows (or vectors) were written."""
        return write_results(self.spec, self.store, results, self.cache)


def write_results(spec: JobSpec, store: Store, results: Sequence[Any], cache: CachedEmbedder | None) -> int:
    if spec.kind == "label":
        rows = [row for _, row in results if row is not None]
        ids = [case_id for case_id, _ in results]
        return store.labels.replace(LabelSource.WEAK, spec.task, [BATCH_ANNOTATOR], rows, subjects=ids)
    rows = [r for r in results if r is not None]
    if not rows:
        return 0
    if spec.kind == "suggest":
        return store.cases.add_suggestions(rows)
    assert cache is not None
    cache.put([t for t, _ in rows], np.stack([v for _, v in rows]))
    return len(rows)


def prepare(kind: str, settings: Settings, store: Store, **options: Any) -> Job:
    """The driver's side of a job: checks that it can run, and what its workers need.

    suggest: the live pipeline is loaded here first (no trained model is an error before any work);
    embed: the cache must be on; label: `options` has `fit_cases` (the cases the combiner is fitted
    on) and `task`."""
    if kind not in JOBS:
        raise BatchError(f"unknown batch job {kind!r}; allowed: {', '.join(JOBS)}")
    spec = JobSpec(kind=kind, workspace=settings.workspace)
    if kind == "suggest":
        from supportcue.training.loader import load_pipeline

        pipeline = load_pipeline(store, settings, embedder=_cache(settings))
        spec = JobSpec(kind, settings.workspace, pipeline_version=pipeline.version)
        return Job(spec, store, summary={"pipeline_version": pipeline.version})
    if kind == "embed":
        cache = _cache(settings)
        return Job(spec, store, cache=cache, summary={"embedder": cache.name, "cache": str(cache.path)})
    return _prepare_label(settings, store, options["task"], options["fit_cases"])


def _prepare_label(settings: Settings, store: Store, task: str, fit_cases: Sequence[BatchCase]) -> Job:
    from supportcue.weak.apply import ABSTAIN_INDEX, apply_lfs
    from supportcue.weak.label_model import choose_label_model
    from supportcue.weak.lf import LFInput
    from supportcue.weak.workspace import (
        known_labels,
        known_votes,
        lf_set_version,
        no_lfs_error,
        people_labels,
        unknown_votes,
        workspace_lfs,
    )

    lfs = workspace_lfs(store, settings, task)
    if not lfs:
        raise no_lfs_error(settings, task)
    people = people_labels(store, settings, task)
    human = people.gold
    names = known_labels(store, task, people)  # a vote for any other label is no vote
    inputs = [LFInput(text=c.message, sent_reply=c.reply) for c in fit_cases]
    applied = apply_lfs(lfs, inputs, label_names=names, progress=False)
    index = {name: i for i, name in enumerate(names)}
    gold = np.array([index.get(human.get(c.id, ""), ABSTAIN_INDEX) for c in fit_cases], dtype=np.int64)
    rows = np.where(gold != ABSTAIN_INDEX)[0]
    # a workspace with no topic yet (no answer, no person's label) has none to check the votes against
    known = len(names) if names else -1
    names = names or list(applied.label_names)
    cardinality = max(2, len(names))
    votes = known_votes(applied.matrix, known)
    choice = choose_label_model(votes, rows, gold[rows], cardinality=cardinality)
    version = f"{lf_set_version(lfs)}+{choice.name}"
    spec = JobSpec(
        "label",
        settings.workspace,
        task=task,
        combiner=choice.model,
        label_names=tuple(names),  # the worker counts no vote for a label beyond these
        version=version,
    )
    summary = {
        "task": task,
        "label_model": choice.name,
        "label_model_scores_on_gold": choice.scores,
        "fitted_on": len(fit_cases),
        "version": version,
        "note": choice.note,
        "unknown_labels": unknown_votes(applied, known),  # on the cases it was fitted on
    }
    return Job(spec, store, summary=summary)
