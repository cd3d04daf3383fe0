"""The answer library (the "living oracle"), its topics and the KB articles.

Every write bumps the `library` data version in the same transaction, so a running server that
polls `version()` (one primary-key read) notices an edited or approved answer and reloads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select, update
from sqlalchemy.orm import Session

from supportcue.data.database import Database, where_equal
from supportcue.data.tables import Answer, Article, Base, Topic, utcnow
from supportcue.vocab import AnswerStatus, TopicStatus

VERSION = "library"
_ANSWER_COLUMNS = ["topic", "title", "body", "status", "owner", "reviewed_at", "review_due_at", "version"]


def _contains(column: Any, word: str) -> ColumnElement[bool]:
    """`column` holds `word`, case-insensitively, `%` and `_` in it taken literally."""
    literal = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{literal}%", escape="\\")


class Library:
    def __init__(self, db: Database) -> None:
        self.db = db

    def version(self) -> int:
        """The library's change counter (0 when never written)."""
        return self.db.version(VERSION)

    def _upsert(
        self,
        model: type[Base],
        rows: Sequence[Mapping[str, Any]],
        keys: Sequence[str],
        columns: Sequence[str],
        session: Session | None,
    ) -> int:
        if not rows:
            return 0
        with self.db.session(session) as s:
            self.db.upsert(model, rows, keys, columns, session=s)
            self.db.bump_version(VERSION, s)
        return len(rows)

    # -- topics ----------------------------------------------------------------------------------
    def upsert_topics(self, rows: Sequence[Mapping[str, Any]], session: Session | None = None) -> int:
        return self._upsert(Topic, rows, ["key"], ["name", "description", "status"], session)

    def topics(self, status: str | None = TopicStatus.ACTIVE) -> list[Topic]:
        return self.db.all(where_equal(select(Topic).order_by(Topic.key), (Topic.status, status)))

    # -- answers ---------------------------------------------------------------------------------
    def upsert_answers(self, rows: Sequence[Mapping[str, Any]], session: Session | None = None) -> int:
        rows = [{**r, "updated_at": r.get("updated_at") or utcnow()} for r in rows]
        return self._upsert(Answer, rows, ["id"], [*_ANSWER_COLUMNS, "updated_at"], session)

    def answers(self, topic: str | None = None, status: str | None = None) -> list[Answer]:
        """The answer library, optionally for one topic and status."""
        q = select(Answer).order_by(Answer.topic, Answer.id)
        return self.db.all(where_equal(q, (Answer.topic, topic), (Answer.status, status)))

    def search(
        self, query: str = "", status: str | None = None, topic: str | None = None, limit: int = 20
    ) -> list[Answer]:
        """Answers whose title, body or topic holds every word of `query` (case-insensitive): those
        with the words in their title first, then by topic and id."""
        q = where_equal(select(Answer), (Answer.topic, topic), (Answer.status, status))
        words = query.split()[:8]
        for word in words:
            q = q.where(or_(*(_contains(c, word) for c in (Answer.title, Answer.body, Answer.topic))))
        in_title = [case((_contains(Answer.title, w), 0), else_=1) for w in words]
        return self.db.all(q.order_by(*in_title, Answer.topic, Answer.id).limit(limit))

    def answer(self, answer_id: str) -> Answer | None:
        return self.db.get(Answer, answer_id)

    def answers_due_for_review(self, now: datetime | None = None) -> list[Answer]:
        now = now or utcnow()
        q = select(Answer).where(Answer.status == AnswerStatus.APPROVED, Answer.review_due_at < now)
        return self.db.all(q.order_by(Answer.review_due_at))

    def set_answer_status(self, answer_id: str, status: str, reviewed_at: datetime | None = None) -> None:
        values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
        if reviewed_at:
            values["reviewed_at"] = reviewed_at
        with self.db.session() as s:
            changed = s.execute(update(Answer).where(Answer.id == answer_id).values(**values))
            if changed.rowcount:  # type: ignore[attr-defined]
                self.db.bump_version(VERSION, s)

    # -- articles --------------------------------------------------------------------------------
    def upsert_articles(self, rows: Sequence[Mapping[str, Any]], session: Session | None = None) -> int:
        return self._upsert(Article, rows, ["id"], ["topic", "title", "body", "url"], session)

    def articles(self, topic: str | None = None) -> list[Article]:
        return self.db.all(where_equal(select(Article).order_by(Article.id), (Article.topic, topic)))
