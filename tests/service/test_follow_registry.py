"""A running server follows the model registry (issue 10, item 3), over real HTTP with the real
workspace loader: a `promote` or a `rollback` is served within seconds while every request during the
swap succeeds; with no trained model /readyz and /v1/suggest say "no trained model: run supportcue
train" until `train` puts one live; a version that fails to load leaves the previous one serving; the
dashboard shows what is served next to what is live."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from supportcue.service import create_app
from supportcue.settings import load_settings
from tests.cli.test_lifecycle import run
from tests.conftest import LiveServer
from tests.service.conftest import authorize, wait_loaded

FOLLOW_WITHIN_S = 10.0
MESSAGE = {"message": "payout is late please, ref 1", "customer_name": "Ana"}


@pytest.fixture
def serve(workspace: Path) -> Iterator[Callable[[], LiveServer]]:
    """Starts the workspace's app (as `supportcue serve` builds it) behind a real uvicorn."""
    started: list[LiveServer] = []

    def start() -> LiveServer:
        live = LiveServer(create_app(load_settings(workspace)))
        started.append(live.__enter__())
        wait_loaded(live.app)  # type: ignore[arg-type]
        return live

    yield start
    for live in started:
        live.__exit__(None, None, None)


def readyz(live: LiveServer) -> httpx.Response:
    return httpx.get(f"{live.url}/readyz", timeout=10)


def served_topic(live: LiveServer) -> str | None:
    version: str | None = readyz(live).json().get("models", {}).get("topic")
    return version


def wait_for_topic(live: LiveServer, version: str) -> float:
    """Seconds until /readyz says `version` is the served topic model (fails after 10 s)."""
    start = time.monotonic()
    while served_topic(live) != version:
        assert time.monotonic() - start < FOLLOW_WITHIN_S, f"still serving {served_topic(live)}"
        time.sleep(0.05)
    return time.monotonic() - start


class Traffic:
    """Suggestion requests sent one after another from a thread, until stopped: each status, and the
    topic model version each successful suggestion's trace names."""

    def __init__(self, live: LiveServer, auth: dict[str, str]) -> None:
        self.live, self.auth = live, auth
        self.statuses: list[int] = []
        self.versions: list[str | None] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.live.url, headers=self.auth, timeout=30) as client:
            while not self._stop.is_set():
                r = client.post("/v1/suggest", json=MESSAGE)
                self.statuses.append(r.status_code)
                if r.status_code == 200:
                    steps = [s for s in r.json()["trace"] if s["stage"] == "topic"]
                    self.versions.append(steps[0].get("model_version") if steps else None)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def dashboard_models(live: LiveServer, auth: dict[str, str]) -> str:
    page = httpx.get(f"{live.url}/dashboard", headers=auth, timeout=30)
    assert page.status_code == 200
    text = page.text
    return text[text.index('id="models"') : text.index("Pipeline versions")]


def test_a_promotion_and_a_rollback_are_served_within_seconds_without_failed_requests(
    workspace: Path, serve: Callable[[], LiveServer]
) -> None:
    run(workspace, "train")
    run(workspace, "train", "--stage", "topic")
    live, other = serve(), serve()  # two worker processes' apps on one registry
    auth = authorize(live.app.state.runtime.store)  # type: ignore[attr-defined]
    assert readyz(live).status_code == 200 and served_topic(live) == "v1" == served_topic(other)
    with Traffic(live, auth) as traffic:
        while len(traffic.statuses) < 3:
            time.sleep(0.01)
        assert "topic v2 is live" in run(workspace, "promote", "topic", "v2")
        promoted_in = wait_for_topic(live, "v2")
        wait_for_topic(other, "v2")
        seen = len(traffic.versions)
        while len(traffic.versions) < seen + 3:
            time.sleep(0.01)
        assert 'class="served">v2</td>' in dashboard_models(live, auth)
        assert "topic v1 is live again; v2 is retired" in run(workspace, "rollback", "topic")
        rolled_back_in = wait_for_topic(live, "v1")
        wait_for_topic(other, "v1")
        seen = len(traffic.versions)
        while len(traffic.versions) < seen + 3:
            time.sleep(0.01)
    print(f"promotion served after {promoted_in:.2f} s, rollback after {rolled_back_in:.2f} s")
    assert traffic.statuses and set(traffic.statuses) == {200}, traffic.statuses
    # the suggestions went from v1 to v2 and back, each served wholly by one version
    changes = [v for i, v in enumerate(traffic.versions) if i == 0 or v != traffic.versions[i - 1]]
    assert changes == ["v1", "v2", "v1"], changes
    assert 'class="served">v1</td>' in dashboard_models(live, auth)


def test_with_no_trained_model_the_server_says_so_until_train_puts_one_live(
    workspace: Path, serve: Callable[[], LiveServer]
) -> None:
    live = serve()
    auth = authorize(live.app.state.runtime.store)  # type: ignore[attr-defined]
    ready = readyz(live)
    assert ready.status_code == 503
    assert ready.json()["reason"] == "no trained model: run supportcue train"
    r = httpx.post(f"{live.url}/v1/suggest", json=MESSAGE, headers=auth, timeout=10)
    assert r.status_code == 503 and r.json()["detail"] == "no trained model: run supportcue train"
    assert "no trained model: run supportcue train" in dashboard_models(live, auth)

    run(workspace, "train")
    wait_for_topic(live, "v1")
    body: dict[str, Any] = readyz(live).json()
    assert body["status"] == "ready" and body["models"]["validation"] == "v1"
    r = httpx.post(f"{live.url}/v1/suggest", json=MESSAGE, headers=auth, timeout=10)
    assert r.status_code == 200, r.text


def test_a_version_that_fails_to_load_leaves_the_previous_one_serving(
    workspace: Path, serve: Callable[[], LiveServer]
) -> None:
    run(workspace, "train")
    run(workspace, "train", "--stage", "topic")
    (workspace / "models" / "topic" / "v2.joblib").write_bytes(b"not the model that was trained")
    live = serve()
    auth = authorize(live.app.state.runtime.store)  # type: ignore[attr-defined]
    run(workspace, "promote", "topic", "v2")
    app: FastAPI = live.app  # type: ignore[assignment]
    deadline = time.monotonic() + FOLLOW_WITHIN_S
    while app.state.runtime.error is None:
        assert time.monotonic() < deadline, "the failed load was not reported"
        time.sleep(0.05)
    body = readyz(live).json()
    assert body["status"] == "ready" and body["models"]["topic"] == "v1"
    assert "topic v2: the artifact's SHA-256 differs" in body["reload_error"]
    r = httpx.post(f"{live.url}/v1/suggest", json=MESSAGE, headers=auth, timeout=10)
    assert r.status_code == 200
    models = dashboard_models(live, auth)
    assert "<strong>v1</strong> (not yet v2)" in models and "topic v2: the artifact" in models
