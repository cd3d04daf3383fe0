"""The contracts of docs/contracts.md (DESIGN.md's, verbatim), checked against the source.

The contract blocks are parsed, not retyped: every `supportcue ...` command and its flags must exist
in the Typer app, every HTTP route in the FastAPI app, every JSON key in what the command or route
returns. Contracts of features still to be built are listed in KNOWN_MISSING with their issue; an
entry there must really be missing (so the list is emptied as the features land).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from supportcue.cli import app as cli_app

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "docs" / "contracts.md"
DESIGN = ROOT.parent / "shared" / "DESIGN.md"

# Contracts of open issues: commands ("cli: ..."), flags ("flag: COMMAND --x") and routes ("route: ...").
# The numbers of the issue that builds each are the lead's; the LLM mode's number was not given.
KNOWN_MISSING: dict[str, tuple[str, ...]] = {}
MISSING = {item: issue for issue, items in KNOWN_MISSING.items() for item in items}


# -- reading the contract document ---------------------------------------------------------------


def sections(text: str) -> dict[str, str]:
    """`## Contract: ...` sections by title, each up to the next `## ` heading."""
    parts = re.split(r"(?m)^(?=## )", text)
    return {p.splitlines()[0]: p.rstrip("\n") for p in parts if p.startswith("## Contract:")}


def blocks(text: str) -> list[str]:
    return re.findall(r"(?ms)^```\n(.*?)^```", text)


CONTRACT = sections(CONTRACTS.read_text(encoding="utf-8"))
ALL_BLOCKS = [b for s in CONTRACT.values() for b in blocks(s)]


@dataclass
class Command:
    """One `supportcue ...` form of a contract block: its command path, flags and annotated lines."""

    path: tuple[str, ...]
    flags: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def commands() -> Iterator[Command]:
    """Every command form of the contract: in the blocks, and in the prose's inline code."""
    forms = list(block_commands())
    yield from forms
    tops = {c.path[0] for c in forms}
    for title, text in CONTRACT.items():
        prose = re.sub(r"(?ms)^```.*?^```", "", text)
        for span in re.findall(r"`([^`\n]+)`", prose):
            span = span.removeprefix("supportcue ")
            if span.startswith("--") and "import files" in title:  # `--map FIELD=COLUMN` renames...
                yield Command(("import",), set(re.findall(r"--[a-z][a-z-]*", span)))
            elif span.split()[0] in tops and "--" in span:
                yield from (c for c in _forms(span) if c.path)


def block_commands() -> Iterator[Command]:
    """Every command form in the blocks. A statement starts with `supportcue `; indented lines that
    start with `[` or `--` continue it; other lines (e.g. `keys: ...`) are notes on its last form."""
    for block in ALL_BLOCKS:
        current: list[Command] = []
        open_ = False
        for raw in block.splitlines():
            line = re.sub(r"\s#\s.*$", "", raw)
            if line.startswith("supportcue "):
                current = [c for c in _forms(line.removeprefix("supportcue ")) if c.path]
                yield from current
                open_ = True
            elif open_ and re.match(r"\s+(\[|--)", line) and current:
                current[-1].flags |= set(re.findall(r"--[a-z][a-z-]*", line))
            elif line.strip():
                open_ = False
                if current:
                    current[-1].notes.append(line.strip())


def _forms(statement: str) -> Iterator[Command]:
    for segment in re.split(r"\s+\|\s+", statement):
        words = segment.split()
        path: list[str] = []
        for word in words:
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            path.append(word)
        yield Command(tuple(path), set(re.findall(r"--[a-z][a-z-]*", segment)))


def routes() -> set[str]:
    """`METHOD /path` of every route in the blocks (pages are GETs; `{param}` becomes `{}`)."""
    found: set[str] = set()
    for block in ALL_BLOCKS:
        for line in block.splitlines():
            for method, paths in re.findall(r"\b(GET|POST|PATCH|PUT|DELETE)((?:\s+/\S*)+)", line):
                found |= {f"{method} {_path(p)}" for p in paths.split()}
            if line.startswith("Pages:"):
                found |= {f"GET {p}" for p in line.split() if p.startswith("/")}
    return found


def _path(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.split("?")[0])


def keys_of(spec: str) -> list[str]:
    """`{a, b|null, c (x|y), d: {...}}` -> [a, b, c, d]: the top-level keys of a contract shape."""
    depth, top = 0, ""
    for ch in spec.strip().strip("[]").strip()[1:-1]:
        depth += ch in "{[("
        depth -= ch in "}])"
        top += ch if depth == 0 and ch not in "}])" else ""
    return [m.group(1) for part in top.split(",") if (m := re.match(r"\s*([a-z_]+)", part))]


