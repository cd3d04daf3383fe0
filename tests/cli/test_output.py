"""Human-readable CLI tables fit the terminal: at 80 columns (a small terminal, or a pipe, which rich
renders at 80) rich squeezed wide tables until their cells were ellipses ("answer_…", "2026-10…")."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from supportcue.cli.output import emit, fitted_table

ALERTS = [
    {
        "id": "12",
        "kind": "answer_match_drop",
        "subject": "[bold]payouts[/bold] schedule change and a subject long enough to need two lines",
        "first seen": "2026-10-01",
        "last seen": "2026-10-05",
        "score": "0.312",
        "threshold": "0.15",
        "review items": "3",
    }
]


def render(width: int) -> str:
    out = Console(width=width, record=True, file=io.StringIO())
    out.print(
        fitted_table(ALERTS, optional=("first seen", "threshold", "review items"), wrap=("subject",), out=out)
    )
    return out.export_text()


def test_a_narrow_terminal_drops_the_optional_columns_and_wraps_only_free_text() -> None:
    text = render(80)
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    assert "answer_match_drop" in text and "2026-10-05" in text and "0.312" in text
    assert "threshold" not in text and "2026-10-01" not in text
    assert "[bold]payouts[/bold]" in text  # shown as written, not read as markup
    assert len(text.strip().splitlines()) > 3  # the subject took a second line


def test_a_wide_terminal_shows_every_column_on_one_line() -> None:
    text = render(200)
    assert "threshold" in text and "2026-10-01" in text and "review items" in text
    assert len(text.strip().splitlines()) == 3  # header, rule, one row


def test_label_issues_show_customers_words_as_written() -> None:
    """A message with "[/]" in it stopped `labels issues` with rich's markup error."""
    from supportcue.cli.weak_cmd import issues_table

    issue = {"rank": 1, "case_id": "c[1]", "given": "refunds", "suggested": "[b]payouts", "quality": 0.01}
    out = Console(width=80, record=True, file=io.StringIO())
    out.print(issues_table([{**issue, "text": "I paid [/] twice, see [red]this[/red]"}], "topic"))
    text = out.export_text()
    assert (
        "I paid [/] twice" in text and "[red]this[/red]" in text and "[b]payouts" in text and "c[1]" in text
    )


def test_a_figure_with_nothing_to_count_reads_n_a(capsys: pytest.CaptureFixture[str]) -> None:
    emit({"oos_recall": None, "in_scope_accuracy": 0.5}, as_json=False)
    out = capsys.readouterr().out
    assert "n/a" in out and "0.5000" in out and "None" not in out
    emit({"oos_recall": None}, as_json=True)
    assert capsys.readouterr().out.strip() == '{"oos_recall": null}'


def test_label_issues_show_each_message_on_one_line() -> None:
    """A message's line breaks were kept in its 60-character preview: "Good morning," on one row,
    an empty row, then the start of the question."""
    from supportcue.cli.weak_cmd import issues_table

    issue = {"rank": 1, "case_id": "c1", "given": "refunds", "suggested": "fees", "quality": 0.01}
    out = Console(width=200, record=True, file=io.StringIO())
    out.print(issues_table([{**issue, "text": "Good morning,\n\nWhere can I see\tmy fees?"}], "topic"))
    rows = out.export_text().strip().splitlines()
    assert len(rows) == 4 and "Good morning, Where can I see my fees?" in rows[-1]  # title, header, rule, row


def test_a_warning_goes_to_stderr_on_one_line_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    """Every warning of the CLI is printed one way: stdout stays the result (a script parses it), a
    label such as "[bold]" is not read as markup, and a long line is not cut at a pipe's 80 columns."""
    from supportcue.cli.output import say, warn

    long = "file [bold]x.csv[/bold] at /tmp/a/very/long/path " + "word " * 30
    warn(long.strip())
    said = capsys.readouterr()
    assert said.out == "" and said.err == f"warning: {long.strip()}\n"
    say("line 3: [red]bad[/red] " + "x" * 100)
    assert capsys.readouterr().out == "line 3: [red]bad[/red] " + "x" * 100 + "\n"
