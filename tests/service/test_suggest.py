"""POST /v1/suggest over real HTTP: validation errors, readiness, a suggestion stored with its trace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from supportcue.data.store import Store, open_store
from supportcue.pipeline import Pipeline
from supportcue.service.deps import get_app_settings
from supportcue.service.runtime import PipelineLoader
from supportcue.settings import Settings
from tests.conftest import LiveServer
from tests.service.conftest import authorize, wait_loaded


@pytest.fixture
def service_settings() -> dict[str, Any]:
    return {"max_message_chars": 500}


def test_suggestion_is_returned_and_stored_with_its_trace(
    api: httpx.Client, app: FastAPI, database_url: str
) -> None:
    body = {"message": "how do I pause a payout", "case_id": "c-9", "customer_name": "Ana"}
    r = api.post("/v1/suggest", json=body)
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
    store = open_store(database_url)
    stored = store.cases.suggestion(d["suggestion_id"])
    assert stored is not None and stored.case_id == "c-9" and stored.answer_id == "a1"
    assert [t["stage"] for t in stored.trace] == ["embed", "validation", "topic", "response", "tone"]
    assert stored.trace == d["trace"]
    store.close()


def test_abstention_is_a_200_with_no_text(api: httpx.Client) -> None:
    d = api.post("/v1/suggest", json={"message": "thanks"}).json()
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
    api: httpx.Client, payload: dict[str, object], status: int, says: str
) -> None:
    r = api.post("/v1/suggest", json=payload)
    assert r.status_code == status
    assert says in r.json()["detail"]


def test_bad_json_is_a_clear_422(api: httpx.Client) -> None:
    r = api.post("/v1/suggest", content=b'{"message": ', headers={"content-type": "application/json"})
    assert r.status_code == 422 and "not valid JSON" in r.json()["detail"]


def test_health_readiness_and_prometheus(server: LiveServer, api: httpx.Client) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/readyz")
    assert ready.status_code == 200 and ready.json()["models"]["topic"] == "v3"
    api.post("/v1/suggest", json={"message": "thanks"})
    text = api.get("/metrics").text
    assert 'supportcue_suggestions_total{outcome="abstained_validation"} 1.0' in text
    assert 'supportcue_http_requests_total{method="POST",route="/v1/suggest",status="200"}' in text


def test_not_ready_is_503_with_reason(make_app: Callable[[PipelineLoader], FastAPI]) -> None:
    def no_models(store: Store, settings: Settings) -> Pipeline:
        raise LookupError("no live topic model: run `supportcue train`")

    app = make_app(no_models)
    auth = authorize(app.state.runtime.store)
    with LiveServer(app) as live:
        wait_loaded(app)
        assert httpx.get(f"{live.url}/readyz").status_code == 503
        r = httpx.post(f"{live.url}/v1/suggest", json={"message": "hello"}, headers=auth)
        assert r.status_code == 503 and "supportcue train" in r.json()["detail"]


def test_a_test_can_override_what_the_routes_see(app: FastAPI, client: TestClient) -> None:
    small = app.state.runtime.settings.model_copy(deep=True)
    small.service.max_message_chars = 10
    app.dependency_overrides[get_app_settings] = lambda: small
    r = client.post("/v1/suggest", json={"message": "x" * 11})
    assert r.status_code == 413 and "the limit is 10" in r.json()["detail"]
    assert client.post("/v1/suggest", json={"message": "a payout"}).status_code == 200


def test_a_short_email_above_a_long_quoted_thread_is_a_short_message(client: TestClient) -> None:
    """`[service] max_message_chars` is about what the customer wrote: a two-line reply above
    a long quoted e-mail thread was refused (413) and got no suggestion; a long message is still 413."""
    thread = "\n".join(f"> earlier line {i} of the thread, from help@x.example" for i in range(400))
    email = (
        f"How do I pause a payout?\n\nOn Mon, 3 Nov 2026 at 10:02, Support <help@x.example> wrote:\n{thread}"
    )
    assert len(email) > 20_000
    r = client.post("/v1/suggest", json={"message": email})
    assert r.status_code == 200 and r.json()["topic"] == "payouts"
    turn = {"case_id": "e-1", "message_id": "m-1", "role": "customer", "text": email}
    assert client.post("/v1/messages", json=turn).status_code == 200
    r = client.post("/v1/suggest", json={"message": "how do I pause a payout?" * 500})
    assert r.status_code == 413 and r.json()["detail"].startswith("message is 12,000 characters; the limit")


IMAGE_ONLY = '<div dir="ltr"><img src="cid:ii_lx1" alt="image.png"><br></div>'
"""An e-mail with a screenshot pasted in its body and no text part: its HTML reads as nothing."""


def test_a_message_that_reads_as_nothing_gets_no_suggestion(client: TestClient, store: Store) -> None:
    """The Chatwoot webhook ignores such a message ("the message has no text"); asked for it, the
    service ran the pipeline on nothing and stored a suggestion for it."""
    asked = {"message": IMAGE_ONLY, "case_id": "chatwoot:1:7", "message_id": "105"}
    r = client.post("/v1/suggest", json=asked)
    assert r.status_code == 422 and r.json()["detail"].startswith("message reads as nothing")
    turn = {"case_id": "e-2", "message_id": "m-2", "role": "customer", "text": IMAGE_ONLY}
    r = client.post("/v1/messages", json=turn)
    assert r.status_code == 422 and r.json()["detail"].startswith("text reads as nothing")
    assert store.db.count("suggestions") == 0 and store.db.count("messages") == 0
