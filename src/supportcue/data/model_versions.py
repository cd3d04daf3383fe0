"""The model registry: every trained stage version, and which one is live."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update

from supportcue.data.database import Database, where_equal
from supportcue.data.tables import ModelVersion, utcnow
from supportcue.errors import ModelNotFoundError
from supportcue.vocab import ModelStatus


class ModelVersions:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, row: Mapping[str, Any]) -> ModelVersion:
        with self.db.session() as s:
            mv = ModelVersion(**row)
            s.add(mv)
            s.flush()
            return mv

    def list(self, stage: str | None = None) -> builtins.list[ModelVersion]:
        q = select(ModelVersion).order_by(ModelVersion.stage, ModelVersion.created_at, ModelVersion.id)
        return self.db.all(where_equal(q, (ModelVersion.stage, stage)))

    def get(self, stage: str, version: str) -> ModelVersion | None:
        q = select(ModelVersion).where(ModelVersion.stage == stage, ModelVersion.version == version)
        return self.db.first(q)

    def live(self, stage: str) -> ModelVersion | None:
        q = select(ModelVersion).where(ModelVersion.stage == stage, ModelVersion.status == ModelStatus.LIVE)
        return self.db.first(q.order_by(ModelVersion.promoted_at.desc()))

    def live_versions(self) -> dict[str, str]:
        """{stage: live version}: one small query, which a running server polls to follow promotions."""
        q = (
            select(ModelVersion.stage, ModelVersion.version)
            .where(ModelVersion.status == ModelStatus.LIVE)
            .order_by(ModelVersion.stage, ModelVersion.promoted_at)
        )
        with self.db.session() as s:
            return {stage: version for stage, version in s.execute(q)}

    def promote(self, stage: str, version: str) -> ModelVersion:
        """Make one version live; the previous live one becomes `previous` (kept for rollback)."""
        with self.db.session() as s:
            target = s.scalars(
                select(ModelVersion).where(ModelVersion.stage == stage, ModelVersion.version == version)
            ).one()
            s.execute(
                update(ModelVersion)
                .where(
                    ModelVersion.stage == stage,
                    ModelVersion.status == ModelStatus.LIVE,
                    ModelVersion.id != target.id,
                )
                .values(status=ModelStatus.PREVIOUS)
            )
            target.status = ModelStatus.LIVE
            target.promoted_at = utcnow()
            s.flush()
            return target

    def rollback(self, stage: str) -> tuple[ModelVersion, ModelVersion]:
        """Make the most recently replaced (`previous`) version live again and retire the live one, in
        one transaction. Returns (restored, retired); an error names what is missing."""
        with self.db.session() as s:
            versions = builtins.list(s.scalars(select(ModelVersion).where(ModelVersion.stage == stage)))
            live = [v for v in versions if v.status == ModelStatus.LIVE]
            if not live:
                known = ", ".join(f"{v.version} ({v.status})" for v in versions) or "none"
                raise ModelNotFoundError(f"no live {stage} model to roll back; versions: {known}")
            previous = [v for v in versions if v.status == ModelStatus.PREVIOUS]
            if not previous:
                raise ModelNotFoundError(
                    f"{stage} {live[0].version} is live and no earlier version is kept to roll back to "
                    "(a version becomes `previous` when another is promoted over it)"
                )
            restored = max(previous, key=lambda v: (v.promoted_at or v.created_at, v.id))
            for v in live:
                v.status = ModelStatus.RETIRED
            restored.status = ModelStatus.LIVE
            restored.promoted_at = utcnow()
            s.flush()
            return restored, live[0]
