"""What agents and the help desk did with cases and suggestions, stored once per caller and
idempotency key.

Keys are scoped to the caller that sent them, so no caller can pre-empt (or read back) another's
event. `INTERNAL` is the caller of supportcue's own writers (the importer, the demo loader) and of
every event stored before callers existed; the service never gives an API caller that id.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from supportcue.data.database import Database, where_equal
from supportcue.data.tables import Event

INTERNAL = ""
KEY = ["caller", "idempotency_key"]


class Events:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, row: Mapping[str, Any]) -> tuple[Event, bool]:
        """Store an event once per (caller, idempotency key), atomically: returns the stored event
        (this one, or the one stored first with the same key) and whether this one was stored now."""
        row = {"caller": INTERNAL, **row}
        stmt = (
            self.db.insert(Event).values(**row).on_conflict_do_nothing(index_elements=KEY).returning(Event.id)
        )
        with self.db.session() as s:
            created = s.execute(stmt).first() is not None
            stored = s.scalars(
                select(Event).where(
                    Event.caller == row["caller"], Event.idempotency_key == row["idempotency_key"]
                )
            ).one()
            return stored, created

    def get(self, caller: str, idempotency_key: str) -> Event | None:
        """The event stored under (caller, key), if any."""
        q = select(Event).where(Event.caller == caller, Event.idempotency_key == idempotency_key)
        return self.db.first(q)

    def add_many(
        self,
        rows: Sequence[Mapping[str, Any]],
        update_columns: Sequence[str] | None = None,
        session: Session | None = None,
    ) -> int:
        """Store events by (caller, idempotency key), the caller `INTERNAL` unless a row says; a repeat
        updates `update_columns` (or changes nothing)."""
        rows = [{"caller": INTERNAL, **r} for r in rows]
        return self.db.upsert(Event, rows, KEY, update_columns, session=session)

    def of_suggestions(self, case_id: str, ids: Sequence[str], limit: int) -> builtins.list[Event]:
        """The case's events that name one of the suggestions `ids`, oldest first, `limit` at most."""
        if not ids:
            return []
        q = select(Event).where(Event.case_id == case_id, Event.suggestion_id.in_(builtins.list(ids)))
        return self.db.all(q.order_by(Event.ts, Event.id).limit(limit))

    def list(self, case_id: str | None = None, kind: str | None = None) -> builtins.list[Event]:
        q = select(Event).order_by(Event.ts, Event.id)
        return self.db.all(where_equal(q, (Event.case_id, case_id), (Event.kind, kind)))
