"""One shared `Database`: the engine, sessions, and the generic writes every repository builds on.

`make_engine` connects (SQLite with WAL, `synchronous=FULL` so a commit survives a power cut, a busy
timeout and foreign keys; PostgreSQL through psycopg 3 with a connect timeout), `migrate`
brings a database to the newest Alembic revision (and does nothing, without loading Alembic's
machinery, when it is already there). Writes that must be idempotent use the database's own
`INSERT ... ON CONFLICT`, on SQLite and PostgreSQL alike. `unavailable_reason` tells an error that
means "the database cannot take writes now" (down, full, locked, read-only, its file gone) from one
about the data, in words fit for an error body (never the SQL or its parameters).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    String,
    create_engine,
    event,
    func,
    inspect,
    make_url,
    select,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.functions import FunctionElement

from supportcue.data.tables import TABLES, Base, DataVersion, utcnow
from supportcue.errors import DatabaseUnavailable

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATE_LOCK = threading.Lock()
CHUNK = 5000
"""Rows per executed INSERT batch (SQLAlchemy's insertmanyvalues splits further as needed)."""
T = TypeVar("T")
B = TypeVar("B", bound=Base)


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, busy_timeout_ms: int = 30_000) -> Engine:
    """The engine for `url`. Statement parameters (customers' messages, names, emails) never reach
    exceptions or logs (`hide_parameters`): errors show the SQL only. A write waits up to
    `busy_timeout_ms` for SQLite's lock (and a new PostgreSQL connection about as long) before it
    fails, so a short lock delays rather than fails."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is synced at every commit, so an acknowledged write survives a power cut
            # or an OS crash (NORMAL may lose the last commits then)
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            dbapi_connection.create_function(FOLD_SQLITE, 1, _fold, deterministic=True)

        return engine
    connect_timeout = max(2, math.ceil(busy_timeout_ms / 1000))
    connect_args: dict[str, Any] = {"connect_timeout": connect_timeout}
    given = make_url(url).query
    connect_args |= {k: v for k, v in TCP_KEEPALIVES.items() if k not in given}  # the URL's own win
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        pool_timeout=connect_timeout,
        connect_args=connect_args,
        hide_parameters=True,
    )


TCP_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
"""libpq's TCP settings for PostgreSQL connections. A database host that vanishes from the network
(a crash, a failover, a partition) sends no reset, so a query waiting on its connection waited for the
kernel's defaults: hours idle, about 15 minutes with data unacknowledged. With these, a connection
whose server has not acknowledged for 30 s, or answered 3 probes 5 s apart after 10 s of silence,
fails, and the pool opens a new one. A URL that sets any of them (`?keepalives_idle=60`) keeps its own.
"""


FOLD_SQLITE = "sc_lower"
"""SQLite's lower() folds ASCII letters only ("Ü" stays "Ü"): `folded` calls this Python function
there instead, registered on every SQLite connection."""


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class folded(FunctionElement[str]):
    """lower() of a text in every script, on both databases (PostgreSQL's lower() follows its
    UTF-8 locale; SQLite's own folds ASCII only)."""

    type = String()
    inherit_cache = True


@compiles(folded)
def _folded(element: folded, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(folded, "sqlite")
def _folded_sqlite(element: folded, compiler: Any, **kw: Any) -> str:
    return f"{FOLD_SQLITE}({compiler.process(element.clauses, **kw)})"


@event.listens_for(Engine, "handle_error")
def _hide_row_values(context: Any) -> None:
    """PostgreSQL's error messages carry the row's values in their DETAIL ("Failing row contains
    (...)", "Key (id)=(...) already exists"): keep the primary message only, so customers' text
    stays out of exceptions and logs as `hide_parameters` keeps the statement's parameters out.
    (The full diagnostics stay on the driver's exception, `orig.diag`, for code that needs them.)"""
    for exc in (context.original_exception, context.sqlalchemy_exception):
        if exc is not None and exc.args and isinstance(exc.args[0], str) and "\nDETAIL:" in exc.args[0]:
            exc.args = (exc.args[0].split("\nDETAIL:", 1)[0], *exc.args[1:])


_REASONS = (
    ("database or disk is full", "the database is full: free disk space on its volume"),
    ("no space left", "the database's disk is full: free disk space on its volume"),
    ("database is locked", "the database is locked by another writer"),
    ("readonly database", "the database is read-only: check the file's and folder's permissions"),
    ("read-only", "the database is read-only (a standby or a read-only transaction)"),
    ("unable to open database", "the database file cannot be opened: check that its folder exists"),
    ("disk i/o error", "the database's disk failed to write (I/O error)"),
)


_SCHEMA_BEHIND = ("no such column", "has no column named")
"""SQLite's messages (an OperationalError, as an outage's are) for SQL naming a column its table
lacks: an error of the schema, not of the database's availability (PostgreSQL raises a
ProgrammingError for it). Taken for an outage it was a 503 "cannot be reached", logged nowhere."""


def unavailable_reason(exc: BaseException) -> str | None:
    """Why the database cannot take writes, when `exc` says so (None for an error about the data,
    such as a value it refuses). Built from the driver's message only: no SQL, no parameters."""
    if isinstance(exc, DatabaseUnavailable):
        return str(exc)
    if isinstance(exc, sa_exc.TimeoutError):
        return "no database connection became free in time (the database is slow or overloaded)"
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    message = str(exc.orig).lower()
    if any(needle in message for needle in _SCHEMA_BEHIND):
        return None  # the database answers: the code asks for what its schema lacks (a bug to log)
    for needle, reason in _REASONS:
        if needle in message:
            return reason
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError) or exc.connection_invalidated:
        return "the database cannot be reached or stopped answering"
    return None


def _sqlite_file(engine: Engine) -> str | None:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return os.path.abspath(database)


def alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration's revision id (read from the scripts once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return _revision(connection)


def _revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


MIGRATE_LOCK_KEY = 0x5C0E_0001
"""PostgreSQL advisory lock held while a process upgrades the schema (any constant of our own)."""


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema (Alembic `upgrade head`); cheap when it is current.

    Processes that find the database behind at the same moment (the workers or machines of a deploy,
    a cron job beside `serve`) upgrade it one at a time: each takes the database's lock first
    (PostgreSQL: an advisory lock; SQLite: its write lock, `BEGIN IMMEDIATE`), which makes the
    upgrade one transaction on SQLite too, and looks at the revision again once it holds it, so a
    process that waited finds the schema current instead of failing on a table another one created."""
    from alembic import command

    with _MIGRATE_LOCK:
        if current_revision(engine) == head_revision():
            return
        config = alembic_config()
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATE_LOCK_KEY})")
            elif engine.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            if _revision(connection) == head_revision():
                return
            config.attributes["connection"] = connection
            command.upgrade(config, "head")


def _complete(model: type[Base], rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Give every row the same keys (a multi-row INSERT needs that), using column defaults."""
    keys = set().union(*(r.keys() for r in rows))
    defaults: dict[str, Any] = {}
    for column in model.__table__.columns:
        if column.key in keys and column.default is not None and not all(column.key in r for r in rows):
            defaults[column.key] = column.default.arg
    out = []
    for r in rows:
        row = dict(r)
        for key in keys - row.keys():
            default = defaults.get(key)
            row[key] = default(None) if callable(default) else default
        out.append(row)
    return out


def where_equal(stmt: Select[T], *filters: tuple[Any, Any]) -> Select[T]:
    """`stmt` with `column == value` for each (column, value) whose value is given (not None or
    empty): the optional filters of the repositories' list queries."""
    for column, value in filters:
        if value:
            stmt = stmt.where(column == value)
    return stmt


class Database:
    """The engine and its sessions; one per process and database, shared by the repositories."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._file = _sqlite_file(engine)
        self._identity = self._file_identity()

    def _file_identity(self) -> tuple[int, int] | None:
        if self._file is None:
            return None
        try:
            st = os.stat(self._file)
        except FileNotFoundError:
            return None
        return (st.st_dev, st.st_ino)

    def check_file(self) -> None:
        """Raise `DatabaseUnavailable` when the SQLite file is no longer the one opened. In WAL mode
        SQLite goes on committing into a file whose folder was deleted or moved (writes nobody will
        ever read), so a commit is only trusted once the file is still where it was."""
        if self._identity is None:
            return
        current = self._file_identity()
        if current is None:
            raise DatabaseUnavailable("the database file is gone (its folder was moved or deleted)")
        if current != self._identity:
            raise DatabaseUnavailable("the database file was replaced since the service opened it")

    def ping(self) -> None:
        """A cheap check that the database answers (`SELECT 1`) and, on SQLite, that its file is
        still in place; raises the driver's error or `DatabaseUnavailable`."""
        self.check_file()
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, outer: Session | None = None) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error; given `outer`, that
        session instead (the caller's transaction, committed by the caller)."""
        if outer is not None:
            yield outer
            return
        with self._sessions() as session, session.begin():
            yield session
        self.check_file()

    def close(self) -> None:
        self.engine.dispose()

    def table_names(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    def insert(self, model: type[Base]) -> Any:
        """The dialect's INSERT (the one with `on_conflict_do_*`)."""
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
        stmt = self.insert(model)
        if update_columns:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(keys), set_={c: stmt.excluded[c] for c in update_columns}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        with self.session(session) as s:
            # one compiled statement, executed for many parameter sets (SQLAlchemy's insertmanyvalues)
            connection = s.connection()
            for start in range(0, len(rows), CHUNK):
                connection.execute(stmt, rows[start : start + CHUNK])
        return len(rows)

    def get(self, model: type[B], key: Any) -> B | None:
        """The row of `model` with primary key `key`, if any."""
        with self.session() as s:
            return s.get(model, key)

    def first(self, stmt: Select[T]) -> T | None:
        """The first entity `stmt` selects, if any."""
        with self.session() as s:
            return s.scalars(stmt.limit(1)).first()

    def all(self, stmt: Select[T]) -> list[T]:
        """Every entity `stmt` selects."""
        with self.session() as s:
            return list(s.scalars(stmt))

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

    # -- data versions: counters that readers poll to notice a change -------------------------------
    def bump_version(self, name: str, session: Session) -> None:
        """Add one to the `name` counter in the caller's transaction (created at 1)."""
        stmt = self.insert(DataVersion).values(name=name, version=1, updated_at=utcnow())
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"version": DataVersion.version + 1, "updated_at": stmt.excluded.updated_at},
        )
        session.execute(stmt)

    def version(self, name: str) -> int:
        """The `name` counter: one primary-key read, 0 when never written."""
        with self.engine.connect() as connection:
            found = connection.scalar(select(DataVersion.version).where(DataVersion.name == name))
        return int(found or 0)
