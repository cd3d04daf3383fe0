"""What agents and the help desk did with cases and suggestions, stored once per idempotency key."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from supportcue.data.database import Database, where_equal
from supportcue.data.tables import Event


class Events:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, row: Mapping[str, Any]) -> tuple[Event, bool]:
        """Store an event once per idempotency key; returns (stored event, created now?)."""
        stmt = (
            self.db.insert(Event)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(Event.id)
        )
        with self.db.session() as s:
            created = s.execute(stmt).first() is not None
            stored = s.scalars(select(Event).where(Event.idempotency_key == row["idempotency_key"])).one()
            return stored, created

    def add_many(
        self,
        rows: Sequence[Mapping[str, Any]],
        update_columns: Sequence[str] | None = None,
        session: Session | None = None,
    ) -> int:
        """Store events by idempotency key; a repeat updates `update_columns` (or changes nothing)."""
        return self.db.upsert(Event, rows, ["idempotency_key"], update_columns, session=session)

    def list(self, case_id: str | None = None, kind: str | None = None) -> builtins.list[Event]:
        q = select(Event).order_by(Event.ts, Event.id)
        return self.db.all(where_equal(q, (Event.case_id, case_id), (Event.kind, kind)))
