"""The answer library (the "living oracle"), its topics and the KB articles.

Every write bumps the `library` data version in the same transaction, so a running server that
polls `version()` (one primary-key read) notices an edited or approved answer and reloads.

Answers are versioned: `save_answer` (the /library page and POST/PATCH /v1/answers) adds a row to
`answer_versions` for every change of an answer's text (topic, title, body, owner) and moves the
answer's `version` on; status changes (approve, retire, mark reviewed) change the answer row only.
An import (`upsert_answers`) of new text is the answer's next version, the old one kept, unless the
file numbers its versions: then the imported text is that version's (replacing the text kept under
the same number); the next save numbers its version past every kept one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select, update
from sqlalchemy.orm import Session

from supportcue.data.database import Database, folded, where_equal
from supportcue.data.tables import Answer, AnswerVersion, Article, Base, Label, Topic, utcnow
from supportcue.vocab import AnswerStatus, LabelTask, TopicStatus

VERSION = "library"
TOPIC_TASK = LabelTask.TOPIC
_ANSWER_COLUMNS = ["topic", "title", "body", "status", "owner", "reviewed_at", "review_due_at", "version"]
TEXT_FIELDS = ("topic", "title", "body", "owner")
"""What a version keeps: a change of any of these is a new version."""


ANSWER_ROUTE_WORDS = ("versions", "diff", "compose")
"""An answer's sub-resources (/v1/answers/{id}/versions, /diff, /compose): no answer id may end in
one (`a1/versions`) or be one (`diff`), or PATCH /v1/answers/{id} reaches that route, not the answer."""


def answer_id_problem(answer_id: str) -> str | None:
    """Why `answer_id` cannot name an answer (its last `/` part is a route word), or None."""
    head, _, last = answer_id.rpartition("/")
    if last not in ANSWER_ROUTE_WORDS:
        return None
    instead = f"{head}-{last}" if head else f"{last}-answer"
    return (
        f"{answer_id[:100]!r} is or ends in a route word ({', '.join(ANSWER_ROUTE_WORDS)}: an answer's "
        f"addresses end in them, so no request could change this answer); rename it, e.g. {instead[:100]!r}"
    )


def closest_topics(value: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known topic keys closest to `value` (a typo's "refnd" -> "refunds"): the same key in
    another case first, then by similarity; none when nothing is close."""
    keys = sorted(set(known))
    same_case = [k for k in keys if k.casefold() == value.casefold() and k != value]
    close = difflib.get_close_matches(value, keys, n=n, cutoff=0.6)
    return list(dict.fromkeys([*same_case, *close]))[:n]


def unknown_topic(topic: str, known: set[str], how: str) -> str | None:
    """Why `topic` needs the caller's word that it starts a new topic (`how` they give it), or None
    for one of the `known` topics: an answer on a misspelt topic ("refnd") is one no suggestion can
    pick, since the topic stage predicts only the workspace's topics. A workspace with no topics at
    all takes any: there is nothing to misspell, and its first answer starts its first topic."""
    if topic in known or not known:
        return None
    close = closest_topics(topic, known)
    hint = (
        f"did you mean {close[0]!r}? (closest known: {', '.join(map(repr, close))})"
        if close
        else f"known topics: {', '.join(sorted(known)[:10])}{', ...' if len(known) > 10 else ''}"
    )
    return (
        f"topic {topic[:100]!r} is not a topic of this workspace (no topic, topic label, answer or "
        f"article has it), so no suggestion could pick this answer; {hint}. If it starts a new topic, {how}"
    )


_NEW_ANSWER: dict[str, Any] = {
    "status": AnswerStatus.DRAFT,
    "owner": None,
    "reviewed_at": None,
    "review_due_at": None,
}
"""What an imported answer's row may leave out: a new answer gets these, a stored one keeps its own."""


class AnswerConflict(ValueError):
    """The answer exists already (create), or was saved by someone else meanwhile (edit)."""


@dataclass(frozen=True)
class AnswerChange:
    """What one save does to an answer: new text (None: unchanged), a status, and whether it was
    reviewed now (which moves the review due date by `cycle_days`)."""

    topic: str | None = None
    title: str | None = None
    body: str | None = None
    owner: str | None = None
    status: str | None = None
    reviewed: bool = False
    note: str | None = None
    base_version: int | None = None
    """The version the editor saw: the save is refused when the answer has moved on since."""


