"""`supportcue rollback STAGE` on SQLite and PostgreSQL: the version live before comes back, the
rolled-back one is retired, and there is a clear error when nothing is left to roll back to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supportcue.cli import app
from supportcue.data.store import open_store
from supportcue.settings import init_workspace


def _cli(ws: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--workspace", str(ws), *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output + (str(result.exception) if result.exception else "")


def _statuses(ws: Path) -> dict[str, str]:
    code, out = _cli(ws, "models", "--json")
    assert code == 0, out
    return {m["version"]: m["status"] for m in json.loads(out.splitlines()[-1]) if m["stage"] == "topic"}


def test_rollback_restores_the_version_live_before(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_workspace(tmp_path)
    monkeypatch.setenv("SUPPORTCUE_DATABASE_URL", database_url)
    store = open_store(database_url)
    for version in ("v1", "v2", "v3"):
        row = {"stage": "topic", "version": version, "artifact_path": "-", "fingerprint": "f"}
        store.models.add({**row, "status": "candidate", "metrics": {}})
        store.models.promote("topic", version)
    store.close()
    assert _statuses(tmp_path) == {"v1": "previous", "v2": "previous", "v3": "live"}

    code, out = _cli(tmp_path, "rollback", "topic")
    assert code == 0 and "topic v2 is live again; v3 is retired" in out, out
    assert _statuses(tmp_path) == {"v1": "previous", "v2": "live", "v3": "retired"}
    assert _cli(tmp_path, "rollback", "topic")[0] == 0
    assert _statuses(tmp_path) == {"v1": "live", "v2": "retired", "v3": "retired"}

    code, out = _cli(tmp_path, "rollback", "topic")
    assert code != 0 and "topic v1 is live and no earlier version is kept to roll back to" in out
    code, out = _cli(tmp_path, "rollback", "response")
    assert code != 0 and "no live response model to roll back" in out


def test_an_unknown_stage_is_named_with_the_stages_there_are(tmp_path: Path) -> None:
    """`promote tone v1` said "no tone model 'v1'; known versions: none", as if training could make one."""
    init_workspace(tmp_path)
    for args in (("promote", "tone", "v1"), ("rollback", "topics")):
        code, out = _cli(tmp_path, *args)
        assert code == 2 and f"'{args[1]}'; allowed: validation, topic, response" in out, out
