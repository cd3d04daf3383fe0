"""The model registry: versioned stage artifacts in `models/`, their metadata in the store.

A version is `v1`, `v2`, ... per stage. `promote` makes one live and keeps the previous one (status
`previous`) for rollback; `rollback` brings the most recent `previous` back and retires the live one.
The promotion gate lives in `training/trainer.py` (`Trainer.promote`) and its floors in `gate.py`; a
running server follows the live versions (`service/runtime.py`).

Model files are pickles, that is code: each version records its file's SHA-256 and its stage kind
when written, and loading checks both (the hash before unpickling, the kind after) and raises
`ModelIntegrityError` on a mismatch. Versions written before the hash was kept load with a warning
(their kind is still checked); `supportcue models` shows them as unverified.
"""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path
from typing import Any

import joblib

from supportcue.data.store import Store
from supportcue.data.tables import ModelVersion
from supportcue.errors import ModelIntegrityError, ModelNotFoundError
from supportcue.stages import registry
from supportcue.stages.base import Stage
from supportcue.vocab import ModelStatus

log = logging.getLogger(__name__)


def next_version(store: Store, stage: str) -> str:
    taken = {m.version for m in store.models.list(stage)}
    n = len(taken) + 1
    while f"v{n}" in taken:
        n += 1
    return f"v{n}"


def kind_name(cls: type) -> str:
    """How the registry records a stage kind: `module.Class`."""
    return f"{cls.__module__}.{cls.__qualname__}"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_version(
    store: Store,
    models_dir: Path,
    stage: Stage,
    fingerprint: str,
    params: dict[str, Any],
    metrics: dict[str, Any],
) -> ModelVersion:
    """Write the artifact and record a candidate model version with the file's SHA-256 and kind."""
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
            "sha256": file_sha256(path),
            "kind": kind_name(type(stage)),
        }
    )


def get_version(store: Store, stage: str, version: str) -> ModelVersion:
    found = store.models.get(stage, version)
    if found is None:
        known = ", ".join(m.version for m in store.models.list(stage)) or "none"
        raise ModelNotFoundError(f"no {stage} model {version!r}; known versions: {known}")
    return found


def _shown(path: Path) -> str:
    """The artifact's path under the workspace (`models/STAGE/VERSION.joblib`): errors reach /readyz,
    which must not show the server's absolute paths."""
    return str(Path(*path.parts[-3:]))


def artifact_file(version: ModelVersion, models_dir: Path | None = None) -> Path:
    """Where a version's file is: under the workspace's own `models_dir` when it is there, else at
    the absolute path recorded when it was written. A workspace moved, copied or restored elsewhere
    (`mv demo-workspace ...`) keeps its models; its copies no longer read the original's files. The
    SHA-256 recorded is checked whichever file it is."""
    recorded = Path(version.artifact_path)
    if models_dir is not None:
        own = models_dir / version.stage / recorded.name
        if own.is_file():
            return own
    return recorded


def way_back(stage: str) -> str:
    """What the operator does about a live version that cannot be loaded: retrain, then promote (a
    retrained version is a `candidate` until promoted, unless it is the stage's first), or roll back."""
    return (
        f"retrain (`supportcue train --stage {stage}`) and put the new version live "
        f"(`supportcue promote {stage} VERSION`: `train` leaves it a candidate), "
        f"or roll back (`supportcue rollback {stage}`)"
    )


def load_artifact(version: ModelVersion, models_dir: Path | None = None) -> Stage:
    """Read the artifact's bytes (`artifact_file`), check their SHA-256, unpickle those same bytes
    (so the file cannot change in between) and check the object is the stage kind registered for
    `version.stage`."""
    label = f"{version.stage} {version.version}"
    path = artifact_file(version, models_dir)
    fix = way_back(version.stage)
    if not path.is_file():
        raise ModelNotFoundError(f"{label}: its artifact {_shown(path)} is missing; {fix}")
    data = path.read_bytes()
    if version.sha256 is None:
        log.warning("%s: no SHA-256 recorded (written before checksums were kept); loading unverified", label)
    elif hashlib.sha256(data).hexdigest() != version.sha256:
        raise ModelIntegrityError(
            f"{label}: the artifact's SHA-256 differs from the one recorded when it was trained: "
            f"{_shown(path)} was changed or replaced, so it was not loaded; {fix}"
        )
    expected = registry.kind(version.stage)
    obj = joblib.load(io.BytesIO(data))
    found = kind_name(type(obj))
    if not isinstance(obj, expected) or (version.kind is not None and found != version.kind):
        raise ModelIntegrityError(
            f"{label}: the artifact holds a {type(obj).__name__}, not the {expected.__name__} "
            f"registered for {version.stage} ({version.kind or kind_name(expected)}); {fix}"
        )
    return obj


def load_live(store: Store, stage: str, models_dir: Path | None = None) -> tuple[Stage, ModelVersion] | None:
    """The live model of a stage with its metadata, or None when nothing is live yet (`models_dir`:
    the workspace's, looked in first, see `artifact_file`)."""
    live = store.models.live(stage)
    if live is None:
        return None
    return load_artifact(live, models_dir), live


def rollback(store: Store, stage: str) -> tuple[ModelVersion, ModelVersion]:
    """Make the most recently replaced (`previous`) version live again and retire the live one, in
    one transaction. Returns (restored, retired); an error names what is missing."""
    return store.models.rollback(stage)
