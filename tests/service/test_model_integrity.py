"""Model files are code: a tampered or swapped artifact never loads as "ready" (issue 9, item 7).

Each version's SHA-256 and stage kind are stored when it is written; loading hashes the file first,
then unpickles it and checks its kind. A mismatch fails the load and /readyz answers 503 with the
reason, naming the stage and the version (never the server's paths).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import joblib
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from typer.testing import CliRunner

from supportcue.cli import app as app_cli
from supportcue.data.store import Store
from supportcue.data.tables import ModelVersion
from supportcue.errors import ModelIntegrityError, ModelNotFoundError
from supportcue.pipeline import Pipeline
from supportcue.service.runtime import PipelineLoader
from supportcue.settings import Settings
from supportcue.stages.topic import TopicStage
from supportcue.stages.validation import ValidationStage
from supportcue.training.loader import load_pipeline
from supportcue.training.registry import save_version
from tests.conftest import LiveServer
from tests.service.conftest import wait_loaded
from tests.stages.test_contract import EMBEDDER, LABELS, NOISE, TEXTS, msgs


def hashing_pipeline(store: Store, settings: Settings) -> Pipeline:
    """The workspace's live models, as `serve` loads them, with the test embedder."""
    return load_pipeline(store, settings, EMBEDDER)


def _train(store: Store, models: Path) -> dict[str, Path]:
    """Live validation and topic models (v1 each); their artifact paths by stage."""
    validation = ValidationStage().fit(msgs(TEXTS + NOISE), ["valid"] * len(TEXTS) + ["invalid"] * len(NOISE))
    topic = TopicStage().fit(msgs(TEXTS), LABELS)
    paths = {}
    for stage in (validation, topic):
        mv = save_version(store, models, stage, "fp", {}, {})
        store.models.promote(stage.name, mv.version)
        paths[stage.name] = Path(mv.artifact_path)
    return paths


@pytest.fixture
def trained(make_app: Callable[[PipelineLoader], FastAPI], tmp_path: Path) -> tuple[FastAPI, dict[str, Path]]:
    app = make_app(hashing_pipeline)
    return app, _train(app.state.runtime.store, tmp_path / "models")


def _readyz(app: FastAPI) -> httpx.Response:
    with LiveServer(app) as live:
        wait_loaded(app)
        return httpx.get(f"{live.url}/readyz", timeout=10)


def test_untouched_models_are_ready(trained: tuple[FastAPI, dict[str, Path]]) -> None:
    app, _ = trained
    response = _readyz(app)
    assert response.status_code == 200, response.text
    assert response.json()["models"]["validation"] == "v1"
    assert response.json()["models"]["topic"] == "v1"


def test_a_moved_workspace_loads_its_own_models(store: Store, tmp_path: Path) -> None:
    """`mv demo-workspace demo` and serve: 503 "validation v1: its artifact models/validation/v1.joblib
    is missing" while it was there; the registry had recorded the file's absolute path only. A copy
    of a workspace read the original's files. Its own file is read, its SHA-256 still checked."""
    from supportcue.settings import init_workspace, load_settings

    try:  # the app's store: the app is not started, so nothing else closes it
        init_workspace(tmp_path / "before")
        paths = _train(store, tmp_path / "before" / "models")
        (tmp_path / "before").rename(tmp_path / "after")
        moved = load_pipeline(store, load_settings(tmp_path / "after", environ={}), EMBEDDER)
        assert moved.versions == {"validation": "v1", "topic": "v1", "tone": "policy"}
        shutil.copytree(tmp_path / "after", tmp_path / "copy")
        models = tmp_path / "copy" / "models"
        shutil.copyfile(
            models / "topic" / paths["topic"].name, models / "validation" / paths["validation"].name
        )
        with pytest.raises(ModelIntegrityError, match="validation v1: the artifact's SHA-256 differs"):
            load_pipeline(store, load_settings(tmp_path / "copy", environ={}), EMBEDDER)
    finally:
        store.close()


def test_a_topic_artifact_in_the_validation_slot_is_refused(
    trained: tuple[FastAPI, dict[str, Path]],
) -> None:
    app, paths = trained
    shutil.copyfile(paths["topic"], paths["validation"])
    response = _readyz(app)
    assert response.status_code == 503, response.text
    reason = response.json()["reason"]
    assert "validation v1" in reason, reason
    assert str(paths["validation"].parent) not in reason  # no server paths in a public body


def test_a_topic_artifact_in_the_validation_slot_with_a_matching_hash_is_refused(
    trained: tuple[FastAPI, dict[str, Path]],
) -> None:
    """Whoever can write the database as well as the file still cannot swap a stage's kind."""
    app, paths = trained
    shutil.copyfile(paths["topic"], paths["validation"])
    store: Store = app.state.runtime.store
    topic = store.models.get("topic", "v1")
    assert topic is not None
    with store.db.session() as s:
        s.execute(update(ModelVersion).where(ModelVersion.stage == "validation").values(sha256=topic.sha256))
    response = _readyz(app)
    assert response.status_code == 503, response.text
    reason = response.json()["reason"]
    assert "validation v1" in reason and "TopicStage" in reason, reason


