"""Assemble the pipeline a workspace serves: every registered stage kind the settings ask for, in
order, with its live model version (or built from the settings, for kinds that learn nothing,
versioned by their policy), its policy read from the current settings, and its services bound: the
embedder, the live answer library and KB articles, the LLM client (when a mode uses it), the clock."""

from __future__ import annotations

from supportcue.data.store import Store
from supportcue.embeddings import CachedEmbedder, Embedder, make_embedder
from supportcue.errors import SettingsError
from supportcue.llm.client import make_client
from supportcue.pipeline import Pipeline
from supportcue.providers import StoreArticles, StoreLibrary
from supportcue.settings import Settings
from supportcue.stages import registry
from supportcue.stages.base import Services, Stage
from supportcue.training.registry import load_live
from supportcue.vocab import StageMode


def workspace_embedder(settings: Settings, cache: bool | None = None) -> Embedder:
    use_cache = settings.embedding.cache if cache is None else cache
    return make_embedder(
        settings.embedding.model,
        cache_dir=settings.cache_dir if use_cache else None,
        batch_size=settings.embedding.batch_size,
    )


def workspace_services(store: Store, embedder: Embedder, settings: Settings | None = None) -> Services:
    """The live library and articles; with LLM modes on, the article passages' vectors (through the
    workspace's embedding cache, which `import articles` and `train` fill) and the LLM client."""
    if settings is None or not settings.uses_llm:
        return Services(embedder=embedder, library=StoreLibrary(store), articles=StoreArticles(store))
    passages = embedder
    if settings.embedding.cache and not isinstance(embedder, CachedEmbedder):
        passages = CachedEmbedder(embedder, settings.cache_dir)
    return Services(
        embedder=embedder,
        library=StoreLibrary(store),
        articles=StoreArticles(store, embedder=passages),
        llm=make_client(settings.llm),
    )


def load_pipeline(store: Store, settings: Settings, embedder: Embedder | None = None) -> Pipeline:
    """The workspace's stages (a stage with no live model, or switched off, is off)."""
    problem = settings.llm_problem()
    if problem:
        raise SettingsError(problem)
    embedder = embedder or workspace_embedder(settings)
    services = workspace_services(store, embedder, settings)
    stages: dict[str, Stage | None] = {}
    versions: dict[str, str] = {}
    for name in registry.names():
        kind = registry.kind(name)
        stages[name] = None
        if settings.pipeline.mode(name) == StageMode.OFF or not kind.enabled(settings):
            continue
        if kind.fit_data == "none":
            stage: Stage = kind(**kind.params_from(settings)).fit([])
            versions[name] = stage.policy_version()
        else:
            loaded = load_live(store, name)
            if loaded is None:
                continue
            stage, meta = loaded
            versions[name] = meta.version
        stages[name] = stage.apply_policy(settings).bind(services)
    return Pipeline(stages, embedder, settings.pipeline, versions)
