"""The LLM mode behind the HTTP API: a drafted suggestion is stored with `sources` and `grounding` in
its trace, and /metrics counts the LLM calls, tokens and call latency per stage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from supportcue.data.store import Store
from supportcue.pipeline import Pipeline
from supportcue.service.runtime import PipelineLoader
from supportcue.settings import Settings
from tests.llm.chat_server import Action, ChatServer, Reply, Status, customer_message
from tests.llm.world import ABOUT_ME, NAME, pipeline
from tests.service.conftest import authorize, wait_loaded

FAITHFUL = "To pause payouts, go to Settings → Payouts and choose Manual [ans-pause]."


def script(body: dict[str, Any], n: int) -> Action:
    return (
        Status(503)
        if "down" in customer_message(body)
        else Reply(FAITHFUL, prompt_tokens=200, completion_tokens=20)
    )


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    with ChatServer(script) as server:
        yield server


@pytest.fixture
def llm_client(make_app: Callable[[PipelineLoader], FastAPI], chat: ChatServer) -> Iterator[TestClient]:
    def loader(store: Store, settings: Settings) -> Pipeline:
        return pipeline(chat.url, llm_timeout_ms=2000)

    app = make_app(loader)
    with TestClient(app, headers=authorize(app.state.runtime.store)) as c:
        wait_loaded(app)
        yield c


def test_a_drafted_suggestion_is_stored_with_its_sources_and_counted(llm_client: TestClient) -> None:
    body = {"message": f"How do I pause payouts? {ABOUT_ME}", "customer_name": NAME, "case_id": "c-9"}
    answer = llm_client.post("/v1/suggest", json=body)
    assert answer.status_code == 200, answer.text
    suggestion = answer.json()
    assert suggestion["text"] and "Settings → Payouts" in suggestion["text"]
    (draft,) = [t for t in suggestion["trace"] if t["stage"] == "draft"]
    assert draft["extra"]["sources"][0] == "ans-pause" and draft["extra"]["grounding"]["passed"]
    store: Store = llm_client.app.state.runtime.store  # type: ignore[attr-defined]
    stored = store.cases.suggestion(suggestion["suggestion_id"])
    assert stored is not None and stored.text == suggestion["text"]
    assert [t["extra"]["sources"] for t in stored.trace if t["stage"] == "draft"] == [
        draft["extra"]["sources"]
    ]
    down = llm_client.post(
        "/v1/suggest", json={**body, "message": f"payout down? {ABOUT_ME}", "case_id": "c-10"}
    )
    assert down.status_code == 200 and down.json()["text"] is None and "HTTP 503" in down.json()["reason"]
    metrics = llm_client.get("/metrics").text
    assert 'supportcue_llm_calls_total{outcome="ok",stage="draft"} 1.0' in metrics
    assert 'supportcue_llm_calls_total{outcome="LLMUnavailable",stage="draft"} 1.0' in metrics
    assert 'supportcue_llm_tokens_total{kind="prompt",stage="draft"} 200.0' in metrics
    assert 'supportcue_llm_tokens_total{kind="completion",stage="draft"} 20.0' in metrics
    assert 'supportcue_llm_call_seconds_count{stage="draft"} 2.0' in metrics


def test_a_draft_in_shadow_runs_after_the_answer_and_its_calls_are_counted(
    make_app: Callable[[PipelineLoader], FastAPI], chat: ChatServer
) -> None:
    """An LLM draft on trial: the agent is answered by the live stages (the library's answer) without
    waiting for it; the draft is stored with the suggestion afterwards, and its call is counted (it
    was paid for)."""

    def loader(store: Store, settings: Settings) -> Pipeline:
        return pipeline(chat.url, llm_timeout_ms=2000, draft="shadow")

    app = make_app(loader)
    with TestClient(app, headers=authorize(app.state.runtime.store)) as c:
        runtime = wait_loaded(app)
        body = {"message": f"How do I pause payouts? {ABOUT_ME}", "customer_name": NAME, "case_id": "c-9"}
        answer = c.post("/v1/suggest", json=body).json()
        assert answer["text"] and "draft" not in [t["stage"] for t in answer["trace"]]
        assert runtime.wait_for_shadows(timeout_s=30)
        stored = runtime.store.cases.suggestion(answer["suggestion_id"])
        assert stored is not None and stored.text == answer["text"]
        assert stored.shadow["stages"] == ["draft"] and "Settings → Payouts" in stored.shadow["text"]
        assert 'supportcue_llm_calls_total{outcome="ok",stage="draft"} 1.0' in c.get("/metrics").text
