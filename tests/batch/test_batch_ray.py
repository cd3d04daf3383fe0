"""`batch suggest` on Ray's local mode (a one-CPU cluster inside the test process, started once for
the module): the actors load the pipeline, the driver writes their results (SQLite), and the rows
are those an in-process run stores, ids included; a worker's error stops the job with its reason."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from supportcue.batch import prepare, read_cases
from supportcue.batch.engine import run_on_ray
from supportcue.data.importer import ImportReport
from supportcue.data.store import open_store
from supportcue.data.tables import Suggestion
from supportcue.errors import BatchError
from supportcue.settings import load_settings
from tests.batch.conftest import N_HISTORY, history_file, last_json, run

ray = pytest.importorskip("ray", reason="the `ray` extra (make test installs it)")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _stored(ws: Path) -> list[tuple[str, str | None, str | None, str | None, str]]:
    store = open_store(load_settings(ws, environ={}).database_url)
    try:
        rows = store.db.all(select(Suggestion).order_by(Suggestion.id))
        return [(s.id, s.topic, s.text, s.abstained_at, s.origin) for s in rows]
    finally:
        store.close()


def test_suggest_on_ray_local_mode_matches_in_process(
    workspace: Path, tmp_path: Path, local_ray: None
) -> None:
    history = history_file(tmp_path)
    twin = tmp_path / "twin"
    shutil.copytree(workspace, twin)
    args = ("batch", "suggest", str(history), "--ray-address", "local", "--batch-size", "16", "--json")
    on_ray = last_json(run(workspace, *args))
    assert on_ray["engine"] == "ray" and on_ray["workers"] == 1
    assert (on_ray["processed"], on_ray["written"], on_ray["rejected"]) == (N_HISTORY, N_HISTORY, 1)
    here = last_json(run(twin, "batch", "suggest", str(history), "--json"))
    assert here["pipeline_version"] == on_ray["pipeline_version"]
    assert _stored(workspace) == _stored(twin) and len(_stored(workspace)) == N_HISTORY
    again = last_json(run(workspace, "batch", "suggest", str(history), "--ray-address", "local", "--json"))
    assert (again["skipped"], again["written"]) == (N_HISTORY, 0)


def test_a_worker_that_fails_stops_the_job_with_its_reason(
    workspace: Path, tmp_path: Path, local_ray: None
) -> None:
    """A promotion while the job runs: the actors load other models than the driver's ids name."""
    settings = load_settings(workspace, environ={})
    store = open_store(settings.database_url)
    try:
        job = prepare("suggest", settings, store)
        job.spec = replace(job.spec, pipeline_version="validation:v9")
        history = history_file(tmp_path)
        with pytest.raises(BatchError, match="the live models changed while the batch ran"):
            run_on_ray(job, read_cases(history, ImportReport(kind="cases", path=history)), "local", 1, 16)
        assert _stored(workspace) == []
    finally:
        store.close()
