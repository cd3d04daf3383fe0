"""Labels from experts, SMEs, agents, weak supervision and models."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, aliased

from supportcue.data.database import Database, where_equal
from supportcue.data.tables import Label, utcnow
from supportcue.vocab import HUMAN_SOURCES

expired = aliased(Label)
_LABEL_COLUMNS = ["value", "confidence", "created_at", "expires_at", "version", "text", "case_id"]


class Labels:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self, rows: Sequence[Mapping[str, Any]], session: Session | None = None, keep_unnamed: bool = False
    ) -> int:
        """Store labels; the same (subject, task, source, annotator) replaces the older value. With
        `keep_unnamed` (an import), a stored label keeps the columns a row has no key for (a file
        without `confidence` or `expires_at` does not reset them); a new label gets their defaults."""
        rows = [{**r, "subject": r.get("subject") or r["case_id"]} for r in rows]
        keys = ["subject", "task", "source", "annotator"]
        if not keep_unnamed:
            return self.db.upsert(Label, rows, keys, _LABEL_COLUMNS, session=session)
        groups: dict[frozenset[str], list[Mapping[str, Any]]] = {}
        for row in rows:
            groups.setdefault(frozenset(row), []).append(row)
        with self.db.session(session) as s:
            for given, group in groups.items():
                columns = [c for c in _LABEL_COLUMNS if c in given]
                self.db.upsert(Label, group, keys, columns, session=s)
        return len(rows)

    def stored_keys(
        self, keys: Iterable[tuple[str, str, str, str]], session: Session | None = None
    ) -> set[tuple[str, str, str, str]]:
        """Which of these (subject, task, source, annotator) keys a stored label has."""
        wanted = set(keys)
        found: set[tuple[str, str, str, str]] = set()
        subjects = sorted({k[0] for k in wanted})
        with self.db.session(session) as s:
            for start in range(0, len(subjects), 1000):
                q = select(Label.subject, Label.task, Label.source, Label.annotator).where(
                    Label.subject.in_(subjects[start : start + 1000])
                )
                found |= {k for k in ((a, b, c, d) for a, b, c, d in s.execute(q)) if k in wanted}
        return found

    def list(
        self,
        task: str | None = None,
        sources: Iterable[str] | None = None,
        now: datetime | None = None,
        include_expired: bool = False,
    ) -> builtins.list[Label]:
        """Labels for a task; expired labels are left out unless asked for."""
        now = now or utcnow()
        q = where_equal(select(Label).order_by(Label.id), (Label.task, task))
        if sources is not None:
            q = q.where(Label.source.in_(builtins.list(sources)))
        if not include_expired:
            q = q.where((Label.expires_at.is_(None)) | (Label.expires_at > now))
        return self.db.all(q)

    def expired_cases(self, task: str | None = None, now: datetime | None = None) -> builtins.list[Any]:
        """Cases whose people's labels (of `task`) expired and that have no live label of that task
        from a person left: rows of (case_id, task, newest expiry), oldest expiry first. They left
        training; the review queue can offer them again. A machine's (weak, model) labels count
        neither way: they are refreshed by running the machine again, not by a person, and a live
        one does not stand in for a person's judgement."""
        now = now or utcnow()
        people = builtins.list(HUMAN_SOURCES)
        live = (
            select(Label.id)
            .where(
                Label.case_id == expired.case_id,
                Label.task == expired.task,
                Label.source.in_(people),
                (Label.expires_at.is_(None)) | (Label.expires_at > now),
            )
            .correlate(expired)
            .exists()
        )
        expiry = func.max(expired.expires_at)
        q = (
            select(expired.case_id, expired.task, expiry)
            .where(
                expired.case_id.is_not(None),
                expired.source.in_(people),
                expired.expires_at <= now,
                ~live,
            )
            .group_by(expired.case_id, expired.task)
            .order_by(expiry, expired.case_id)
        )
        if task is not None:
            q = q.where(expired.task == task)
        with self.db.session() as s:
            return builtins.list(s.execute(q))

    def expired_values(
        self, case_ids: Sequence[str], task: str, now: datetime | None = None
    ) -> dict[str, str]:
        """Case id -> the value of its people's expired label of `task` that expired last (what the
        case was labeled before its labels expired)."""
        now = now or utcnow()
        out: dict[str, tuple[datetime, str]] = {}
        q = select(Label.case_id, Label.value, Label.expires_at).where(
            Label.task == task,
            Label.source.in_(builtins.list(HUMAN_SOURCES)),
            Label.expires_at <= now,
        )
        ids = builtins.list(case_ids)
        with self.db.session() as s:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for case_id, value, expiry in s.execute(q.where(Label.case_id.in_(chunk))):
                    if case_id is None or expiry is None:  # neither: the query asks for both
                        continue
                    if case_id not in out or expiry > out[case_id][0]:
                        out[case_id] = (expiry, value)
        return {case_id: value for case_id, (_, value) in out.items()}

    def delete(
        self,
        source: str,
        task: str | None = None,
        annotators: Iterable[str] | None = None,
        session: Session | None = None,
        subjects: Sequence[str] | None = None,
    ) -> int:
        """Delete the labels from `source` (for one task; of `annotators` only, and of `subjects`
        only, when given); returns how many."""
        q = delete(Label).where(Label.source == source)
        if task:
            q = q.where(Label.task == task)
        if annotators is not None:
            q = q.where(Label.annotator.in_(builtins.list(annotators)))
        parts = [q]
        if subjects is not None:  # in slices: SQLite bounds a statement's parameters
            ids = builtins.list(subjects)
            parts = [q.where(Label.subject.in_(ids[at : at + 500])) for at in range(0, len(ids), 500)]
        with self.db.session(session) as s:
            deleted = 0
            for part in parts:
                deleted += int(s.execute(part).rowcount or 0)  # type: ignore[attr-defined]
            return deleted

    def replace(
        self,
        source: str,
        task: str,
        annotators: Iterable[str],
        rows: Sequence[Mapping[str, Any]],
        subjects: Sequence[str] | None = None,
    ) -> int:
        """Replace every label of `annotators` (from `source`, for `task`; of `subjects` only, when
        given: a run over part of the cases) by `rows`, in one transaction: a machine's re-run keeps
        none of its earlier labels (a case people labeled since, or that no longer qualifies, loses
        its old one), and a failure keeps them all."""
        with self.db.session() as s:
            self.delete(source, task, annotators, session=s, subjects=subjects)
            return self.add(rows, session=s) if rows else 0
