"""One bad request among concurrent ones harms no one (issue 9): over real HTTP, with the real
micro-batcher, on both databases.

On the old main, `{"message": "x \\ud800"}` among 30 concurrent agents failed 107 of 150 innocent
requests with 500: the whole micro-batch shared its fate. Now the poison is a 422 at the boundary, and
a batch that still fails (here: an embedder that chokes on one message that passes validation) is
retried item by item, so only the bad item fails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pytest
from fastapi import FastAPI

from supportcue.data.store import Store
from supportcue.embeddings import HashingEmbedder
from supportcue.pipeline import Pipeline
from supportcue.service.runtime import PipelineLoader
from supportcue.settings import Settings
from tests.conftest import LiveServer
from tests.service.conftest import authorize, wait_loaded
from tests.test_pipeline import make

CHOKES_ON = "my order 4711 went missing"
INNOCENT = 150
WORKERS = 30


@pytest.fixture
def service_settings() -> dict[str, Any]:
    return {"batch_wait_ms": 20}  # wide enough that concurrent requests share batches


class ChokingEmbedder(HashingEmbedder):
    """Fails a whole batch when it holds one particular message (a tokenizer bug, say)."""

    failed_batch_sizes: list[int]

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if CHOKES_ON in texts:
            self.failed_batch_sizes.append(len(texts))
            raise RuntimeError("the tokenizer choked")
        return super().embed(texts)


def send_mixed(server: LiveServer, poison: bytes, auth: dict[str, str]) -> tuple[list[int], list[int]]:
    """150 innocent requests from 30 concurrent agents with a poison request every 10th; returns the
    status codes of the innocent ones and of the poison ones."""
    jobs: list[tuple[bool, bytes]] = []
    for i in range(INNOCENT):
        jobs.append((False, f'{{"message": "how do I pause payout {i}", "case_id": "c{i}"}}'.encode()))
        if i % 10 == 0:
            jobs.append((True, poison))
    headers = {"content-type": "application/json", **auth}
    limits = httpx.Limits(max_connections=WORKERS)
    with (
        httpx.Client(base_url=server.url, timeout=60, limits=limits, headers=headers) as client,
        ThreadPoolExecutor(max_workers=WORKERS) as pool,
    ):
        codes = list(pool.map(lambda job: client.post("/v1/suggest", content=job[1]).status_code, jobs))
    innocent = [code for (bad, _), code in zip(jobs, codes, strict=True) if not bad]
    poisoned = [code for (bad, _), code in zip(jobs, codes, strict=True) if bad]
    return innocent, poisoned


def test_a_lone_surrogate_among_concurrent_requests_is_a_422_and_fails_no_one(
    server: LiveServer, admin_key: dict[str, str]
) -> None:
    innocent, poisoned = send_mixed(server, b'{"message": "x \\ud800"}', admin_key)
    assert innocent == [200] * INNOCENT
    assert poisoned == [422] * 15


def test_a_batch_that_fails_is_retried_item_by_item(make_app: Callable[[PipelineLoader], FastAPI]) -> None:
    embedder = ChokingEmbedder(dim=64)
    embedder.failed_batch_sizes = []

    def choking(store: Store, settings: Settings) -> Pipeline:
        pipeline = make()
        pipeline.embedder = embedder
        return pipeline

    app = make_app(choking)
    auth = authorize(app.state.runtime.store)
    with LiveServer(app) as server:
        wait_loaded(app)
        innocent, poisoned = send_mixed(server, f'{{"message": "{CHOKES_ON}"}}'.encode(), auth)
    assert innocent == [200] * INNOCENT
    assert poisoned == [500] * 15  # the server's fault, reported for that request only
    # the poison shared batches with innocent requests, and those batches were retried one by one
    assert max(embedder.failed_batch_sizes) > 1 and 1 in embedder.failed_batch_sizes
