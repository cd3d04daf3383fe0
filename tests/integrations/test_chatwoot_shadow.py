"""The Chatwoot connector with a stage in shadow, over real HTTP: a private note carries only what the
live stages suggest (none when only the shadow chain has a suggestion), and the Dashboard App's
answer and the conversation's stored answer hold no shadow text."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from supportcue.data.store import Store
from supportcue.pipeline import Pipeline
from supportcue.service.runtime import PipelineLoader
from supportcue.settings import PipelineSettings, Settings
from tests.conftest import LiveServer
from tests.integrations.chatwoot_api import CASE, PAUSE, FakeChatwoot, message_created, post, wait_for
from tests.service.conftest import authorize, fake_pipeline, shadows_stored

UNTONED = "You can pause payouts in Settings."


@pytest.fixture
def modes() -> dict[str, str]:
    return {}


@pytest.fixture
def app(make_app: Callable[[PipelineLoader], FastAPI], modes: dict[str, str]) -> FastAPI:
    def loader(store: Store, settings: Settings) -> Pipeline:
        pipeline = fake_pipeline(store, settings)
        pipeline.settings = PipelineSettings(**modes)
        return pipeline

    return make_app(loader)


def embed_answer(server: LiveServer, store: Store) -> httpx.Response:
    """What the Dashboard App's page asks for the conversation's message (an `embed` key)."""
    body = {"message": "How do I pause a payout?", "case_id": CASE, "message_id": "101"}
    with httpx.Client(base_url=server.url, headers=authorize(store, "embed"), timeout=30) as embed:
        r = embed.post("/v1/suggest", json=body)
    assert r.status_code == 200, r.text
    return r


@pytest.mark.parametrize("modes", [{"topic": "shadow"}], ids=["topic"])
def test_a_shadow_suggestion_is_never_posted_as_a_note(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    chatwoot.start()
    assert post(server.url, message_created(101, "How do I pause a payout?")).json()["status"] == "accepted"
    # the note worker makes the suggestion, then its shadow chain: wait for the chain's text (the
    # suggestion alone can be seen before its chain is even queued, which shadows_stored cannot wait for)
    wait_for(lambda: "text" in ((getattr(store.cases.latest_suggestion(CASE), "shadow", None)) or {}))
    shadows_stored(server)
    suggestion = store.cases.latest_suggestion(CASE)
    assert suggestion is not None and suggestion.text is None  # made, stored, not shown
    assert suggestion.shadow["text"] == PAUSE
    time.sleep(0.3)  # a note would have been posted by now
    assert chatwoot.notes == []
    r = embed_answer(server, store)
    assert r.json()["reused"] and r.json()["text"] is None
    assert "pause payouts" not in r.text and "payouts" not in [t.get("label") for t in r.json()["trace"]]
    (turn,) = [t for t in store.conversations.turns(CASE) if t.role == "customer"]
    assert "pause payouts" not in str(turn.result)  # the answer kept for a repeated webhook


@pytest.mark.parametrize("modes", [{"tone": "shadow"}], ids=["tone"])
def test_with_the_tone_in_shadow_the_note_is_the_untoned_answer(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    chatwoot.start()
    assert post(server.url, message_created(101, "How do I pause a payout?")).json()["status"] == "accepted"
    (note,) = wait_for(lambda: chatwoot.notes)
    assert UNTONED in note["content"] and "Hi Ana" not in note["content"]
    r = embed_answer(server, store)
    assert r.json()["text"] == UNTONED and "Hi Ana" not in r.text
