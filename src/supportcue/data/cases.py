"""Cases and the suggestions made for them."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from supportcue.data.database import Database, where_equal
from supportcue.data.reporting import from_traffic
from supportcue.data.tables import Assignment, Case, ConversationMessage, Suggestion, SuggestionClaim, utcnow
from supportcue.vocab import MessageRole, SuggestionMode

_CASE_COLUMNS = [
    "channel",
    "message",
    "context",
    "customer_name",
    "fields",
    "created_at",
    "status",
    "purged_at",  # a re-imported case has its text again
]


IMPORT_TIME = "created_at_if_new"
"""A case row's date when its file gives none: the time it was read (in file order, the only order an
undated history has), used for a new case only."""


class Cases:
    def __init__(self, db: Database) -> None:
        self.db = db

    def upsert(self, rows: Sequence[Mapping[str, Any]], session: Session | None = None) -> int:
        """Insert cases by external id; a re-import updates the stored case's columns the row has. A row with
        `IMPORT_TIME` instead of `created_at` (a file without dates) dates a new case by it and keeps
        a stored case's date (an experiment tells new cases by it). A row without an `arm` keeps the
        case's, or gets the arm the case was assigned (`experiments.record` sets it only on a case
        stored by then: the service may see a case before it is imported)."""
        with self.db.session(session) as s:
            # rows upserted together when they update the same columns: a stored case's date only
            # from a row that has one, its arm only from a row that names one (the team's record),
            # its other columns only from rows that have them (a new case gets their defaults)
            groups: dict[tuple[bool, bool, frozenset[str]], list[dict[str, Any]]] = {}
            for r in rows:
                dated = IMPORT_TIME not in r
                row = (
                    dict(r)
                    if dated
                    else {**{k: v for k, v in r.items() if k != IMPORT_TIME}, "created_at": r[IMPORT_TIME]}
                )
                groups.setdefault((dated, bool(r.get("arm")), frozenset(r)), []).append(row)
            stored = 0
            for (dated, armed, given), group in groups.items():
                columns = [
                    c
                    for c in _CASE_COLUMNS
                    if (c in given or c == "purged_at") and (dated or c != "created_at")
                ] + (["arm"] if armed else [])
                stored += self.db.upsert(Case, group, ["id"], columns, session=s)
            first_arm = (
                select(Assignment.arm)
                .where(Assignment.case_id == Case.id)
                .order_by(Assignment.assigned_at)
                .limit(1)
                .scalar_subquery()
            )
            bare = [str(r["id"]) for r in rows if not r.get("arm")]
            for at in range(0, len(bare), 500):
                s.execute(
                    update(Case)
                    .where(
                        Case.id.in_(bare[at : at + 500]),
                        Case.arm.is_(None),
                        exists().where(Assignment.case_id == Case.id),
                    )
                    .values(arm=first_arm)
                )
        return stored

    def get(self, case_id: str) -> Case | None:
        return self.db.get(Case, case_id)

    def details(self, case_id: str) -> tuple[str | None, dict[str, Any]] | None:
        """The stored case's customer name and fields (what fills an answer's placeholders), read by
        primary key without the rest of the row; None when no case is stored with that id."""
        with self.db.session() as s:
            found = s.execute(select(Case.customer_name, Case.fields).where(Case.id == case_id)).first()
        return None if found is None else (found.customer_name, dict(found.fields or {}))

    def list(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        status: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
        include_purged: bool = False,
        after: tuple[datetime, str] | None = None,
    ) -> builtins.list[Case]:
        """Cases by creation time (oldest first unless `newest_first`), optionally filtered; cases
        whose text was purged are left out unless `include_purged` (nothing learns from them).
        `after`: the (created_at, id) of the last case of the page before (keyset paging: the cases
        that come after it in this order, ties on the time told apart by id)."""
        q = where_equal(select(Case), (Case.status, status))
        if not include_purged:
            q = q.where(Case.purged_at.is_(None))
        if since:
            q = q.where(Case.created_at >= since)
        if until:
            q = q.where(Case.created_at < until)
        if after:
            at, last_id = after
            past = Case.created_at < at if newest_first else Case.created_at > at
            q = q.where(or_(past, (Case.created_at == at) & (Case.id > last_id)))
        q = q.order_by(Case.created_at.desc() if newest_first else Case.created_at, Case.id)
        return self.db.all(q.limit(limit) if limit else q)

    def count(self, status: str | None = None, include_purged: bool = False) -> int:
        """How many cases `list` would give without a limit (of every time)."""
        q = where_equal(select(func.count()).select_from(Case), (Case.status, status))
        if not include_purged:
            q = q.where(Case.purged_at.is_(None))
        return int(self.db.first(q) or 0)

    def set_status(self, case_id: str, status: str) -> None:
        """The console's change (an agent's Resolve): applies now, whatever came before."""
        with self.db.session() as s:
            s.execute(
                update(Case).where(Case.id == case_id).values(status=status, status_changed_at=utcnow())
            )

    def follow_status(self, case_id: str, status: str, at: datetime, session: Session | None = None) -> bool:
        """Set the case's status as a help desk changed it at `at`, unless the case shows a later
        change (webhooks arrive late, twice and out of order: the latest change wins, and applying one
        again changes nothing); whether it was set (False too for a case not stored). One statement:
        concurrent changes cannot interleave. `session`: the caller's transaction (an import's)."""
        shown = Case.status_changed_at
        with self.db.session(session) as s:
            changed = s.execute(
                update(Case)
                .where(Case.id == case_id, or_(shown.is_(None), shown <= at))
                .values(status=status, status_changed_at=at)
                .returning(Case.id)  # rowcount is not reliable on every driver
            )
            return changed.first() is not None

    # -- suggestions -----------------------------------------------------------------------------
    def add_suggestions(self, rows: Sequence[Mapping[str, Any]], session: Session | None = None) -> int:
        """Store suggestions (with their traces); a repeated id keeps the stored one."""
        return self.db.upsert(Suggestion, rows, ["id"], session=session)

    def add_shadow(self, suggestion_id: str, shadow: dict[str, Any], trace: Sequence[Any], mode: str) -> None:
        """A stored suggestion's shadow chain, run after its agent was answered: its part of the
        trace, `shadow`, and `mode` (shadow when only that chain made a suggestion)."""
        with self.db.session() as s:
            s.execute(
                update(Suggestion)
                .where(Suggestion.id == suggestion_id)
                .values(shadow=shadow, trace=trace, mode=mode)
            )

    def suggestion(self, suggestion_id: str) -> Suggestion | None:
        return self.db.get(Suggestion, suggestion_id)

    def suggestion_messages(self, ids: Sequence[str]) -> dict[str, str]:
        """The customer message each of these suggestions kept (masked), unless purged or not kept."""
        out: dict[str, str] = {}
        with self.db.session() as s:
            for start in range(0, len(ids), 500):
                q = select(Suggestion.id, Suggestion.message).where(
                    Suggestion.id.in_(list(ids[start : start + 500])),
                    Suggestion.message.is_not(None),
                    Suggestion.purged_at.is_(None),
                )
                out.update({sid: message for sid, message in s.execute(q) if message})
        return out

    def suggestion_for_message(self, case_id: str, message_key: str) -> Suggestion | None:
        """The newest suggestion made for one customer message of a case (None if there is none)."""
        q = (
            select(Suggestion)
            .where(Suggestion.case_id == case_id, Suggestion.message_key == message_key, from_traffic())
            .order_by(Suggestion.created_at.desc(), Suggestion.id)
        )
        return self.db.first(q)

    def suggestions_of(self, case_id: str, limit: int) -> builtins.list[Suggestion]:
        """The case's suggestions made for traffic (not a back-fill), newest first, `limit` of them."""
        q = select(Suggestion).where(Suggestion.case_id == case_id, from_traffic())
        return self.db.all(q.order_by(Suggestion.created_at.desc(), Suggestion.id.desc()).limit(limit))

    def claim_message(self, case_id: str, message_key: str, owner: str, lease_s: float) -> bool:
        """True when `owner` now makes the suggestion for this customer message: it inserted the claim,
        or took over one older than `lease_s` seconds (its maker died or hung). False: another process
        is making it. The primary key decides between processes that ask at the same moment."""
        now = utcnow()
        with self.db.session() as s:
            inserted = s.execute(
                self.db.insert(SuggestionClaim)
                .values(case_id=case_id, message_key=message_key, owner=owner, claimed_at=now)
                .on_conflict_do_nothing(index_elements=["case_id", "message_key"])
                .returning(SuggestionClaim.owner)  # rowcount is not reliable on every driver
            )
            if inserted.first() is not None:
                return True
            taken = s.execute(
                update(SuggestionClaim)
                .where(
                    SuggestionClaim.case_id == case_id,
                    SuggestionClaim.message_key == message_key,
                    SuggestionClaim.claimed_at < now - timedelta(seconds=lease_s),
                )
                .values(owner=owner, claimed_at=now)
                .returning(SuggestionClaim.owner)
            )
            return taken.first() is not None

    def release_message(self, case_id: str, message_key: str, owner: str) -> None:
        """Drop `owner`'s claim on the message (once its suggestion is stored, or it gave up)."""
        with self.db.session() as s:
            s.execute(
                delete(SuggestionClaim).where(
                    SuggestionClaim.case_id == case_id,
                    SuggestionClaim.message_key == message_key,
                    SuggestionClaim.owner == owner,
                )
            )

    def latest_suggestion(
        self, case_id: str, live: bool = False, asked_by: datetime | None = None
    ) -> Suggestion | None:
        """The case's newest suggestion made for traffic (not a back-fill); with `live`, the newest one
        that had a text to show. With `asked_by`, only suggestions made for the case's customer turns
        sent at or before that time, newest turn first (what was on screen when a reply sent then was
        written, whatever order the turns arrived in); None when there is none."""
        q = select(Suggestion).where(Suggestion.case_id == case_id, from_traffic())
        if live:
            q = q.where(Suggestion.mode == SuggestionMode.LIVE)
        if asked_by is not None:
            turn = ConversationMessage
            q = q.join(turn, turn.suggestion_id == Suggestion.id).where(
                turn.case_id == case_id, turn.role == MessageRole.CUSTOMER, turn.ts <= asked_by
            )
            return self.db.first(q.order_by(turn.ts.desc(), turn.id.desc()))
        return self.db.first(q.order_by(Suggestion.created_at.desc(), Suggestion.id.desc()))

    def stored_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of `ids` are stored cases."""
        return self._stored(Case.id, ids)

    def stored_suggestion_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of `ids` are stored suggestions (a re-run back-fill skips them)."""
        return self._stored(Suggestion.id, ids)

    def suggestion_times(self, ids: Sequence[str]) -> dict[str, datetime]:
        """When each of `ids` that is a stored suggestion was made, asked 900 at a time."""
        found: dict[str, datetime] = {}
        for start in range(0, len(ids), 900):
            chunk = builtins.list(ids[start : start + 900])
            with self.db.session() as s:
                q = select(Suggestion.id, Suggestion.created_at).where(Suggestion.id.in_(chunk))
                found.update((i, t) for i, t in s.execute(q))
        return found

    def fields_of(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The fields of those of `ids` that are stored cases, asked 900 at a time."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 900):
            chunk = builtins.list(ids[start : start + 900])
            with self.db.session() as s:
                found.update(
                    (i, f or {}) for i, f in s.execute(select(Case.id, Case.fields).where(Case.id.in_(chunk)))
                )
        return found

    def _stored(self, column: Any, ids: Sequence[str]) -> set[str]:
        """Which of `ids` are values of `column`, asked 900 at a time (SQLite's bound-parameter limit)."""
        found: set[str] = set()
        for start in range(0, len(ids), 900):
            chunk = builtins.list(ids[start : start + 900])
            found.update(self.db.all(select(column).where(column.in_(chunk))))
        return found
