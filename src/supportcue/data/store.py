"""The repository layer: every read and write of the store goes through `Store`.

`open_store(url)` connects, applies the Alembic migrations (so a workspace is always at the current
schema), and returns a `Store`. Writes that must be idempotent (import by external id, events by
idempotency key) use the database's own `INSERT ... ON CONFLICT`, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, func, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from supportcue.data.tables import (
    TABLES,
    Answer,
    Article,
    Base,
    Case,
    Event,
    Experiment,
    Label,
    ModelVersion,
    Suggestion,
    Topic,
    utcnow,
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATE_LOCK = threading.Lock()
CHUNK = 500


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema (Alembic `upgrade head`)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _complete(model: type[Base], rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Give every row the same keys (a multi-row INSERT needs that), using column defaults."""
    keys = set().union(*(r.keys() for r in rows))
    defaults: dict[str, Any] = {}
    for column in model.__table__.columns:
        if column.key in keys and column.default is not None and not all(column.key in r for r in rows):
            arg = column.default.arg
            defaults[column.key] = arg
    out = []
    for r in rows:
        row = dict(r)
        for key in keys - row.keys():
            default = defaults.get(key)
            row[key] = default(None) if callable(default) else default
        out.append(row)
    return out


class Store:
    """Typed access to the tables; one instance per process and database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()

    def table_names(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    # -- generic upsert ------------------------------------------------------------------------
    def _insert(self, model: type[Base]) -> Any:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(model)

    def upsert(
        self,
        model: type[Base],
        rows: Sequence[Mapping[str, Any]],
        keys: Sequence[str],
        update_columns: Sequence[str] | None = None,
        session: Session | None = None,
    ) -> int:
        """Insert rows; on a key conflict update `update_columns` (or keep the stored row)."""
        if not rows:
            return 0

        rows = _complete(model, rows)

        stmt = self._insert(model)
        if update_columns:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(keys), set_={c: stmt.excluded[c] for c in update_columns}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))

        def run(s: Session) -> None:
            # one compiled statement, executed for many parameter sets (SQLAlchemy's insertmanyvalues)
            connection = s.connection()
            for start in range(0, len(rows), CHUNK * 10):
                connection.execute(stmt, rows[start : start + CHUNK * 10])

        if session is not None:
            run(session)
        else:
            with self.session() as s:
                run(s)
        return len(rows)

    def count(self, table: str) -> int:
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(TABLES[table])) or 0)

    def rows(self, table: str, batch: int = 5000) -> Iterator[dict[str, Any]]:
        """Every row of a table as a dict of column values (for export)."""
        model = TABLES[table]
        columns = [c.key for c in inspect(model).columns]
        with self._sessions() as s:
            result = s.execute(select(model)).scalars()
            for obj in result.yield_per(batch):
                yield {c: getattr(obj, c) for c in columns}

    # -- topics, answers, articles -------------------------------------------------------------
    def upsert_topics(self, rows: Sequence[Mapping[str, Any]]) -> int:
        return self.upsert(Topic, rows, ["key"], ["name", "description", "status"])

    def topics(self, status: str | None = "active") -> list[Topic]:
        with self.session() as s:
            q = select(Topic).order_by(Topic.key)
            if status:
                q = q.where(Topic.status == status)
            return list(s.scalars(q))

    def upsert_answers(self, rows: Sequence[Mapping[str, Any]]) -> int:
        cols = ["topic", "title", "body", "status", "owner", "reviewed_at", "review_due_at", "version"]
        rows = [{**r, "updated_at": r.get("updated_at") or utcnow()} for r in rows]
        return self.upsert(Answer, rows, ["id"], [*cols, "updated_at"])

    def answers(self, topic: str | None = None, status: str | None = None) -> list[Answer]:
        """The answer library, optionally for one topic and status."""
        with self.session() as s:
            q = select(Answer).order_by(Answer.topic, Answer.id)
            if topic:
                q = q.where(Answer.topic == topic)
            if status:
                q = q.where(Answer.status == status)
            return list(s.scalars(q))

    def answer(self, answer_id: str) -> Answer | None:
        with self.session() as s:
            return s.get(Answer, answer_id)

    def answers_due_for_review(self, now: datetime | None = None) -> list[Answer]:
        now = now or utcnow()
        with self.session() as s:
            q = select(Answer).where(Answer.status == "approved", Answer.review_due_at < now)
            return list(s.scalars(q.order_by(Answer.review_due_at)))

    def set_answer_status(self, answer_id: str, status: str, reviewed_at: datetime | None = None) -> None:
        values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
        if reviewed_at:
            values["reviewed_at"] = reviewed_at
        with self.session() as s:
            s.execute(update(Answer).where(Answer.id == answer_id).values(**values))

    def upsert_articles(self, rows: Sequence[Mapping[str, Any]]) -> int:
        return self.upsert(Article, rows, ["id"], ["topic", "title", "body", "url"])

    def articles(self, topic: str | None = None) -> list[Article]:
        with self.session() as s:
            q = select(Article).order_by(Article.id)
            if topic:
                q = q.where(Article.topic == topic)
            return list(s.scalars(q))

    # -- cases -----------------------------------------------------------------------------------
    def upsert_cases(self, rows: Sequence[Mapping[str, Any]], session: Session | None = None) -> int:
        cols = ["channel", "message", "context", "customer_name", "fields", "created_at", "arm", "status"]
        return self.upsert(Case, rows, ["id"], cols, session=session)

    def case(self, case_id: str) -> Case | None:
        with self.session() as s:
            return s.get(Case, case_id)

    def cases(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        status: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Case]:
        with self.session() as s:
            q = select(Case)
            if since:
                q = q.where(Case.created_at >= since)
            if until:
                q = q.where(Case.created_at < until)
            if status:
                q = q.where(Case.status == status)
            q = q.order_by(Case.created_at.desc() if newest_first else Case.created_at, Case.id)
            if limit:
                q = q.limit(limit)
            return list(s.scalars(q))

    def set_case_status(self, case_id: str, status: str) -> None:
        with self.session() as s:
            s.execute(update(Case).where(Case.id == case_id).values(status=status))

    # -- labels ----------------------------------------------------------------------------------
    def add_labels(self, rows: Sequence[Mapping[str, Any]], session: Session | None = None) -> int:
        """Store labels; the same (subject, task, source, annotator) replaces the older value."""
        rows = [{**r, "subject": r.get("subject") or r["case_id"]} for r in rows]
        cols = ["value", "confidence", "created_at", "expires_at", "version", "text", "case_id"]
        return self.upsert(Label, rows, ["subject", "task", "source", "annotator"], cols, session=session)

    def labels(
        self,
        task: str | None = None,
        sources: Iterable[str] | None = None,
        now: datetime | None = None,
        include_expired: bool = False,
    ) -> list[Label]:
        """Labels for a task; expired labels are left out unless asked for."""
        now = now or utcnow()
        with self.session() as s:
            q = select(Label).order_by(Label.id)
            if task:
                q = q.where(Label.task == task)
            if sources is not None:
                q = q.where(Label.source.in_(list(sources)))
            if not include_expired:
                q = q.where((Label.expires_at.is_(None)) | (Label.expires_at > now))
            return list(s.scalars(q))

    def delete_labels(self, source: str, task: str | None = None) -> int:
        from sqlalchemy import delete

        with self.session() as s:
            q = delete(Label).where(Label.source == source)
            if task:
                q = q.where(Label.task == task)
            return int(s.execute(q).rowcount or 0)  # type: ignore[attr-defined]

    # -- suggestions and events -----------------------------------------------------------------
    def add_suggestion(self, row: Mapping[str, Any]) -> None:
        with self.session() as s:
            s.add(Suggestion(**row))

    def add_suggestions(self, rows: Sequence[Mapping[str, Any]]) -> int:
        return self.upsert(Suggestion, rows, ["id"])

    def suggestion(self, suggestion_id: str) -> Suggestion | None:
        with self.session() as s:
            return s.get(Suggestion, suggestion_id)

    def latest_suggestion(self, case_id: str) -> Suggestion | None:
        with self.session() as s:
            q = select(Suggestion).where(Suggestion.case_id == case_id).order_by(Suggestion.created_at.desc())
            return s.scalars(q.limit(1)).first()

    def add_event(self, row: Mapping[str, Any]) -> tuple[Event, bool]:
        """Store an event once per idempotency key; returns (stored event, created now?)."""
        stmt = (
            self._insert(Event)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(Event.id)
        )
        with self.session() as s:
            created = s.execute(stmt).first() is not None
            stored = s.scalars(select(Event).where(Event.idempotency_key == row["idempotency_key"])).one()
            return stored, created

    def add_events(self, rows: Sequence[Mapping[str, Any]]) -> int:
        return self.upsert(Event, rows, ["idempotency_key"])

    def events(self, case_id: str | None = None, kind: str | None = None) -> list[Event]:
        with self.session() as s:
            q = select(Event).order_by(Event.ts, Event.id)
            if case_id:
                q = q.where(Event.case_id == case_id)
            if kind:
                q = q.where(Event.kind == kind)
            return list(s.scalars(q))

    # -- model versions --------------------------------------------------------------------------
    def add_model_version(self, row: Mapping[str, Any]) -> ModelVersion:
        with self.session() as s:
            mv = ModelVersion(**row)
            s.add(mv)
            s.flush()
            return mv

    def model_versions(self, stage: str | None = None) -> list[ModelVersion]:
        with self.session() as s:
            q = select(ModelVersion).order_by(ModelVersion.stage, ModelVersion.created_at, ModelVersion.id)
            if stage:
                q = q.where(ModelVersion.stage == stage)
            return list(s.scalars(q))

    def model_version(self, stage: str, version: str) -> ModelVersion | None:
        with self.session() as s:
            q = select(ModelVersion).where(ModelVersion.stage == stage, ModelVersion.version == version)
            return s.scalars(q).first()

    def live_model(self, stage: str) -> ModelVersion | None:
        with self.session() as s:
            q = select(ModelVersion).where(ModelVersion.stage == stage, ModelVersion.status == "live")
            return s.scalars(q.order_by(ModelVersion.promoted_at.desc())).first()

    def promote_model(self, stage: str, version: str) -> ModelVersion:
        """Make one version live; the previous live one becomes `previous` (kept for rollback)."""
        with self.session() as s:
            target = s.scalars(
                select(ModelVersion).where(ModelVersion.stage == stage, ModelVersion.version == version)
            ).one()
            s.execute(
                update(ModelVersion)
                .where(
                    ModelVersion.stage == stage, ModelVersion.status == "live", ModelVersion.id != target.id
                )
                .values(status="previous")
            )
            target.status = "live"
            target.promoted_at = utcnow()
            s.flush()
            return target

    # -- experiments -----------------------------------------------------------------------------
    def upsert_experiment(self, row: Mapping[str, Any]) -> None:
        self.upsert(Experiment, [row], ["key"], ["name", "description", "arms", "status", "ended_at"])

    def experiments(self) -> list[Experiment]:
        with self.session() as s:
            return list(s.scalars(select(Experiment).order_by(Experiment.started_at)))


def open_store(url: str, migrate_schema: bool = True) -> Store:
    """Connect to a database and bring it to the newest schema."""
    engine = make_engine(url)
    if migrate_schema:
        with _MIGRATE_LOCK:
            migrate(engine)
    return Store(engine)
