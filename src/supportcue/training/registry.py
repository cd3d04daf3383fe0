"""The model registry: versioned stage artifacts in `models/`, their metadata in the store.

A version is `v1`, `v2`, ... per stage. `promote` makes one live and keeps the previous one (status
`previous`) for rollback; `rollback` brings the most recent `previous` back and retires the live one.
The promotion gate lives in `training/trainer.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from supportcue.data.store import Store
from supportcue.data.tables import ModelVersion
from supportcue.errors import ModelNotFoundError
from supportcue.stages.base import Stage
from supportcue.vocab import ModelStatus


def next_version(store: Store, stage: str) -> str:
    taken = {m.version for m in store.models.list(stage)}
    n = len(taken) + 1
    while f"v{n}" in taken:
        n += 1
    return f"v{n}"


def save_version(
    store: Store,
    models_dir: Path,
    stage: Stage,
    fingerprint: str,
    params: dict[str, Any],
    metrics: dict[str, Any],
) -> ModelVersion:
    """Write the artifact and record a candidate model version."""
    version = next_version(store, stage.name)
    path = stage.save(models_dir / stage.name / f"{version}.joblib")
    return store.models.add(
        {
            "stage": stage.name,
            "version": version,
            "artifact_path": str(path.resolve()),
            "fingerprint": fingerprint,
            "params": params,
            "metrics": metrics,
            "status": ModelStatus.CANDIDATE,
        }
    )


def get_version(store: Store, stage: str, version: str) -> ModelVersion:
    found = store.models.get(stage, version)
    if found is None:
        known = ", ".join(m.version for m in store.models.list(stage)) or "none"
        raise ModelNotFoundError(f"no {stage} model {version!r}; known versions: {known}")
    return found


def load_artifact(version: ModelVersion) -> Stage:
    path = Path(version.artifact_path)
    if not path.exists():
        raise ModelNotFoundError(f"{version.stage} {version.version}: artifact {path} is missing")
    return Stage.load(path)


def load_live(store: Store, stage: str) -> tuple[Stage, ModelVersion] | None:
    """The live model of a stage with its metadata, or None when nothing is live yet."""
    live = store.models.live(stage)
    if live is None:
        return None
    return load_artifact(live), live


def rollback(store: Store, stage: str) -> tuple[ModelVersion, ModelVersion]:
    """Make the most recently replaced (`previous`) version live again and retire the live one, in
    one transaction. Returns (restored, retired); an error names what is missing."""
    return store.models.rollback(stage)
