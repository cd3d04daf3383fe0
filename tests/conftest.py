"""Shared fixtures. Storage tests run on SQLite and, when SUPPORTCUE_TEST_DATABASE_URL is set, on
PostgreSQL too. When that variable is set and the server cannot be reached, the tests fail: they never
skip silently.

The migrations run once per session: on SQLite each test gets a copy of a migrated template file; on
PostgreSQL each test gets the session's migrated schema emptied back to its migrated state (a
DELETE per table and restarted sequences: milliseconds, where creating a database from a template
or a schema per test with the migrations costs about a tenth of a second each). `empty_database_url`
is the old way, a database with no tables, for the tests of the migrations themselves.

Browser tests (`@pytest.mark.browser`) run on SQLite only: the pages, their scripts and the routes
behind them are the same code on either database, and the routes' storage is tested on both by the
API and page tests that need no browser. A browser test costs seconds; this halves their time in CI.

`make test` runs the tests on two processes (pytest-xdist, `--dist loadfile`: a file's tests stay
together, so its module fixtures are built once). Half the suite's time is spent waiting (servers
starting, subprocesses, the browser, the database), which the other process fills. Files with a test
marked `slow` are handed out first, so the longest one (the demo, about 100 s) does not start last
and leave one process working alone at the end.

Passwords are hashed with argon2id at a test cost (`FAST_HASHER`) in this process: the product's
RFC 9106 profile spends 0.1-0.3 s a hash by design, and the tests hash and check passwords hundreds
of times. Same algorithm and format; a hash records its own parameters, so checks work across both.
`PRODUCT_HASHER` is the product's, which `tests/security` checks; processes the tests start use it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine, text

from supportcue.data.database import make_engine, migrate, normalise_url
from supportcue.data.store import Store, open_store
from supportcue.data.tables import Base
from supportcue.security import users

PG_URL = os.environ.get("SUPPORTCUE_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")


PRODUCT_HASHER = users.hasher
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashes() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "hasher", lambda: FAST_HASHER)
        users._dummy_hash.cache_clear()
        yield
    users._dummy_hash.cache_clear()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding a `slow` test first (a stable sort: each file's tests keep their order)."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Browser tests on SQLite only (see the module docstring), as if each said so with an indirect
    `parametrize`; runs before the fixtures' own parametrisation, which then leaves them alone."""
    node = metafunc.definition
    if node.get_closest_marker("browser") is None or "database_url" not in metafunc.fixturenames:
        return
    if any("database_url" in str(mark.args[0]) for mark in node.iter_markers("parametrize")):
        return
    node.add_marker(pytest.mark.parametrize("database_url", ["sqlite"], indirect=True))


def _schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def _pg_admin() -> Iterator[Engine]:
    admin = create_engine(normalise_url(PG_URL))
    yield admin
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables (not even Alembic's), on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin: Engine = request.getfixturevalue("_pg_admin")
    schema = "t_" + uuid.uuid4().hex[:12]
    with admin.begin() as conn:  # fails loudly when the server is unreachable
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session (copied for each test)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def _pg_schema(_pg_admin: Engine) -> Iterator[str]:
    """A PostgreSQL schema migrated once per session (emptied before each test)."""
    schema = "t_" + uuid.uuid4().hex[:12]
    with _pg_admin.begin() as conn:  # fails loudly when the server is unreachable
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(_schema_url(schema))
    try:
        migrate(engine)
        engine.dispose()
        yield schema
    finally:
        engine.dispose()
        with _pg_admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _empty_schema(admin: Engine, schema: str) -> None:
    """Back to the freshly migrated state: no rows, sequences restarted (Alembic's row kept)."""
    with admin.begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))  # a store left open fails, never hangs
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(text(f'DELETE FROM "{schema}"."{table.name}"'))
        sequences = conn.execute(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = :schema"), {"schema": schema}
        )
        for (sequence,) in list(sequences):
            conn.execute(text(f'ALTER SEQUENCE "{schema}"."{sequence}" RESTART'))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at the newest schema with no rows, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    schema: str = request.getfixturevalue("_pg_schema")
    _empty_schema(request.getfixturevalue("_pg_admin"), schema)
    return _schema_url(schema)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = open_store(database_url)
    try:
        yield s
    finally:
        s.close()


class LiveServer:
    """A real uvicorn server on a free localhost port, in a thread (real HTTP, real sockets)."""

    def __init__(self, app: object) -> None:
        import socket
        import threading

        import uvicorn

        self.app = app
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
