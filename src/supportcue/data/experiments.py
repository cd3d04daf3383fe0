"""Experiments (the arms and their traffic shares)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from supportcue.data.database import Database
from supportcue.data.tables import Experiment


class Experiments:
    def __init__(self, db: Database) -> None:
        self.db = db

    def upsert(self, row: Mapping[str, Any]) -> None:
        self.db.upsert(Experiment, [row], ["key"], ["name", "description", "arms", "status", "ended_at"])

    def list(self) -> builtins.list[Experiment]:
        return self.db.all(select(Experiment).order_by(Experiment.started_at))
