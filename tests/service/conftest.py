"""The one way the HTTP tests build and serve the app.

A fresh workspace on each database backend, the fast deterministic pipeline of
`tests/test_pipeline.py::make` given to `create_app` as its `pipeline_loader` (so the app loads it in
the background and /readyz turns ready the normal way), served by a real uvicorn (`server`, called
through `api`) or in-process (`client`); both `api` and `client` send an admin key (`admin_key`).
A module changes the `[service]` settings by redefining `service_settings` (other sections:
`extra_environ`); `make_app` builds an app with another loader (one that fails, say), and
`authorize` gives any app's store a key.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from supportcue.data.store import Store
from supportcue.pipeline import Pipeline
from supportcue.security.keys import create_key
from supportcue.service import create_app
from supportcue.service.runtime import PipelineLoader, Runtime
from supportcue.settings import Settings, init_workspace, load_settings
from supportcue.stages.base import Message, StageResult
from supportcue.stages.response import AnswerResult
from tests.cli.test_lifecycle import import_history, run, write_history
from tests.conftest import LiveServer
from tests.test_pipeline import FakeResponse, make

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
PAUSE_PAYOUTS = {
    "id": "a1",
    "topic": "payouts",
    "title": "Pause payouts",
    "body": "You can pause payouts.",
    "status": "approved",
}


def case(case_id: str, message: str, customer_name: str, hours: float = 0, **more: Any) -> dict[str, Any]:
    """A case row created `hours` after T0."""
    return {
        "id": case_id,
        "message": message,
        "customer_name": customer_name,
        "created_at": T0 + timedelta(hours=hours),
        **more,
    }


def fake_pipeline(store: Store, settings: Settings) -> Pipeline:
    """Fast, deterministic stages ("payout" -> a suggestion, chit-chat -> abstain); the real ones are
    tested elsewhere."""
    return make()


PAUSE_FOR_A_DAY = {
    "id": "a2",
    "topic": "payouts",
    "title": "Pause payouts for a day",
    "body": "A one-day pause starts at once, {first_name}.",
    "status": "approved",
}
"""The alternative `pipeline_with_alternatives` offers beside a1."""


class _ResponseWithAlternatives(FakeResponse):
    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        alternative = {"id": "a2", "title": PAUSE_FOR_A_DAY["title"], "score": 0.61}
        return [
            AnswerResult("a1", 0.8, text="You can pause payouts in Settings.", alternatives=(alternative,))
            if m.topic == "payouts"
            else AnswerResult.abstain("no topic")
            for m in batch
        ]


def pipeline_with_alternatives(store: Store, settings: Settings) -> Pipeline:
    """`fake_pipeline`, whose payout suggestion (a1) has an alternative (a2, `PAUSE_FOR_A_DAY`)."""
    pipeline = make()
    pipeline.stages["response"] = _ResponseWithAlternatives().fit([])
    return pipeline


def wait_loaded(app: FastAPI, timeout: float = 20.0) -> Runtime:
    """Wait until the app's background load has finished (ready, or failed with a reason)."""
    runtime: Runtime = app.state.runtime
    deadline = time.time() + timeout
    while not (runtime.ready or runtime.error):
        if time.time() > deadline:
            raise TimeoutError("the app did not finish loading its pipeline")
        time.sleep(0.01)
    return runtime


def shadows_stored(server: LiveServer) -> None:
    """Wait until the server has stored the shadow chains of the suggestions it answered (they run
    after the answer)."""
    runtime: Runtime = server.app.state.runtime  # type: ignore[attr-defined]
    assert runtime.wait_for_shadows(timeout_s=30)


def authorize(store: Store, role: str = "admin") -> dict[str, str]:
    """A new key of `role` (admin by default) in `store`, as the header that sends it."""
    name = f"test-{role}-{uuid.uuid4().hex[:8]}"
    return {"Authorization": f"Bearer {create_key(store, name, role)}"}


@pytest.fixture
def service_settings() -> dict[str, Any]:
    """`[service]` settings of the app, given as `SUPPORTCUE_SERVICE__*` environment overrides."""
    return {}


@pytest.fixture
def extra_environ() -> dict[str, str]:
    """Other settings of the app, as `SUPPORTCUE_<SECTION>__<KEY>` environment variables."""
    return {}


@pytest.fixture
def make_app(
    database_url: str, tmp_path: Path, service_settings: dict[str, Any], extra_environ: dict[str, str]
) -> Callable[[PipelineLoader], FastAPI]:
    """Builds the app of a fresh workspace on the test's database, with the given pipeline loader."""
    init_workspace(tmp_path)
    environ = {"SUPPORTCUE_DATABASE_URL": database_url, **extra_environ}
    environ |= {f"SUPPORTCUE_SERVICE__{k.upper()}": str(v) for k, v in service_settings.items()}

    def build(pipeline_loader: PipelineLoader) -> FastAPI:
        return create_app(load_settings(tmp_path, environ=environ), pipeline_loader=pipeline_loader)

    return build


@pytest.fixture
def app(make_app: Callable[[PipelineLoader], FastAPI]) -> FastAPI:
    """The app with the fake pipeline, not started yet."""
    return make_app(fake_pipeline)


@pytest.fixture
def store(app: FastAPI) -> Iterator[Store]:
    """The app's own store: seed it before the server starts, read what the server wrote. Closed at
    the end (again, when the server's shutdown closed it): a test that never starts the app left its
    PostgreSQL connections open until the garbage collector warned in a later test."""
    s: Store = app.state.runtime.store
    yield s
    s.close()


@pytest.fixture
def admin_key(store: Store) -> dict[str, str]:
    """The header of an admin key in the app's store."""
    return authorize(store)


@pytest.fixture
def server(app: FastAPI) -> Iterator[LiveServer]:
    """The app behind a real uvicorn on a free port, its pipeline loaded."""
    with LiveServer(app) as live:
        wait_loaded(app)
        yield live


@pytest.fixture
def api(server: LiveServer, admin_key: dict[str, str]) -> Iterator[httpx.Client]:
    """An HTTP client of `server` that sends the admin key."""
    with httpx.Client(base_url=server.url, headers=admin_key, timeout=30) as c:
        yield c


@pytest.fixture
def client(app: FastAPI, admin_key: dict[str, str]) -> Iterator[TestClient]:
    """The app in-process (no sockets), its pipeline loaded, sending the admin key."""
    with TestClient(app, headers=admin_key) as c:
        wait_loaded(app)
        yield c


@pytest.fixture
def workspace(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace (model-free embedder) on the test's database, with a dated history imported, for
    tests that serve it as `supportcue serve` does. The rate limit is lifted: their requests come back
    to back from one caller (hundreds a second on a quiet machine), and the limit is not what they test."""
    monkeypatch.setenv("SUPPORTCUE_DATABASE_URL", database_url)
    monkeypatch.setenv("SUPPORTCUE_EMBEDDING__MODEL", "tfidf")
    monkeypatch.setenv("SUPPORTCUE_SECURITY__RATE_PER_MINUTE", "10000000")
    monkeypatch.setenv("SUPPORTCUE_SECURITY__BURST", "1000000")
    ws = tmp_path / "ws"
    run(tmp_path, "init", str(ws))
    write_history(tmp_path, dated=True)
    import_history(ws)
    return ws