# -- what the source has -------------------------------------------------------------------------


def cli_command(path: tuple[str, ...]) -> Any:
    """The click command at `path` in the Typer app, or None."""
    command: Any = typer.main.get_command(cli_app)
    for name in path:
        command = getattr(command, "commands", {}).get(name)
        if command is None:
            return None
    return command


def cli_flags(command: Any) -> set[str]:
    return {opt for p in command.params for opt in (*p.opts, *p.secondary_opts) if opt.startswith("--")}


@pytest.fixture(scope="module")
def http_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from supportcue.service import create_app
    from supportcue.settings import load_settings

    folder = tmp_path_factory.mktemp("ws")
    (folder / "supportcue.toml").write_text("")
    return create_app(load_settings(folder, environ={}), load_models=False)


def route_exists(app: Any, route: str) -> bool:
    """In the OpenAPI schema, or (pages, /metrics) answered by something other than 404/405."""
    from fastapi.testclient import TestClient

    method, path = route.split(" ", 1)
    schema = {_path(p): set(ops) for p, ops in app.openapi()["paths"].items()}
    if path in schema:  # an API path: the schema lists its methods (a POST to a GET-only path is a 401)
        return method.lower() in schema[path]
    with TestClient(app) as client:
        status = client.request(method, path.replace("{}", "x"), follow_redirects=False).status_code
    return status not in (404, 405)


# -- the checks ----------------------------------------------------------------------------------


def _check(item: str, exists: bool) -> str | None:
    """A failure message, or None: a contract item must exist unless it is known to be missing."""
    if item in MISSING:
        return f"{item} exists now: remove it from KNOWN_MISSING ({MISSING[item]})" if exists else None
    return None if exists else f"{item} is in the contract but not in the source"


def test_contracts_copy_is_design_md_verbatim() -> None:
    if not DESIGN.exists():
        pytest.skip(f"{DESIGN} is not here (CI): docs/contracts.md is the reference")
    design = sections(DESIGN.read_text(encoding="utf-8"))
    assert list(CONTRACT) == list(design), "docs/contracts.md has other contract sections than DESIGN.md"
    for title, text in design.items():
        assert CONTRACT[title] == text, f"{title!r} differs from DESIGN.md: copy it again"


def test_the_parser_reads_every_block() -> None:
    # a parser that silently reads nothing would pass every check below
    paths = {c.path for c in commands()}
    assert {("init",), ("rollback",), ("eval", "classify"), ("keys", "create"), ("drift",)} <= paths
    assert {"GET /readyz", "POST /v1/suggest", "GET /dashboard", "PATCH /v1/answers/{}"} <= routes()
    assert keys_of("{status, models: {stage: live version}}") == ["status", "models"]


def test_every_command_and_flag_exists() -> None:
    failures = []
    for form in commands():
        name = " ".join(form.path)
        command = cli_command(form.path)
        failures.append(_check(f"cli: {name}", command is not None))
        if command is None:
            continue
        # --workspace is the root's, for every command; --help is click's
        have = cli_flags(command) | cli_flags(typer.main.get_command(cli_app)) | {"--help"}
        failures += [_check(f"flag: {name} {flag}", flag in have) for flag in sorted(form.flags)]
    assert not [f for f in failures if f], "\n".join(f for f in failures if f)


def test_every_route_exists(http_app: Any) -> None:
    failures = [_check(f"route: {r}", route_exists(http_app, r)) for r in sorted(routes())]
    assert not [f for f in failures if f], "\n".join(f for f in failures if f)


def test_known_missing_items_are_in_the_contract() -> None:
    contract = {f"cli: {' '.join(c.path)}" for c in commands()}
    contract |= {f"flag: {' '.join(c.path)} {f}" for c in commands() for f in c.flags}
    contract |= {f"route: {r}" for r in routes()}
    stale = sorted(set(MISSING) - contract)
    assert not stale, f"KNOWN_MISSING lists what no contract block has: {stale}"


def test_setup_make_targets_exist() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = re.findall(r"(?m)^make (\S+)", blocks(CONTRACT["## Contract: setup"])[0])
    assert targets == ["demo", "test"]
    for target in targets:
        assert re.search(rf"(?m)^{target}:", makefile), f"`make {target}` has no Makefile target"
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


# -- JSON keys -----------------------------------------------------------------------------------


