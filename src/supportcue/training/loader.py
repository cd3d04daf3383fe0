"""Assemble the pipeline a workspace serves: live model versions, the current answer library, the
workspace's tone policy and stage modes."""

from __future__ import annotations

from supportcue.data.store import Store
from supportcue.embeddings import Embedder, make_embedder
from supportcue.pipeline import Pipeline
from supportcue.settings import Settings
from supportcue.stages.base import Stage
from supportcue.stages.response import LibraryAnswer
from supportcue.training.registry import load_live
from supportcue.vocab import StageMode


def workspace_embedder(settings: Settings) -> Embedder:
    return make_embedder(
        settings.embedding.model,
        cache_dir=settings.cache_dir if settings.embedding.cache else None,
        batch_size=settings.embedding.batch_size,
    )


def library_of(store: Store) -> list[LibraryAnswer]:
    """The answer library as the response stage sees it (statuses as they are now)."""
    return [
        LibraryAnswer(
            id=a.id,
            topic=a.topic,
            title=a.title,
            body=a.body,
            status=a.status,  # type: ignore[arg-type]
            review_due_at=a.review_due_at,
            version=a.version,
        )
        for a in store.library.answers()
    ]


def load_pipeline(store: Store, settings: Settings, embedder: Embedder | None = None) -> Pipeline:
    """The live stages of the workspace (a stage with no live model is off)."""
    from supportcue.stages.tone import ToneStage

    embedder = embedder or workspace_embedder(settings)
    stages: dict[str, Stage | None] = {}
    versions: dict[str, str] = {}
    for name in ("validation", "topic", "response"):
        loaded = load_live(store, name)
        if loaded is None or settings.pipeline.mode(name) == StageMode.OFF:
            stages[name] = None
            continue
        stage, meta = loaded
        if hasattr(stage, "embedder"):
            stage.embedder = embedder  # the one transient attribute: not saved with the artifact
        stages[name] = stage
        versions[name] = meta.version
    response = stages.get("response")
    update = getattr(response, "update_library", None)
    if callable(update):
        update(library_of(store))
    stages["tone"] = None if settings.pipeline.tone == StageMode.OFF else ToneStage(settings.tone).fit([])
    versions["tone"] = "policy"
    return Pipeline(stages, embedder, settings.pipeline, versions)
