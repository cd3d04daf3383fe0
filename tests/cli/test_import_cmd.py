"""`supportcue import` as a user meets it: each kind's help (generated from the column definitions),
--set, --dry-run, a file whose every row is rejected, and the answers warning."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supportcue.cli import app
from supportcue.data.columns import KINDS, columns


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    assert CliRunner().invoke(app, ["init", str(ws)]).exit_code == 0
    return ws


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def section(text: str, title: str) -> list[str]:
    """The indented lines under a help section's title."""
    lines = text.split(title, 1)[1].splitlines()[1:]
    out = []
    for line in lines:
        if line and not line.startswith(" "):
            break
        out.append(line.strip())
    return [line for line in out if line]


@pytest.mark.parametrize("kind", KINDS)
def test_kind_help_lists_every_column_and_its_example_imports(
    kind: str, workspace: Path, tmp_path: Path
) -> None:
    code, out, _ = invoke("import", kind, "--help")
    assert code == 0
    listing = " ".join(section(out, f"Columns of {kind}"))
    for column in columns(kind):
        entry = re.search(rf"(?:^| )(\*?){column.name} {{2,}}(.*?)\[([^\]]*)\]", listing)
        assert entry, f"{column.name} is not listed"
        assert entry[1] == ("*" if column.required else ""), f"{column.name}: required?"
        assert entry[2].strip().lower().startswith(column.doc[:20].lower())
        assert entry[3].startswith(column.values)
        assert ("default: " + column.default in entry[3]) == bool(column.default)
    for other in set(KINDS) - {kind}:
        assert f"Columns of {other}" not in out
    # the example row of the help is a real one: it imports cleanly, as .csv and as .jsonl
    for suffix, title in ((".csv", "Example (.csv)"), (".jsonl", "Example (.jsonl)")):
        path = tmp_path / f"example{suffix}"
        path.write_text("\n".join(section(out, title)) + "\n", encoding="utf-8")
        code, out_, err = invoke("--workspace", str(workspace), "import", kind, str(path), "--json")
        assert code == 0, err
        result = json.loads(out_.splitlines()[-1])
        assert (result["read"], result["stored"], result["rejected"]) == (1, 1, 0)


def test_import_help_without_a_kind_lists_every_kind() -> None:
    code, out, _ = invoke("import", "--help")
    assert code == 0
    lines = section(out, "Columns of each kind")
    assert [line.split(":")[0] for line in lines] == list(KINDS)
    assert "supportcue import KIND --help" in out


def test_set_dry_run_and_the_answers_warning(workspace: Path, tmp_path: Path) -> None:
    answers = tmp_path / "answers.csv"
    answers.write_text("id,topic,title,body\na1,refunds,Refunds,Refunds take 5 days.\n")
    ws = ["--workspace", str(workspace)]
    code, out, err = invoke(*ws, "import", "answers", str(answers), "--dry-run", "--json")
    assert code == 0
    result = json.loads(out.splitlines()[-1])
    assert (result["valid"], result["stored"], result["dry_run"], result["committed"]) == (1, 0, True, False)
    assert "warning: none of the 1 answers is approved" in err and "--set status=approved" in err
    code, out, err = invoke(*ws, "import", "answers", str(answers), "--set", "status=approved", "--json")
    assert code == 0 and "warning" not in err
    assert json.loads(out.splitlines()[-1])["stored"] == 1
    code, out, _ = invoke(*ws, "export", "answers", str(tmp_path / "out.jsonl"))
    assert json.loads((tmp_path / "out.jsonl").read_text())["status"] == "approved"
    code, _, err = invoke(*ws, "import", "answers", str(answers), "--set", "status")
    assert code == 2 and "use FIELD=VALUE" in err


@pytest.mark.parametrize(
    ("kind", "option", "given"),
    [
        ("cases", "--set", "=1"),
        ("cases", "--set", " =1"),
        ("cases", "--set", "__error__=x"),  # the reader's own markers
        ("cases", "--map", "=message"),
        ("answers", "--set", "=1"),
        ("answers", "--set", "nosuch=1"),
    ],
)
def test_a_set_or_map_field_that_cannot_be_one_is_a_usage_error(
    workspace: Path, tmp_path: Path, kind: str, option: str, given: str
) -> None:
    """An empty or reserved field name (any kind), or one the kind does not have (cases take any
    other name as a case field): exit 2 naming the option and the fields the kind takes, nothing read."""
    path = tmp_path / f"{kind}.csv"
    path.write_text("id,message,topic,title,body\nc1,hello,refunds,Refunds,Refunds take 5 days.\n")
    code, out, err = invoke("--workspace", str(workspace), "import", kind, str(path), option, given)
    assert code == 2 and not out, err
    flat = " ".join(err.replace("│", " ").split())
    assert f"Invalid value for {option}: {given!r}" in flat, flat
    first = "id, message, channel" if kind == "cases" else "id, topic, title, body, status"
    assert first in flat
    assert ("or any other name (a case field" in flat) == (kind == "cases")
    assert not (tmp_path / f"{kind}.csv.rejects.jsonl").exists()


def test_set_on_cases_gives_every_case_a_field_of_any_other_name(workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_text("id,message\nc1,where is my order\n")
    ws = ["--workspace", str(workspace)]
    code, _, err = invoke(*ws, "import", "cases", str(path), "--set", "brand=Acme")
    assert code == 0, err
    invoke(*ws, "export", "cases", str(tmp_path / "out.jsonl"))
    assert json.loads((tmp_path / "out.jsonl").read_text())["fields"] == {"brand": "Acme"}


def test_a_file_whose_every_row_is_rejected_exits_non_zero(workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("case_id,task,value\nc1,mood,happy\nc2,validity,maybe\n")
    code, _, err = invoke("--workspace", str(workspace), "import", "labels", str(path))
    assert code == 1
    assert "labels.csv:2: task: Input should be" in err and "labels.csv:3: value: a validity label" in err
    assert "every row of" in err and "was rejected: nothing imported" in err
    assert "happy" not in err and "maybe" not in err  # positions and reasons, never the values
    path.write_text("case_id,task,value\nc1,mood,happy\nc2,validity,valid\n")
    code, _, err = invoke("--workspace", str(workspace), "import", "labels", str(path))
    assert code == 0 and "labels.csv:2:" in err


def test_import_labels_gives_a_new_sme_label_the_review_expiry_of_the_workspace(
    workspace: Path, tmp_path: Path
) -> None:
    """The README's round trip: a decided `labels issues` batch imported with --set source=sme; its
    labels expire `[review] label_days` after they were made, as /review's do (they never did)."""
    from supportcue.data.store import open_store

    toml = workspace / "supportcue.toml"
    toml.write_text(toml.read_text().replace("label_days = 180", "label_days = 45"))
    batch = tmp_path / "review.csv"
    batch.write_text("rank,case_id,given,suggested,decision\n1,c1,payouts,refunds,refunds\n")
    code, _, err = invoke(
        "--workspace", str(workspace), "import", "labels", str(batch), "--set", "task=topic",
        "--map", "value=decision", "--set", "source=sme", "--set", "annotator=olga", "--json",
    )  # fmt: skip
    assert code == 0, err
    store = open_store(f"sqlite:///{workspace / 'supportcue.db'}")
    try:
        (label,) = store.labels.list("topic")
    finally:
        store.close()
    assert label.source == "sme" and label.expires_at is not None
    assert (label.expires_at - label.created_at).days == 45
