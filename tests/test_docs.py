"""Docs kept honest: every command, route and setting the product has is documented."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from supportcue.cli import app
from supportcue.service import create_app
from supportcue.settings import DEFAULT_TOML, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = [
    "init",
    "demo",
    "import",
    "export",
    "train",
    "backtest",
    "models",
    "promote",
    "weak",
    "labels",
    "suggest",
    "serve",
    "report",
    "eval",
]


def test_every_design_command_is_in_help_and_readme() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for command in COMMANDS:
        assert re.search(rf"│ {command}\s", result.output), f"`supportcue {command}` missing from --help"
        assert f"supportcue {command}" in README or f"`{command}`" in README, f"{command} missing from README"
    for group, subs in {
        "eval": ["classify", "oos", "suggest"],
        "weak": ["apply", "analyze"],
        "labels": ["issues"],
    }.items():
        out = CliRunner().invoke(app, [group, "--help"], env={"COLUMNS": "200"}).output
        for sub in subs:
            assert re.search(rf"│ {sub}\s", out), f"`supportcue {group} {sub}` missing"


def test_every_setting_is_in_the_documented_defaults() -> None:
    documented = tomllib.loads(DEFAULT_TOML)
    for section, model in Settings.model_fields.items():
        if section == "workspace":
            continue
        assert section in documented, f"[{section}] is not in DEFAULT_TOML"
        sub = getattr(model.annotation, "model_fields", None)
        if sub:
            missing = set(sub) - set(documented[section])
            assert not missing, f"[{section}] keys {missing} are not documented"


def test_every_route_is_in_the_readme(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    (tmp_path / "supportcue.toml").write_text("")
    app_ = create_app(load_settings(tmp_path, environ={}), load_models=False)
    api = set(app_.openapi()["paths"])
    with TestClient(app_) as client:
        for path in (
            "/v1/suggest",
            "/v1/events",
            "/v1/metrics",
            "/metrics",
            "/healthz",
            "/readyz",
            "/",
            "/dashboard",
        ):
            exists = path in api or client.get(path).status_code != 404
            assert exists, f"route {path} is missing"
            assert re.search(rf"`(GET |POST )?{re.escape(path)}[`?]", README), f"{path} is not in the README"
