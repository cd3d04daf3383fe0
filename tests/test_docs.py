"""Docs kept honest: every command, route and setting the product has is documented."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import click
import typer
from typer.testing import CliRunner

from supportcue.cli import app
from supportcue.service import create_app
from supportcue.settings import DEFAULT_TOML, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ROOT_COMMAND = typer.main.get_command(app)
COMMANDS = sorted(getattr(ROOT_COMMAND, "commands", {}))
"""Every command the CLI has (the DESIGN.md ones are checked to exist in tests/test_contracts.py)."""
GROUPS = {
    name: sorted(command.commands)
    for name, command in getattr(ROOT_COMMAND, "commands", {}).items()
    if hasattr(command, "commands")
}


def test_every_design_command_is_in_help_and_readme() -> None:
    assert {"init", "train", "rollback", "eval"} <= set(COMMANDS) and "eval" in GROUPS
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for command in COMMANDS:
        assert re.search(rf"│ {command}\s", result.output), f"`supportcue {command}` missing from --help"
        assert f"supportcue {command}" in README or f"`{command}`" in README, f"{command} missing from README"
    for group, subs in GROUPS.items():
        out = CliRunner().invoke(app, [group, "--help"], env={"COLUMNS": "200"}).output
        for sub in subs:
            assert re.search(rf"│ {sub}\s", out), f"`supportcue {group} {sub}` missing"
            assert f"{group} {sub}" in README, f"`supportcue {group} {sub}` missing from README"


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
    """The README's route table and the app agree: each listed route exists, each API route is listed."""
    from fastapi.testclient import TestClient

    (tmp_path / "supportcue.toml").write_text("")
    app_ = create_app(load_settings(tmp_path, environ={}), load_models=False)
    api = {f"{m.upper()} {p}" for p, ops in app_.openapi()["paths"].items() for m in ops}
    table = set(re.findall(r"(?m)^\| `((?:GET|POST|PATCH|PUT|DELETE) /[^`]*)` \|", README))
    assert {"POST /v1/suggest", "GET /readyz", "GET /dashboard"} <= table
    with TestClient(app_) as client:
        for route in sorted(table):
            method, path = route.split(" ", 1)
            exists = route in api or client.request(method, path).status_code not in (404, 405)
            assert exists, f"route {path} is missing"
    for route in sorted(api):
        path = route.split(" ", 1)[1]
        assert route in table, f"{path} is not in the README"


def test_help_texts_keep_their_square_brackets() -> None:
    """Rich reads `[drift]` in a help text as a style tag and drops it ("at most  review_items"):
    every help text that names a setting's section escapes it (`\\[drift]`) so that --help shows it."""
    from rich.text import Text

    def texts(command: click.Command, path: str) -> Iterator[tuple[str, str]]:
        yield path, command.help or ""
        for param in command.params:
            yield f"{path} {param.name}", getattr(param, "help", None) or ""
        for name, sub in getattr(command, "commands", {}).items():
            yield from texts(sub, f"{path} {name}")

    for where, text in texts(ROOT_COMMAND, "supportcue"):
        shown = text.replace("\\[", "[")
        assert Text.from_markup(text).plain == shown, f"{where}: --help loses a [...] of {shown!r}"


def test_the_suggest_route_lists_every_field_of_its_request_and_answer() -> None:
    from supportcue.service.schemas import SuggestCreate, SuggestPublic

    row = re.search(r"(?m)^\| `POST /v1/suggest` \| `\{([^}]*)\}` → `\{([^}]*)\}`", README)
    assert row, "the README's POST /v1/suggest row is not `{request}` → `{answer}`"
    request, answer = ({name.strip().rstrip("?") for name in part.split(",")} for part in row.groups())
    assert request == set(SuggestCreate.model_fields)
    assert answer == set(SuggestPublic.model_fields)


def test_every_option_says_what_it_does() -> None:
    """`--help` showed a bare `--json`, `--train` or `--exclude-weak` on many commands."""

    def bare(command: click.Command, path: str) -> Iterator[str]:
        for param in command.params:
            if param.param_type_name == "option" and not getattr(param, "help", None):
                yield f"{path} {param.opts[0]}"
        for name, sub in getattr(command, "commands", {}).items():
            yield from bare(sub, f"{path} {name}")

    assert not list(bare(ROOT_COMMAND, "supportcue")), "options without a help text"


def test_the_layout_names_every_module_and_package() -> None:
    layout = README.split("## Layout", 1)[1].split("```", 2)[1]
    package = ROOT / "src" / "supportcue"
    names = [p.name for p in package.glob("*.py") if p.name != "__init__.py"]
    names += [f"{p.name}/" for p in package.iterdir() if p.is_dir() and not p.name.startswith("_")]
    missing = [name for name in sorted(names) if not re.search(rf"(?<![\w/]){re.escape(name)}", layout)]
    assert not missing, f"README's Layout does not name {missing}"


def test_every_environment_variable_the_code_reads_is_documented() -> None:
    """The `SUPPORTCUE_<SECTION>__<KEY>` form is documented once; every other name on its own."""
    docs = README + "".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))
    code = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "src" / "supportcue").rglob("*.py"))
    names = set(re.findall(r"\bSUPPORTCUE_[A-Z_]*[A-Z]\b", code))
    missing = sorted(n for n in names if "__" not in n and n not in docs)
    assert not missing, f"not in the README or docs/: {missing}"


def test_the_documented_defaults_are_the_defaults() -> None:
    """supportcue.toml says "the values shown are the defaults": each one is the model's."""
    documented = tomllib.loads(DEFAULT_TOML)
    actual = Settings().model_dump(mode="json")

    def differences(doc: object, real: object, path: str) -> Iterator[str]:
        if isinstance(doc, dict) and isinstance(real, dict):
            for key, value in doc.items():
                yield from differences(value, real.get(key), f"{path}{key}.")
        elif doc != real:
            yield f"{path.rstrip('.')}: documented {doc!r}, actually {real!r}"

    assert not list(differences(documented, actual, ""))


def test_the_openapi_schema_says_how_to_authenticate(tmp_path: Path) -> None:
    """/docs had no Authorize button: the schema declared no way to send a key. Each operation that
    needs a caller declares the bearer key; the public probes and the signed webhook do not."""
    (tmp_path / "supportcue.toml").write_text("")
    schema = create_app(load_settings(tmp_path, environ={}), load_models=False).openapi()
    scheme = schema["components"]["securitySchemes"]["apiKey"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "supportcue keys create" in scheme["description"]
    public = {"/healthz", "/readyz", "/integrations/chatwoot/webhook"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            expected = [] if path in public else [{"apiKey": []}]
            assert operation.get("security", []) == expected, f"{method.upper()} {path}"
            if path not in public:  # and the 401 it answers without a caller
                assert "401" in operation["responses"], f"{method.upper()} {path}"
