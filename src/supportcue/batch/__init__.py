"""Back-fills over a team's history: `supportcue batch suggest|embed|label FILE`.

`run_batch` reads a cases file (the import's columns) in chunks and runs one job over it, in this
process or on a Ray cluster (`batch/engine.py`); the results land in the store as ordinary rows
(`batch/jobs.py`). Bad rows are reported with the file and line, as `supportcue import` reports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from supportcue.batch.cases import BatchCase, Rejects, read_cases
from supportcue.batch.engine import LOCAL, Progress, run_in_process, run_on_ray
from supportcue.batch.jobs import JOBS, Job, JobSpec, prepare, suggestion_id
from supportcue.data.importer import ImportReport
from supportcue.data.store import Store
from supportcue.settings import Settings
from supportcue.weak.workspace import BATCH_ANNOTATOR

__all__ = [
    "BATCH_ANNOTATOR",
    "JOBS",
    "LOCAL",
    "BatchCase",
    "Job",
    "JobSpec",
    "prepare",
    "read_cases",
    "run_batch",
    "suggestion_id",
]


def run_batch(
    kind: str,
    path: Path,
    settings: Settings,
    store: Store,
    *,
    ray_address: str | None = None,
    workers: int | None = None,
    chunk_size: int = 1000,
    batch_size: int = 1000,
    mapping: Mapping[str, str] | None = None,
    constants: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    task: str = "topic",
    fit_rows: int = 20_000,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], ImportReport]:
    """Run job `kind` over the cases of `path`; returns its summary and the file's read report (the
    rejected rows are written to FILE.batch-rejects.jsonl as the file is read, beside the import's
    FILE.rejects.jsonl; the report keeps the first `cases.KEPT_REJECTS` of them, the summary counts
    them all)."""
    options: dict[str, Any] = {}
    if kind == "label":
        sample = ImportReport(kind="cases", path=path, on_reject=lambda _: None)  # read again below
        options = {
            "task": task,
            "fit_cases": [
                c
                for chunk in read_cases(
                    path, sample, chunk_size, mapping, constants, encoding, limit=fit_rows
                )
                for c in chunk
            ],
        }
    job = prepare(kind, settings, store, **options)
    rejects = Rejects(path)
    report = ImportReport(kind="cases", path=path, on_reject=rejects.add)
    chunks = read_cases(path, report, chunk_size, mapping, constants, encoding)
    try:
        if ray_address:
            summary = run_on_ray(job, chunks, ray_address, workers, batch_size, progress)
        else:
            summary = run_in_process(job, chunks, progress)
    finally:
        rejects.close()
        if job.cache is not None:
            job.cache.close()
    report.rejects, report.rejects_path = rejects.first, rejects.path
    summary = {
        "file": str(path),
        "read": report.read,
        "rejected": rejects.count,
        "rejects_file": str(report.rejects_path) if report.rejects_path else None,
        **summary,
    }
    return summary, report
