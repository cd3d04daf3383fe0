"""The LLM modes in a workspace: settings checked at start-up, the stages the loader builds (off by
default), their versions, and the article passages embedded at train time."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportcue.data.store import Store, open_store
from supportcue.embeddings import CachedEmbedder, HashingEmbedder
from supportcue.errors import SettingsError
from supportcue.llm.client import OpenAIChatClient
from supportcue.providers import StoreArticles, warm_articles
from supportcue.settings import init_workspace, load_settings
from supportcue.stages.draft import DraftStage
from supportcue.training.loader import load_pipeline

UNTRAINED = {f"SUPPORTCUE_PIPELINE__{n.upper()}": "off" for n in ("validation", "topic", "response")}
"""The stages that learn are off (nothing is trained here): the loader builds the others."""
LLM_ENV = {
    **UNTRAINED,
    "SUPPORTCUE_RESPONSE__MODE": "hybrid",
    "SUPPORTCUE_LLM__MODEL": "m",
    "SUPPORTCUE_LLM__BASE_URL": "http://127.0.0.1:9/v1",
    "SUPPORTCUE_LLM__API_KEY_ENV": "",
    "SUPPORTCUE_PIPELINE__TIMEOUT_MS": "15000",
}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    init_workspace(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("environ", "error"),
    [
        ({"SUPPORTCUE_RESPONSE__MODE": "llm"}, "setting llm.model: the LLM modes need a model name"),
        ({**LLM_ENV, "SUPPORTCUE_PIPELINE__TIMEOUT_MS": "2000"}, "llm.timeout_ms (10000) must be below"),
        ({"SUPPORTCUE_TONE__MODE": "llm", "SUPPORTCUE_LLM__MODEL": "m"}, "pipeline.timeout_ms (2000)"),
        ({"SUPPORTCUE_RESPONSE__MODE": "generative"}, "response.mode"),
        ({"SUPPORTCUE_LLM__BASE_URL": "localhost:8080"}, "must be an http:// or https:// URL"),
        ({"SUPPORTCUE_LLM__API_KEY_ENV": "sk-live-123"}, "never the key itself"),
    ],
)
def test_bad_llm_settings_stop_start_up_naming_the_key(
    workspace: Path, environ: dict[str, str], error: str
) -> None:
    with pytest.raises(SettingsError, match=error.replace("(", r"\(").replace(")", r"\)")):
        load_settings(workspace, environ=environ)


def test_library_mode_builds_no_llm_stage_and_hybrid_does(workspace: Path) -> None:
    settings = load_settings(workspace, environ=UNTRAINED)
    assert settings.response.mode == "library" and settings.tone.mode == "rules" and not settings.uses_llm
    store = open_store(settings.database_url)
    try:
        plain = load_pipeline(store, settings, HashingEmbedder(dim=64))
        assert plain.stages["draft"] is None and not plain.has_blocking_stages
        hybrid_settings = load_settings(workspace, environ=LLM_ENV)
        hybrid = load_pipeline(store, hybrid_settings, HashingEmbedder(dim=64))
        draft = hybrid.stages["draft"]
        assert isinstance(draft, DraftStage) and draft.mode == "hybrid"
        assert (
            isinstance(draft.llm, OpenAIChatClient)
            and draft.llm.url == "http://127.0.0.1:9/v1/chat/completions"
        )
        assert hybrid.versions["draft"].startswith("llm-") and hybrid.versions["tone"] == "policy"
        assert hybrid.has_blocking_stages
        with pytest.raises(SettingsError, match="OPENAI_API_KEY is not set"):
            load_pipeline(
                store,
                load_settings(
                    workspace, environ={**LLM_ENV, "SUPPORTCUE_LLM__API_KEY_ENV": "OPENAI_API_KEY"}
                ),
            )
    finally:
        store.close()


def test_article_passages_are_embedded_once_and_kept_in_the_cache(workspace: Path) -> None:
    settings = load_settings(workspace, environ={})
    store = open_store(settings.database_url)
    try:
        body = "\n\n".join(f"Paragraph {i} about payouts and refunds. " * 12 for i in range(4))
        store.library.upsert_articles([{"id": "kb-1", "title": "Payouts", "body": body, "topic": None}])
        calls: list[int] = []

        class Counting(HashingEmbedder):
            def embed(self, texts):  # type: ignore[no-untyped-def]
                calls.append(len(texts))
                return super().embed(texts)

        cached = CachedEmbedder(Counting(dim=64), settings.cache_dir)
        n = warm_articles(store, cached)
        assert n >= 4 and calls == [n]  # several passages of one article, embedded in one batch
        again = StoreArticles(store, embedder=cached).snapshot()
        assert again.vectors is not None and again.vectors.shape == (n, 64) and calls == [n]  # from the cache
        assert {c.article_id for c in again.chunks} == {"kb-1"} and all(
            len(c.text) <= 600 for c in again.chunks
        )
        cached.close()
    finally:
        store.close()


def test_the_funnel_shows_the_draft_stage_only_where_it_stopped_something() -> None:
    from tests.monitoring.test_metrics import EVENTS, NAMES, SUGGESTIONS, _s

    from supportcue.monitoring.metrics import facts_from_rows, report

    plain = report(facts_from_rows(SUGGESTIONS, EVENTS, NAMES))
    assert "draft" not in [row["stage"] for row in plain["funnel"]]
    drafted = [*SUGGESTIONS, _s("s9", "c9", 5, topic="refunds", abstained_at="draft", mode="none")]
    funnel = report(facts_from_rows(drafted, EVENTS, NAMES))["funnel"]
    assert [row["stage"] for row in funnel] == ["validation", "topic", "response", "draft", "tone"]
    assert funnel[3] == {"stage": "draft", "entered": 5, "stopped": 1, "passed": 4}


def test_the_review_queue_receives_the_drafts_an_llm_wrote(store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    from supportcue.review.queue import refresh
    from supportcue.settings import Settings
    from supportcue.vocab import ReviewReason

    now = datetime.now(UTC).replace(microsecond=0)
    llm_pipeline = "validation:v1+topic:v1+response:v1+draft:llm-0123456789+tone:policy"
    rows = {
        "s-drafted": {"answer_id": None, "pipeline_version": llm_pipeline},
        "s-library": {"answer_id": "a1", "pipeline_version": llm_pipeline},  # hybrid: the library answered
    }
    store.cases.upsert([{"id": f"c-{sid}", "message": "how do I pause payouts"} for sid in rows])
    store.cases.add_suggestions(
        [
            {
                "id": sid,
                "case_id": f"c-{sid}",
                "created_at": now - timedelta(hours=1),
                "topic": "payouts",
                "text": "To pause payouts, choose Manual under Settings → Payouts.",
                "confidence": 0.95,
                "mode": "live",
                "shadow": {},
                "latency_ms": 1.0,
                **extra,
            }
            for sid, extra in rows.items()
        ]
    )
    review = Settings().review.model_copy(update={"random_share": 0.0, "overlap_share": 0.0})
    refresh(store, Settings(review=review), now)
    reasons = {i.key: i.reason for i in store.reviews.items_of_kind("suggestion")}
    assert reasons == {"suggestion:s-drafted": ReviewReason.GENERATED_DRAFT}
