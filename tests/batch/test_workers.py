"""A Ray worker's own writes (what it does when the store is PostgreSQL), without a Ray cluster: the
actor class is called as Ray Data calls it, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np

from supportcue.batch import BatchCase, prepare
from supportcue.batch.engine import RayWorker
from supportcue.data.store import Store
from supportcue.embeddings import HashingEmbedder
from supportcue.settings import Settings, init_workspace, load_settings
from supportcue.vocab import LabelSource
from tests.batch.conftest import LFS


def _batch(cases: list[BatchCase]) -> dict[str, np.ndarray]:
    return {"case": np.array([pickle.dumps(c) for c in cases], dtype=object)}


def _labeling_workspace(tmp_path: Path, database_url: str) -> Settings:
    """A workspace on the test's database whose labeling functions are `LFS`."""
    init_workspace(tmp_path)
    config = tmp_path / "supportcue.toml"
    text = config.read_text().replace('url = ""', f'url = "{database_url}"', 1)
    config.write_text(text.replace("labeling_functions = []", 'labeling_functions = ["lfs.py"]'))
    (tmp_path / "lfs.py").write_text(LFS)
    return load_settings(tmp_path, environ={})


def test_a_worker_writes_its_own_labels_idempotently(store: Store, database_url: str, tmp_path: Path) -> None:
    settings = _labeling_workspace(tmp_path, database_url)
    assert settings.database_url == database_url
    cases = [
        BatchCase(id="h1", message="refund for my order", line=2),
        BatchCase(id="h2", message="when is my payout", line=3),
        BatchCase(id="h3", message="hello there", line=4),
    ]
    job = prepare("label", settings, store, task="topic", fit_cases=cases)
    worker = RayWorker(replace(job.spec, write_in_workers=True))
    for _ in range(2):  # a batch given again (a retried task) changes nothing
        out = worker(_batch(cases))
        assert int(out["written"].sum()) == 2  # h3: no function voted
        assert [pickle.loads(r) for r in out["result"]] == [None, None, None]  # nothing to send back
    worker.close()
    labels = store.labels.list("topic", sources=[LabelSource.WEAK])
    assert sorted((lb.case_id, lb.value, lb.annotator) for lb in labels) == [
        ("h1", "refunds", "batch"),
        ("h2", "payouts", "batch"),
    ]


def test_a_worker_sends_its_results_back_when_the_driver_writes(store: Store, tmp_path: Path) -> None:
    init_workspace(tmp_path)
    config = tmp_path / "supportcue.toml"
    config.write_text(config.read_text().replace('model = "minilm"', 'model = "tfidf"'))
    job = prepare("embed", load_settings(tmp_path, environ={}), store)
    worker = RayWorker(job.spec)
    out = worker(_batch([BatchCase(id="h1", message="refund please", line=2)]))
    worker.close()
    text, vector = pickle.loads(out["result"][0])
    assert text == "refund please" and np.allclose(vector, HashingEmbedder().embed([text])[0])
    assert int(out["written"].sum()) == 0 and job.cache is not None
    assert job.cache.missing([text]) == [text]  # the driver writes the cache, not the worker
    job.cache.close()


def test_a_tie_between_functions_gets_no_back_filled_label(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    """As in `weak apply`: a case two functions disagree on, with nothing to tell them apart, was
    labeled with the first label listed (confidence 0.5) instead of none."""
    settings = _labeling_workspace(tmp_path, database_url)
    cases = [
        BatchCase(id="h1", message="refund for my order", line=2),
        BatchCase(id="h2", message="when is my payout", line=3),
        BatchCase(id="h3", message="a refund of the payout fee", line=4),
    ]
    job = prepare("label", settings, store, task="topic", fit_cases=cases)
    worker = RayWorker(replace(job.spec, write_in_workers=True))
    assert int(worker(_batch(cases))["written"].sum()) == 2
    worker.close()
    labels = store.labels.list("topic", sources=[LabelSource.WEAK])
    assert sorted(lb.case_id for lb in labels) == ["h1", "h2"]


def test_a_re_run_drops_the_label_of_a_case_that_no_longer_gets_one(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    """`batch label` says a re-run replaces its labels: a case people judged invalid since (or that no
    function votes for any more) kept its old back-filled topic for 90 days, as `weak propagate` did."""
    settings = _labeling_workspace(tmp_path, database_url)
    cases = [
        BatchCase(id="h1", message="refund for my order", line=2),
        BatchCase(id="h2", message="when is my payout", line=3),
    ]
    job = prepare("label", settings, store, task="topic", fit_cases=cases)
    assert job.write(job.spec.worker(store)(cases)) == 2
    store.labels.add([{"case_id": "h1", "task": "validity", "value": "invalid", "source": "expert"}])
    edited = [cases[0], BatchCase(id="h2", message="hello there", line=3)]  # h2's text fixed in the file
    job = prepare("label", settings, store, task="topic", fit_cases=edited)
    worker = RayWorker(replace(job.spec, write_in_workers=True))
    assert int(worker(_batch(edited))["written"].sum()) == 0
    worker.close()
    assert store.labels.list("topic", sources=[LabelSource.WEAK]) == []
    job = prepare("label", settings, store, task="topic", fit_cases=cases)  # in process, as before
    assert job.write(job.spec.worker(store)(cases)) == 1
    labels = store.labels.list("topic", sources=[LabelSource.WEAK])
    assert [(lb.case_id, lb.value) for lb in labels] == [("h2", "payouts")]
