"""POST /v1/suggest over real HTTP: validation errors, readiness, a suggestion stored with its trace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from supportcue.data.store import open_store
from supportcue.service import create_app
from supportcue.settings import init_workspace, load_settings
from tests.conftest import LiveServer
from tests.test_pipeline import make


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    init_workspace(tmp_path)
    settings = load_settings(tmp_path, environ={"SUPPORTCUE_DATABASE_URL": database_url})
    settings.service.max_message_chars = 500
    app = create_app(settings, load_models=False)
    app.state.runtime.pipeline = make()  # fast, deterministic stages; the real ones are tested elsewhere
    with LiveServer(app) as live:
        yield live, database_url


def test_suggestion_is_returned_and_stored_with_its_trace(server: tuple[LiveServer, str]) -> None:
    live, url = server
    body = {"message": "how do I pause a payout", "case_id": "c-9", "customer_name": "Ana"}
    r = httpx.post(f"{live.url}/v1/suggest", json=body)
    assert r.status_code == 200
    d = r.json()
    assert {
        "suggestion_id",
        "text",
        "topic",
        "confidence",
        "answer_id",
        "abstained_at",
        "trace",
        "mode",
    } <= d.keys()
    assert d["text"] == "Hi Ana,\nYou can pause payouts in Settings." and d["mode"] == "live"
    live.app.state.runtime.writer.flush()  # type: ignore[attr-defined]  # suggestions are written behind
    store = open_store(url)
    stored = store.suggestion(d["suggestion_id"])
    assert stored is not None and stored.case_id == "c-9" and stored.answer_id == "a1"
    assert [t["stage"] for t in stored.trace] == ["embed", "validation", "topic", "response", "tone"]
    assert stored.trace == d["trace"]
    store.close()


def test_abstention_is_a_200_with_no_text(server: tuple[LiveServer, str]) -> None:
    live, _ = server
    d = httpx.post(f"{live.url}/v1/suggest", json={"message": "thanks"}).json()
    assert d["text"] is None and d["abstained_at"] == "validation" and d["mode"] == "none"


@pytest.mark.parametrize(
    ("payload", "status", "says"),
    [
        ({"message": ""}, 422, "message"),
        ({"message": "   "}, 422, "message is empty"),
        ({}, 422, "message"),
        ({"message": "x" * 501}, 413, "the limit is 500"),
        ({"message": "hi", "colour": "red"}, 422, "colour"),
    ],
)
def test_validation_errors_are_clear(
    server: tuple[LiveServer, str], payload: dict[str, object], status: int, says: str
) -> None:
    live, _ = server
    r = httpx.post(f"{live.url}/v1/suggest", json=payload)
    assert r.status_code == status
    assert says in r.json()["detail"]


def test_bad_json_is_a_clear_422(server: tuple[LiveServer, str]) -> None:
    live, _ = server
    r = httpx.post(
        f"{live.url}/v1/suggest", content=b'{"message": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and "not valid JSON" in r.json()["detail"]


def test_health_readiness_and_prometheus(server: tuple[LiveServer, str]) -> None:
    live, _ = server
    assert httpx.get(f"{live.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{live.url}/readyz")
    assert ready.status_code == 200 and ready.json()["models"]["topic"] == "v3"
    httpx.post(f"{live.url}/v1/suggest", json={"message": "thanks"})
    text = httpx.get(f"{live.url}/metrics").text
    assert 'supportcue_suggestions_total{outcome="abstained_validation"} 1.0' in text
    assert 'supportcue_http_requests_total{method="POST",route="/v1/suggest",status="200"}' in text


def test_not_ready_is_503_with_reason(tmp_path: Path) -> None:
    init_workspace(tmp_path)
    app = create_app(load_settings(tmp_path, environ={}), load_models=False)
    app.state.runtime.error = "no live topic model: run `supportcue train`"
    with LiveServer(app) as live:
        assert httpx.get(f"{live.url}/readyz").status_code == 503
        r = httpx.post(f"{live.url}/v1/suggest", json={"message": "hello"})
        assert r.status_code == 503 and "supportcue train" in r.json()["detail"]
