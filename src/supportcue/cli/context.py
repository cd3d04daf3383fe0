"""What every command needs, held in Typer's context (`ctx.obj`): the settings and ONE store per process.

The root callback puts a `CliState` on the context from `--workspace`; commands reach it with
`state(ctx)`. The store is opened (and migrated) on first use and closed when the command ends; a
database that cannot be opened is an error naming it and where its URL was set (`open_workspace_store`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from supportcue.data.store import Store, open_store
from supportcue.errors import DatabaseUnavailable
from supportcue.settings import CONFIG_NAME, Settings, get_settings, hide_password, require_workspace


def open_workspace_store(settings: Settings) -> Store:
    """The workspace's store, opened and migrated; `DatabaseUnavailable` naming the database, where
    its URL comes from and why, when it cannot be opened (down, a wrong address, not a database)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return open_store(settings.database_url)
    except SQLAlchemyError as exc:
        raise database_problem(settings, exc) from exc


def database_problem(settings: Settings, exc: Exception) -> DatabaseUnavailable:
    """The error saying that the workspace's database cannot be opened: which one (its password
    hidden), where its URL was set, and the driver's reason (its first line: no data)."""
    from supportcue.data.database import unavailable_reason

    orig = getattr(exc, "orig", None) or exc
    said = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    reason = unavailable_reason(exc)
    reason = f"{reason} ({said})" if reason and said.lower() not in reason.lower() else reason or said
    return DatabaseUnavailable(f"cannot open the database {database_named(settings)}: {reason}")


def database_named(settings: Settings) -> str:
    """The workspace's database as people should read it: its URL with the password hidden and where
    the URL was set, or the SQLite file."""
    if settings.database.url:
        return f"{hide_password(settings.database.url)} (from {settings.source('database.url')})"
    return f"the workspace's SQLite file {settings.database_url.removeprefix('sqlite:///')}"


@dataclass
class CliState:
    """The workspace a command runs in (None: `$SUPPORTCUE_WORKSPACE`, then the cwd)."""

    workspace: Path | None = None
    _store: Store | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """The workspace's settings; a clear error when the folder is not a workspace."""
        return require_workspace(get_settings(self.workspace))

    def settings_or_defaults(self) -> tuple[Settings, bool]:
        """(settings, in_workspace): the workspace's settings, or the defaults (with any `SUPPORTCUE_*`
        overrides) when run outside one. A folder named with --workspace must be a workspace."""
        settings = get_settings(self.workspace)
        if self.workspace is None and not (settings.workspace / CONFIG_NAME).exists():
            return settings, False
        return require_workspace(settings), True

    @property
    def store(self) -> Store:
        """The workspace's store, opened and migrated once per process."""
        if self._store is None:
            self._store = open_workspace_store(self.settings)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def install(ctx: typer.Context, workspace: Path | None) -> CliState:
    """Put a fresh `CliState` on the root context; its store is closed when the context closes."""
    root = ctx.find_root()
    cli_state = CliState(workspace)
    root.obj = cli_state
    root.call_on_close(cli_state.close)
    return cli_state


def state(ctx: typer.Context) -> CliState:
    """The command's `CliState` (a sub-app invoked on its own gets one for the default workspace)."""
    found = ctx.find_object(CliState)
    return found if found is not None else install(ctx, None)
