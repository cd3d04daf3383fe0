"""What every command needs: the workspace's settings and store, opened once per command."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from supportcue.data.store import Store, open_store
from supportcue.settings import Settings, load_settings, require_workspace

_state: dict[str, Path | None] = {"workspace": None}


def set_workspace(folder: Path | None) -> None:
    _state["workspace"] = folder
    workspace_settings.cache_clear()


@lru_cache(maxsize=1)
def workspace_settings() -> Settings:
    """Settings of the workspace named by --workspace, $SUPPORTCUE_WORKSPACE, or the cwd."""
    return require_workspace(load_settings(_state["workspace"]))


def workspace_store() -> Store:
    return open_store(workspace_settings().database_url)