def test_tampered_bytes_are_refused_before_unpickling(
    trained: tuple[FastAPI, dict[str, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, paths = trained
    with paths["topic"].open("ab") as handle:
        handle.write(b"\x00")
    unpickled: list[str] = []
    real_load = joblib.load

    def spy(*args: Any, **kwargs: Any) -> Any:
        obj = real_load(*args, **kwargs)
        unpickled.append(type(obj).__name__)
        return obj

    monkeypatch.setattr(joblib, "load", spy)
    response = _readyz(app)
    assert response.status_code == 503, response.text
    reason = response.json()["reason"]
    assert "topic v1" in reason and "SHA-256" in reason, reason
    assert unpickled == ["ValidationStage"]  # the tampered topic file was never unpickled


def test_a_version_written_before_checksums_loads_and_is_reported_unverified(
    trained: tuple[FastAPI, dict[str, Path]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Refusing them would take every upgraded workspace's service down until it retrains; their
    kind is still checked, and `models` and the log say they are unverified."""
    app, _ = trained
    store: Store = app.state.runtime.store
    with store.db.session() as s:
        s.execute(update(ModelVersion).where(ModelVersion.stage == "topic").values(sha256=None, kind=None))
    with caplog.at_level(logging.WARNING, logger="supportcue"):
        response = _readyz(app)
    assert response.status_code == 200, response.text
    assert any("topic v1: no SHA-256 recorded" in r.getMessage() for r in caplog.records)

    environ = {"SUPPORTCUE_DATABASE_URL": str(store.db.engine.url.render_as_string(hide_password=False))}
    result = CliRunner().invoke(app_cli, ["--workspace", str(tmp_path), "models", "--json"], env=environ)
    assert result.exit_code == 0, result.output
    rows = {m["stage"]: m for m in json.loads(result.output.splitlines()[-1])}
    assert rows["topic"]["verified"] is False and rows["topic"]["sha256"] is None
    assert rows["validation"]["verified"] is True and len(rows["validation"]["sha256"]) == 64


def test_a_model_saved_by_an_earlier_release_is_refused_saying_to_retrain(
    trained: tuple[FastAPI, dict[str, Path]],
) -> None:
    """A validation model pickled by a release before `combiner_` existed loaded as ready, and then
    every suggestion abstained with "error in validation stage: AttributeError: 'ValidationStage'
    object has no attribute 'combiner_'", with nothing telling the operator to retrain."""
    import hashlib

    app, paths = trained
    old = joblib.load(paths["validation"])
    del old.combiner_  # as an earlier release saved it
    joblib.dump(old, paths["validation"])
    store: Store = app.state.runtime.store
    digest = hashlib.sha256(paths["validation"].read_bytes()).hexdigest()  # that release recorded it
    with store.db.session() as s:
        s.execute(update(ModelVersion).where(ModelVersion.stage == "validation").values(sha256=digest))
    response = _readyz(app)
    assert response.status_code == 503, response.text
    reason = response.json()["reason"]
    assert "validation v1" in reason and "earlier release" in reason and "combiner_" in reason, reason
    assert "supportcue train --stage validation" in reason and "supportcue promote validation" in reason


def _says_the_way_back(reason: str, stage: str) -> None:
    """A retrained version is a candidate until promoted: the message names all three commands."""
    assert f"supportcue train --stage {stage}" in reason, reason
    assert f"supportcue promote {stage} VERSION" in reason, reason
    assert f"supportcue rollback {stage}" in reason, reason


@pytest.mark.parametrize("damage", ["changed", "swapped", "missing"])
def test_every_refused_model_file_names_retrain_then_promote_or_roll_back(
    store: Store, tmp_path: Path, damage: str
) -> None:
    """The refusals said "retrain (`supportcue train --stage topic`) or roll back": the retrained
    version stayed a candidate and the service kept refusing, since nothing said to promote it."""
    from supportcue.training.registry import load_artifact

    paths = _train(store, tmp_path / "models")
    if damage == "changed":
        with paths["topic"].open("ab") as handle:
            handle.write(b"\x00")
    elif damage == "swapped":  # with its hash recorded too: the kind check refuses it
        shutil.copyfile(paths["validation"], paths["topic"])
        validation = store.models.get("validation", "v1")
        assert validation is not None
        with store.db.session() as s:
            topic = update(ModelVersion).where(ModelVersion.stage == "topic")
            s.execute(topic.values(sha256=validation.sha256))
    else:
        paths["topic"].unlink()
    version = store.models.get("topic", "v1")
    assert version is not None
    with pytest.raises((ModelIntegrityError, ModelNotFoundError)) as refused:
        load_artifact(version, tmp_path / "models")
    _says_the_way_back(str(refused.value), "topic")


def test_a_model_trained_on_other_vectors_names_retrain_then_promote() -> None:
    from supportcue.errors import SettingsError
    from supportcue.training.loader import check_embedder

    with pytest.raises(SettingsError) as refused:
        check_embedder("topic", "v1", {"embedder": "all-MiniLM-L6-v2"}, EMBEDDER)
    assert "supportcue promote topic VERSION" in str(refused.value), refused.value
