"""The CLI's settings and store come from Typer's context: one store per process, closed at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import supportcue.cli.context as context
from supportcue.cli import app
from supportcue.cli.context import CliState
from supportcue.settings import get_settings, init_workspace


def test_one_store_per_process_closed_when_the_command_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_workspace(tmp_path / "ws")
    opened: list[Any] = []
    closed: list[Any] = []
    real = context.open_store

    def counting(url: str) -> Any:
        store = real(url)
        opened.append(store)
        dispose = store.close
        store.close = lambda: (closed.append(store), dispose())
        return store

    monkeypatch.setattr(context, "open_store", counting)
    cases = tmp_path / "cases.csv"
    cases.write_text("id,message\nc1,where is my refund\n")
    for args in (["import", "cases", str(cases)], ["models"]):
        result = CliRunner().invoke(app, ["--workspace", str(tmp_path / "ws"), *args])
        assert result.exit_code == 0, result.output
    assert len(opened) == 2  # one per command (each is a process of its own in real use)
    assert closed == opened


def test_state_opens_the_store_lazily_and_once(tmp_path: Path) -> None:
    init_workspace(tmp_path)
    state = CliState(tmp_path)
    assert state._store is None
    assert state.store is state.store
    assert state.settings is get_settings(tmp_path)
    state.close()
    assert state._store is None
