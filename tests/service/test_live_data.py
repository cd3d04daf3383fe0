"""The served pipeline follows the workspace, over real HTTP and with the real workspace loader:
an answer approved or edited in the store reaches a running server within seconds (no retraining,
no restart), and policy settings such as `[response] min_score` take effect at the next start without
retraining."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from supportcue.data.store import Store, open_store
from supportcue.embeddings import make_embedder
from supportcue.service import create_app
from supportcue.service.runtime import load_workspace_pipeline
from supportcue.settings import Settings, init_workspace, load_settings
from supportcue.stages.base import Message
from supportcue.stages.response import LibraryAnswer, ResponseStage
from supportcue.stages.topic import TopicStage
from supportcue.training.registry import save_version
from tests.conftest import LiveServer
from tests.service.conftest import authorize, wait_loaded

QUESTIONS = {
    "payouts": ["how do I pause payouts", "can I pause my payouts", "pause payouts please", "stop payouts"],
    "refunds": ["how do I refund a customer", "refund an order", "issue a refund", "refund a payment"],
}
PAUSE = "You can pause payouts in Settings > Payouts."
REFUND = "Refunds take 5-10 days to reach the card."
ANSWERS = [
    {"id": "pause", "topic": "payouts", "title": "Pause", "body": PAUSE, "status": "approved"},
    {"id": "refund", "topic": "refunds", "title": "Refund", "body": REFUND, "status": "approved"},
]


def train_workspace(folder: Path, database_url: str) -> None:
    """A workspace with live topic and response models (model-free embedder, no validation model)."""
    init_workspace(folder)
    settings = load_settings(folder, environ=environ(database_url))
    store = open_store(settings.database_url)
    store.library.upsert_answers(ANSWERS)
    embedder = make_embedder(settings.embedding.model)
    texts = [t for ts in QUESTIONS.values() for t in ts]
    topics = [k for k, ts in QUESTIONS.items() for _ in ts]
    messages = [
        Message(t, vector=v, topic=k) for t, v, k in zip(texts, embedder.embed(texts), topics, strict=True)
    ]
    replies = [PAUSE if k == "payouts" else REFUND for k in topics]
    library = [LibraryAnswer(a["id"], a["topic"], a["title"], a["body"]) for a in ANSWERS]
    for stage in (
        TopicStage().fit(messages, topics),
        ResponseStage().fit(messages, library=library, replies=replies),
    ):
        version = save_version(store, settings.models_dir, stage, "test", {}, {})
        store.models.promote(stage.name, version.version)
    store.close()


def environ(database_url: str, **more: str) -> dict[str, str]:
    return {"SUPPORTCUE_DATABASE_URL": database_url, "SUPPORTCUE_EMBEDDING__MODEL": "tfidf", **more}


class Served(LiveServer):
    """The app behind a real uvicorn, and an admin key of its store."""

    def __init__(self, app: FastAPI) -> None:
        super().__init__(app)
        self.auth = authorize(app.state.runtime.store)


def serve(folder: Path, env: dict[str, str]) -> Served:
    settings: Settings = load_settings(folder, environ=env)
    return Served(create_app(settings, pipeline_loader=load_workspace_pipeline))


def suggest(live: Served, message: str) -> dict[str, Any]:
    body = {"message": message, "customer_name": "Ana"}
    r = httpx.post(f"{live.url}/v1/suggest", json=body, headers=live.auth)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture
def workspace(database_url: str, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    train_workspace(tmp_path, database_url)
    yield tmp_path, database_url


def test_an_answer_changed_in_the_store_reaches_the_running_server(workspace: tuple[Path, str]) -> None:
    folder, url = workspace
    with serve(folder, environ(url)) as live:
        wait_loaded(live.app)  # type: ignore[arg-type]
        before = suggest(live, "how do I pause payouts")
        assert before["answer_id"] == "pause" and PAUSE in before["text"]
        store: Store = live.app.state.runtime.store  # type: ignore[attr-defined]
        new_body = "Pause payouts from Settings > Payouts > Pause; they resume when you switch it back."
        store.library.upsert_answers(
            [
                {**ANSWERS[0], "status": "retired"},
                {
                    "id": "pause-v2",
                    "topic": "payouts",
                    "title": "Pause",
                    "body": new_body,
                    "status": "approved",
                },
            ]
        )
        deadline = time.time() + 10
        after = suggest(live, "how do I pause payouts")
        while after["answer_id"] != "pause-v2" and time.time() < deadline:
            time.sleep(0.2)
            after = suggest(live, "how do I pause payouts")
        assert after["answer_id"] == "pause-v2" and "switch it back" in after["text"]
        store.library.set_answer_status("pause-v2", "retired")
        deadline = time.time() + 10
        gone = suggest(live, "how do I pause payouts")
        while gone["text"] is not None and time.time() < deadline:
            time.sleep(0.2)
            gone = suggest(live, "how do I pause payouts")
        assert gone["text"] is None and gone["abstained_at"] == "response"
        assert "no approved answer" in gone["reason"]


def test_min_score_takes_effect_at_the_next_start_without_retraining(workspace: tuple[Path, str]) -> None:
    folder, url = workspace
    models = sorted(p.name for p in (folder / "models").rglob("*.joblib"))
    with serve(folder, environ(url)) as live:
        wait_loaded(live.app)  # type: ignore[arg-type]
        assert suggest(live, "how do I refund a customer")["answer_id"] == "refund"
    with serve(folder, environ(url, SUPPORTCUE_RESPONSE__MIN_SCORE="0.999")) as live:
        wait_loaded(live.app)  # type: ignore[arg-type]
        strict = suggest(live, "how do I refund a customer")
    assert strict["text"] is None and strict["abstained_at"] == "response"
    assert "min_score 1.00" in strict["reason"]
    assert sorted(p.name for p in (folder / "models").rglob("*.joblib")) == models  # nothing retrained