def http_shapes() -> dict[str, dict[str, str]]:
    """Per route: its `request` shape, `response` shape or status, and `NNN` shapes (e.g. readyz)."""
    shapes: dict[str, dict[str, str]] = {}
    last = ""
    for line in blocks(CONTRACT["## Contract: HTTP"])[0].splitlines():
        if m := re.match(r"(GET|POST|PATCH)\s+(/\S+)\s+(\{.*\})", line):
            last = f"{m[1]} {_path(m[2])}"
            shapes.setdefault(last, {})["request"] = m[3]
        if m := re.match(r"\s+->\s+(.*)$", line):
            shapes.setdefault(last, {})["response"] = m[1].strip()
        for name, spec in re.findall(r"\b(\w+): (\d{3} \{(?:[^{}]|\{[^{}]*\})*\}.*)$", line):
            for status, shape in re.findall(r"(\d{3}) (\{(?:[^{}]|\{[^{}]*\})*\})", spec):
                shapes.setdefault(f"GET /{name}", {})[status] = shape
    return shapes


def test_http_request_and_response_keys(http_app: Any) -> None:
    schema = http_app.openapi()
    components = schema["components"]["schemas"]

    def properties(node: dict[str, Any]) -> tuple[set[str], set[str]]:
        ref = node["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        return set(components[ref]["properties"]), set(components[ref].get("required", []))

    shapes = http_shapes()
    assert {"POST /v1/suggest", "POST /v1/events", "GET /readyz"} <= set(shapes)
    for route, shape in shapes.items():
        method, path = route.split(" ", 1)
        if f"route: {route}" in MISSING or "request" not in shape:
            continue
        operation = schema["paths"][path][method.lower()]
        have, required = properties(operation["requestBody"])
        wanted = keys_of(shape["request"].replace("?", ""))
        assert set(wanted) <= have, f"{route} request lacks {set(wanted) - have}"
        optional = set(re.findall(r"(\w+)\?", shape["request"]))
        assert required <= set(wanted) - optional, f"{route} requires {required - (set(wanted) - optional)}"
        response = shape.get("response", "")
        if response.isdigit():
            assert response in operation["responses"], f"{route} does not answer {response}"
        elif response:
            have, _ = properties(operation["responses"]["200"])
            assert set(keys_of(response)) <= have, f"{route} response lacks {set(keys_of(response)) - have}"


def test_readyz_bodies(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from supportcue.service import create_app
    from supportcue.settings import load_settings
    from tests.test_pipeline import make

    shapes = http_shapes()["GET /readyz"]
    (tmp_path / "supportcue.toml").write_text("")
    app = create_app(load_settings(tmp_path, environ={}), load_models=False)
    with TestClient(app) as client:
        app.state.runtime.error = "no live topic model: run `supportcue train`"
        failed = client.get("/readyz")
        assert failed.status_code == 503 and set(keys_of(shapes["503"])) <= set(failed.json())
        assert "supportcue train" in failed.json()["reason"]
        app.state.runtime.pipeline = make()
        ready = client.get("/readyz")
        assert ready.status_code == 200 and set(keys_of(shapes["200"])) <= set(ready.json())
        assert ready.json()["models"]["topic"] == "v3"


def test_models_json_keys_and_statuses(tmp_path: Path) -> None:
    from supportcue.settings import init_workspace, load_settings

    (note,) = [m for b in ALL_BLOCKS for m in re.findall(r"(?m)^\s*models --json: (.*)$", b)]
    statuses = set(re.search(r"status \(([^)]*)\)", note)[1].split("|"))  # type: ignore[index]
    init_workspace(tmp_path)
    from supportcue.data.store import open_store

    store = open_store(load_settings(tmp_path, environ={}).database_url)
    for version, status in (("v1", "previous"), ("v2", "live"), ("v3", "candidate")):
        row = {"stage": "topic", "version": version, "artifact_path": "-", "fingerprint": "f"}
        store.models.add({**row, "status": status, "metrics": {"summary": {"accuracy": 0.9}}})
    store.close()
    out = CliRunner().invoke(cli_app, ["--workspace", str(tmp_path), "models", "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output.splitlines()[-1])
    assert len(rows) == 3
    for row in rows:
        assert set(keys_of(note)) <= set(row), f"models --json lacks {set(keys_of(note)) - set(row)}"
        assert row["status"] in statuses
    assert rows[0]["metrics"] == {"summary": {"accuracy": 0.9}}


def eval_contract() -> dict[str, tuple[list[str], list[str]]]:
    """Per eval command: its --json keys (with the one --label-col adds) and its --predictions row."""
    section = CONTRACT["## Contract: evaluation on your own labeled files"]
    block = blocks(section)[0]
    rows = dict(re.findall(r"(?m)^\s+(\w+):\s+(\{.*\})\s*$", block))
    out = {}
    for form in commands():
        if form.path[:1] != ("eval",) or not form.notes or not form.notes[0].startswith("keys:"):
            continue
        text = form.notes[0].removeprefix("keys:")
        conditional = re.search(r"\(and (\w+) when (--[a-z-]+) is given\)", text)
        text = text[: conditional.start()] if conditional else text
        name = form.path[1]
        keys = [k.strip() for k in text.split(",") if k.strip()]
        out[name] = (keys + ([conditional[1]] if conditional else []), keys_of(rows[name]))
    return out


@pytest.fixture
def labeled(tmp_path: Path) -> dict[str, Path]:
    """Small labeled files (three topics and out-of-scope rows) and a tfidf workspace to run them in."""
    from supportcue.settings import init_workspace

    topics = {
        "payouts": ("when is my payout {}", "Payouts arrive within 2 business days."),
        "refunds": ("where is my refund {}", "Refunds take 5 to 10 business days."),
        "close": ("close my account {}", "Open Settings > Account and choose Close account."),
        "oos": ("tell me a joke about cats {}", "We can only help with your account."),
    }

    def write(name: str, numbers: range, with_oos: bool) -> Path:
        rows = [
            {"text": q.format(i), "reply": r, "label": t}
            for i in numbers
            for t, (q, r) in topics.items()
            if with_oos or t != "oos"
        ]
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path

    config = init_workspace(tmp_path / "ws")
    config.write_text(config.read_text().replace('model = "minilm"', 'model = "tfidf"'))
    return {
        "ws": tmp_path / "ws",
        "train": write("train", range(10), False),
        "val": write("val", range(10, 14), True),
        "test": write("test", range(14, 18), True),
        "test_in": write("test_in", range(14, 18), False),
    }


def test_eval_json_keys_and_prediction_rows(labeled: dict[str, Path], tmp_path: Path) -> None:
    from supportcue.settings import get_settings

    get_settings.cache_clear()
    contract = eval_contract()
    assert set(contract) == {"classify", "oos", "suggest"}
    files = {
        "classify": ["--train", labeled["train"], "--test", labeled["test_in"]],
        "oos": ["--train", labeled["train"], "--val", labeled["val"], "--test", labeled["test"]],
        "suggest": ["--train", labeled["train"], "--test", labeled["test_in"], "--label-col", "label"],
    }
    for name, (keys, row_keys) in contract.items():
        predictions = tmp_path / f"{name}.jsonl"
        args = [
            "--workspace",
            labeled["ws"],
            "eval",
            name,
            *files[name],
            "--predictions",
            predictions,
            "--json",
        ]
        out = CliRunner().invoke(cli_app, [str(a) for a in args])
        assert out.exit_code == 0, out.output + repr(out.exception)
        result = json.loads(out.output.splitlines()[-1])
        assert set(keys) <= set(result), f"eval {name} --json lacks {set(keys) - set(result)}"
        first = json.loads(predictions.read_text().splitlines()[0])
        assert set(row_keys) <= set(first), f"eval {name} --predictions lacks {set(row_keys) - set(first)}"
    get_settings.cache_clear()


def import_columns() -> dict[str, list[str]]:
    """Per kind, its columns as the import block lists them (`*id` required, `case_id|text` either)."""
    title = next(t for t in CONTRACT if "import files" in t)
    columns: dict[str, list[str]] = {}
    kind = ""
    for line in blocks(CONTRACT[title])[0].splitlines():
        words = line.split("(")[0].split()
        if not words or words[0].endswith(":"):
            continue
        if not line.startswith(" "):
            kind, words = words[0], words[1:]
        columns.setdefault(kind, []).extend(words)
    return columns


def test_import_columns_are_read_and_listed_in_help() -> None:
    from supportcue.data.columns import MODELS

    contract = import_columns()
    assert set(contract) == set(MODELS) and "handle_seconds" in contract["cases"]
    help_words = set(CliRunner().invoke(cli_app, ["import", "--help"]).output.split())
    for kind, columns in contract.items():
        fields = MODELS[kind].model_fields
        for column in columns:
            required = column.startswith("*")
            for name in column.lstrip("*").split("|"):
                assert name in fields, f"import {kind}: column {name} is not read"
                assert fields[name].is_required() == required, f"import {kind}: {name} required?"
                listed = ("*" if required else "") + name
                assert listed in help_words, f"`import --help` does not list {listed} ({kind})"
