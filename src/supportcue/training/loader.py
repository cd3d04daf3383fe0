"""Assemble the pipeline a workspace serves: every registered stage kind, in order, with its live
model version (or built from the settings, for kinds that learn nothing), its policy read from the
current settings, and its services bound: the embedder, the live answer library and KB articles, the
LLM client (when a mode uses it), the clock. A kind the settings leave out (`enabled`) is off; one
that learns nothing is versioned by its policy (`policy_version`).

With nothing trained the pipeline is not built at all (`NoTrainedModel`: "no trained model: run
supportcue train"), so `serve` and `suggest` say so instead of abstaining at some stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from supportcue.data.store import Store
from supportcue.embeddings import CachedEmbedder, Embedder, make_embedder
from supportcue.errors import NoTrainedModel, SettingsError
from supportcue.llm.client import make_client
from supportcue.pipeline import Pipeline
from supportcue.providers import StoreArticles, StoreLibrary
from supportcue.settings import Settings
from supportcue.stages import registry
from supportcue.stages.base import Services, Stage
from supportcue.training.registry import load_live
from supportcue.vocab import ModelStatus, StageMode


def workspace_embedder(
    settings: Settings, cache: bool | None = None, cache_dir: Path | None = None
) -> Embedder:
    """The embedder `[embedding]` asks for; vectors cached in `cache_dir` (default: the workspace's
    cache/) unless `cache` (default: the setting) says not to."""
    embedding = settings.embedding
    use_cache = embedding.cache if cache is None else cache
    return make_embedder(
        embedding.model,
        cache_dir=(cache_dir or settings.cache_dir) if use_cache else None,
        batch_size=embedding.batch_size,
        backend=embedding.backend,
        quantize=embedding.quantize,
        device=embedding.device,
        spelling=embedding.spelling,
        known_words=embedding.known_words,
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


def check_embedder(stage: str, version: str, metrics: dict[str, Any], embedder: Embedder) -> None:
    """Refuse to serve a model with an embedder other than the one it was trained with (recorded in
    its metrics since issue 15; older versions carry no record and are not checked): the vectors
    would differ, e.g. after `[embedding] quantize` changed, and every prediction would be off."""
    trained = metrics.get("embedder")
    if trained is not None and trained != embedder.name:
        raise SettingsError(
            f"{stage} {version} was trained on {trained} vectors, but [embedding] now gives "
            f"{embedder.name}: retrain (`supportcue train`) and put the new versions live "
            f"(`supportcue promote {stage} VERSION`, and so for each stage `train` leaves a "
            f"candidate), or set [embedding] back "
            f"(quantize = {str(trained.endswith('-int8')).lower()} for {trained})"
        )


NO_TRAINED_MODEL = "no trained model: run supportcue train"


def no_live_model_reason(store: Store, stages: list[str]) -> str | None:
    """Why the pipeline cannot suggest: no stage that learns was trained, or one was but none of its
    versions is live (the gate kept them candidates); None when every trained stage has a live one."""
    versions = [v for v in store.models.list() if v.stage in stages]
    if not versions:
        return NO_TRAINED_MODEL
    live = {v.stage for v in versions if v.status == ModelStatus.LIVE}
    latest = {v.stage: v for v in versions if v.stage not in live}  # listed oldest first
    reasons = [
        f"no live {v.stage} model: {v.stage} {v.version} is a {v.status} that did not clear the gate "
        f"(`supportcue train` says why; `supportcue models` lists the versions); "
        f"`supportcue promote {v.stage} {v.version} --force` puts it live anyway, or set [pipeline] "
        f'{v.stage} = "off"'
        for v in latest.values()
    ]
    return "; ".join(reasons) or None


def check_stage_names(settings: Settings) -> None:
    """Refuse a `[pipeline]` mode for a stage that is not registered: `tonne = "shadow"` would
    otherwise be accepted and change nothing, leaving the tone live while it was meant to be on
    trial. Checked here, not in `settings.py`, because the registry (which a new kind joins) is the
    one list of stage names."""
    for key in settings.pipeline.model_extra or {}:
        if key not in registry.names():
            raise SettingsError(
                f"{settings.source(f'pipeline.{key}')}: setting pipeline.{key}: no stage is called "
                f"{key!r}; the stages: {', '.join(registry.names())}"
            )


def load_pipeline(store: Store, settings: Settings, embedder: Embedder | None = None) -> Pipeline:
    """The workspace's stages (a stage never trained, or switched off, is off). `NoTrainedModel` when
    no stage that learns was trained, or one was and the gate kept every version a candidate: the
    reason says what to do, where a pipeline without it would only abstain."""
    check_stage_names(settings)
    learning = [n for n in registry.trainable() if settings.pipeline.mode(n) != StageMode.OFF]
    reason = no_live_model_reason(store, learning) if learning else None
    if reason:
        raise NoTrainedModel(reason)
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
            loaded = load_live(store, name, settings.models_dir)
            if loaded is None:
                continue
            stage, meta = loaded
            check_embedder(meta.stage, meta.version, meta.metrics, embedder)
            versions[name] = meta.version
        stages[name] = stage.apply_policy(settings).bind(services)
    return Pipeline(stages, embedder, settings.pipeline, versions)