def _contains(column: Any, word: str) -> ColumnElement[bool]:
    """`column` holds `word`, case-insensitively in every script ("Überweisung" for "überweisung"),
    `%` and `_` in it taken literally."""
    literal = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return folded(column).like(f"%{literal}%", escape="\\")


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

    def ensure_topics(self, keys: Iterable[str], session: Session | None = None) -> None:
        """Register topic keys the workspace uses (an answer's topic, a person's topic label) that are
        not topics yet, named by their key; a topic already there keeps its name and description.
        Outside the demo, imports are the only place a workspace's topics are named."""
        rows = [{"key": k, "name": k} for k in sorted({k for k in keys if k})]
        if rows:
            self.db.upsert(Topic, rows, ["key"], session=session)

    def topics(self, status: str | None = TopicStatus.ACTIVE) -> list[Topic]:
        return self.db.all(where_equal(select(Topic).order_by(Topic.key), (Topic.status, status)))

    def topic_usage(self) -> dict[str, dict[str, int]]:
        """Per topic key, whether a topic row or only used: its topic labels (every source, expired
        ones too), answers and articles ({"labels", "answers", "articles"})."""
        out: dict[str, dict[str, int]] = {
            t.key: {"labels": 0, "answers": 0, "articles": 0} for t in self.topics(status=None)
        }
        counts = (
            (
                "labels",
                select(Label.value, func.count()).where(Label.task == TOPIC_TASK).group_by(Label.value),
            ),
            ("answers", select(Answer.topic, func.count()).group_by(Answer.topic)),
            (
                "articles",
                select(Article.topic, func.count()).where(Article.topic.is_not(None)).group_by(Article.topic),
            ),
        )
        with self.db.session() as s:
            for what, q in counts:
                for key, n in s.execute(q):
                    out.setdefault(str(key), {"labels": 0, "answers": 0, "articles": 0})[what] = int(n)
        return dict(sorted(out.items()))

    def known_topics(self) -> set[str]:
        """Every topic key the workspace has: its topics, and the keys its topic labels (any source),
        answers and articles use."""
        return set(self.topic_usage())

    def merge_topic(
        self, old: str, into: str, editor: str | None, note: str, dry_run: bool = False
    ) -> dict[str, int]:
        """Move everything of topic `old` to `into` in one transaction: its topic labels (every source),
        its answers (each a new version with `note`, the old one kept), its articles; then remove the
        topic `old`, and create `into` (with `old`'s name, unless that was its key) if it is not a
        topic yet. Returns what moved ({"labels", "answers", "articles"}); `dry_run` only counts.
        Suggestions keep the topic they were made with (what the agent was shown)."""
        now = utcnow()
        with self.db.session() as s:
            labels = where_equal(
                select(func.count()).select_from(Label), (Label.task, TOPIC_TASK), (Label.value, old)
            )
            moved = {
                "labels": int(s.scalar(labels) or 0),
                "answers": int(s.scalar(select(func.count()).where(Answer.topic == old)) or 0),
                "articles": int(s.scalar(select(func.count()).where(Article.topic == old)) or 0),
            }
            if dry_run:
                return moved
            s.execute(update(Label).where(Label.task == TOPIC_TASK, Label.value == old).values(value=into))
            for answer in s.scalars(select(Answer).where(Answer.topic == old).with_for_update()):
                answer.topic = into
                self._add_version(s, answer, editor, note, now)
                answer.updated_at = now
            s.execute(update(Article).where(Article.topic == old).values(topic=into))
            topic = s.get(Topic, old)
            if s.get(Topic, into) is None:
                name = topic.name if topic is not None and topic.name != old else into
                s.add(
                    Topic(
                        key=into,
                        name=name,
                        description=topic.description if topic is not None else "",
                        status=topic.status if topic is not None else TopicStatus.ACTIVE,
                        created_at=now,
                    )
                )
            if topic is not None:
                s.delete(topic)
            s.flush()
            self.db.bump_version(VERSION, s)
        return moved

    # -- answers ---------------------------------------------------------------------------------
    def upsert_answers(
        self, rows: Sequence[Mapping[str, Any]], session: Session | None = None, note: str | None = None
    ) -> int:
        """Insert or update answers by id, keeping each new text as a version (with `note`). A row
        without a `version` (a file that does not number them) is the answer's next version when its
        text differs from the stored one, else the same version; a row with one is that version, its
        kept text replaced. A kept text that changes is dated now, so a stored suggestion made from
        the old text is not served again as the answer."""
        if not rows:
            return 0
        now = utcnow()
        rows = [{**r, "updated_at": r.get("updated_at") or now} for r in rows]
        with self.db.session(session) as s:
            stored, kept = self._stored_texts(s, [r["id"] for r in rows])
            numbered, changed = [], []
            for given in rows:  # what a row leaves out (no such column), a stored answer keeps
                row = {**_NEW_ANSWER, **stored.get(given["id"], (0, {}, {}))[2], **given}
                text = tuple(row.get(f) for f in TEXT_FIELDS)
                version = row.get("version")
                if not version:
                    current = stored.get(row["id"])
                    newest = max((v for a, v in kept if a == row["id"]), default=0)
                    if current is None:
                        version = 1
                    elif current[1] == text:
                        version = current[0]
                    else:
                        version = max(current[0], newest) + 1
                numbered.append({**row, "version": version})
                if kept.get((row["id"], version)) != text:
                    changed.append(
                        {
                            "answer_id": row["id"],
                            "version": version,
                            **dict(zip(TEXT_FIELDS, text, strict=True)),
                            "note": note,
                            "created_at": row["updated_at"],
                        }
                    )
            done = self._upsert(Answer, numbered, ["id"], [*_ANSWER_COLUMNS, "updated_at"], s)
            self.ensure_topics((r["topic"] for r in rows if r.get("topic")), s)
            self.db.upsert(
                AnswerVersion,
                changed,
                ["answer_id", "version"],
                [*TEXT_FIELDS, "note", "created_at"],
                session=s,
            )
        return done

    @staticmethod
    def _stored_texts(
        s: Session, ids: Sequence[str]
    ) -> tuple[
        dict[str, tuple[int, tuple[Any, ...], dict[str, Any]]], dict[tuple[str, int], tuple[Any, ...]]
    ]:
        """Of the answers `ids`: each stored answer's (version, text, the values a row may leave out),
        and each kept version's text."""
        answers: dict[str, tuple[int, tuple[Any, ...], dict[str, Any]]] = {}
        kept: dict[tuple[str, int], tuple[Any, ...]] = {}
        text_of = [getattr(AnswerVersion, f) for f in TEXT_FIELDS]
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            for answer in s.scalars(select(Answer).where(Answer.id.in_(chunk))):
                answers[answer.id] = (
                    answer.version,
                    tuple(getattr(answer, f) for f in TEXT_FIELDS),
                    {f: getattr(answer, f) for f in _NEW_ANSWER},
                )
            q = select(AnswerVersion.answer_id, AnswerVersion.version, *text_of)
            for answer_id, version, *text in s.execute(q.where(AnswerVersion.answer_id.in_(chunk))):
                kept[(answer_id, version)] = tuple(text)
        return answers, kept

    def save_answer(
        self,
        answer_id: str,
        change: AnswerChange,
        editor: str | None,
        cycle_days: int,
        create: bool = False,
        now: datetime | None = None,
    ) -> Answer:
        """Create (`create`) or change one answer in one transaction: a change of its text is a new
        version (the old one kept); approving or marking it reviewed sets `reviewed_at` to now and
        `review_due_at` `cycle_days` later. Raises `AnswerConflict` (exists already, saved meanwhile)
        and `KeyError` (no such answer, when not creating)."""
        now = now or utcnow()
        with self.db.session() as s:
            if self.db.dialect == "sqlite":
                # SQLite has no row locks and its driver reads outside a transaction until the first
                # write: take the write lock first, or concurrent saves of one version all pass the
                # base_version check below and each overwrites the one before
                s.execute(update(Answer).where(Answer.id == answer_id).values(version=Answer.version))
            answer = s.get(Answer, answer_id, with_for_update=True)
            if create:
                if answer is not None:
                    raise AnswerConflict(f"answer {answer_id!r} exists already: change it instead")
                answer = Answer(id=answer_id, status=AnswerStatus.DRAFT, version=0, updated_at=now)
                s.add(answer)
            elif answer is None:
                raise KeyError(answer_id)
            elif change.base_version is not None and change.base_version != answer.version:
                raise AnswerConflict(
                    f"answer {answer_id!r} is at version {answer.version} now, not {change.base_version}: "
                    "someone saved it meanwhile; reload it and make the change again"
                )
            if change.topic:
                self.ensure_topics([change.topic], s)
            text = {f: getattr(change, f) for f in TEXT_FIELDS if getattr(change, f) is not None}
            if "owner" in text and not text["owner"]:
                text["owner"] = None
            if create or any(getattr(answer, f) != v for f, v in text.items()):
                for field, value in text.items():
                    setattr(answer, field, value)
                self._add_version(s, answer, editor, change.note, now)
            if change.status is not None:
                answer.status = change.status
            if change.reviewed or change.status == AnswerStatus.APPROVED:
                answer.reviewed_at = now
                answer.review_due_at = now + timedelta(days=cycle_days)
            answer.updated_at = now
            s.flush()
            self.db.bump_version(VERSION, s)
            return answer

    @staticmethod
    def _add_version(s: Session, answer: Answer, editor: str | None, note: str | None, now: datetime) -> None:
        """Keep `answer`'s text as its next version (numbered past any version an import rolled back)."""
        newest = s.scalar(select(func.max(AnswerVersion.version)).where(AnswerVersion.answer_id == answer.id))
        answer.version = max(answer.version, newest or 0) + 1
        s.add(
            AnswerVersion(
                answer_id=answer.id,
                version=answer.version,
                **{f: getattr(answer, f) for f in TEXT_FIELDS},
                editor=editor,
                note=note,
                created_at=now,
            )
        )

    def versions(self, answer_id: str) -> list[AnswerVersion]:
        """The kept versions of an answer, newest first."""
        q = select(AnswerVersion).where(AnswerVersion.answer_id == answer_id)
        return self.db.all(q.order_by(AnswerVersion.version.desc()))

    def last_edited(self) -> dict[str, datetime]:
        """Answer id -> when a person (an editor: the page, the API, `topics merge`) last saved a
        version of it; an import's versions name no editor and are left out."""
        q = (
            select(AnswerVersion.answer_id, func.max(AnswerVersion.created_at))
            .where(AnswerVersion.editor.is_not(None))
            .group_by(AnswerVersion.answer_id)
        )
        with self.db.session() as s:
            return {answer_id: when for answer_id, when in s.execute(q)}

    def answers(self, topic: str | None = None, status: str | None = None) -> list[Answer]:
        """The answer library, optionally for one topic and status."""
        q = select(Answer).order_by(Answer.topic, Answer.id)
        return self.db.all(where_equal(q, (Answer.topic, topic), (Answer.status, status)))

    def search(
        self,
        query: str = "",
        status: str | None = None,
        topic: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[Answer]:
        """Answers whose title, body or topic holds every word of `query` (case-insensitive): those
        with the words in their title first, then by topic and id; `limit` of them from `offset`."""
        words = query.split()[:8]
        q = _matching(select(Answer), words, status, topic)
        in_title = [case((_contains(Answer.title, w), 0), else_=1) for w in words]
        return self.db.all(q.order_by(*in_title, Answer.topic, Answer.id).offset(offset).limit(limit))

    def search_count(self, query: str = "", status: str | None = None, topic: str | None = None) -> int:
        """How many answers `search` finds without a limit (one COUNT query)."""
        q = _matching(select(func.count()).select_from(Answer), query.split()[:8], status, topic)
        return int(self.db.first(q) or 0)

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
        """Insert or update articles by id; a stored article keeps the `topic` or `url` a row leaves
        out (an export without those columns)."""
        groups: dict[frozenset[str], list[Mapping[str, Any]]] = {}
        for row in rows:
            groups.setdefault(frozenset(row), []).append(row)
        with self.db.session(session) as s:
            for given, group in groups.items():
                columns = [
                    c for c in ("topic", "title", "body", "url") if c in given or c in ("title", "body")
                ]
                self._upsert(Article, group, ["id"], columns, s)
        return len(rows)

    def articles(self, topic: str | None = None) -> list[Article]:
        return self.db.all(where_equal(select(Article).order_by(Article.id), (Article.topic, topic)))


def _matching(q: Any, words: Sequence[str], status: str | None, topic: str | None) -> Any:
    """`q` narrowed to the answers of `topic` and `status` whose title, body or topic holds every word."""
    q = where_equal(q, (Answer.topic, topic), (Answer.status, status))
    for word in words:
        q = q.where(or_(*(_contains(c, word) for c in (Answer.title, Answer.body, Answer.topic))))
    return q
