"""`supportcue report` and `review stats`: a bad date names the command's own option (`--since`), not
the API's query parameter (`since=`), which the HTTP API keeps."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from supportcue.cli import app
from supportcue.settings import init_workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    init_workspace(tmp_path)
    return tmp_path


def error_of(workspace: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["--workspace", str(workspace), *args])
    assert result.exit_code == 2, result.output
    return " ".join(result.output.replace("│", " ").split())  # the words, whatever the box's wrapping


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["report", "--since", "yesterday"], "--since='yesterday' is not an ISO date"),
        (["report", "--until", "2026-13-01"], "--until='2026-13-01' is not an ISO date"),
        (["report", "--since", "0001-01-01"], "--since=0001-01-01 is out of range"),
        (
            ["report", "--since", "2026-10-02", "--until", "2026-10-01"],
            "--since (2026-10-02) must be before --until (2026-10-01)",
        ),
        (["report", "--group-by", "week"], "--group-by: 'week' is not one of: day, topic"),
        (["review", "stats", "--since", "yesterday"], "--since='yesterday' is not an ISO date"),
    ],
)
def test_a_bad_date_names_the_option(workspace: Path, args: list[str], says: str) -> None:
    said = error_of(workspace, *args)
    assert says in said, said
    assert " since=" not in said and "group_by=" not in said


def test_the_similarity_histogram_is_one_line_in_a_log(workspace: Path) -> None:
    """Written to a pipe (80 columns), the histogram's line broke in two mid-figure."""
    result = CliRunner().invoke(app, ["--workspace", str(workspace), "report"], terminal_width=80)
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("similarity histogram: "))
    assert len(line) > 80 and line.split(": ", 1)[1].count(" ") >= 2 * 9, line  # every bucket on it
