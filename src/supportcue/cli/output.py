"""How CLI commands print: a readable table for people, one JSON object (last line) for scripts."""

from __future__ import annotations

import json
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console(stderr=False)
err_console = Console(stderr=True)


def say(text: str, out: Console = console, style: str | None = None) -> None:
    """Print `text` as written: no markup (a label or a file name may hold "[x]"), no highlighting,
    and never wrapped at the 80 columns rich assumes for a pipe (lines name files and commands to copy).
    """
    out.print(text, style=style, highlight=False, markup=False, soft_wrap=True)


def warn(text: str) -> None:
    """Print `warning: text` on stderr, as `say` prints (the result on stdout stays parseable)."""
    say(f"warning: {text}", err_console)


def emit(result: dict[str, Any], as_json: bool, title: str = "") -> None:
    """Print `result`: as a key/value table, or as one JSON line when `as_json`."""
    if as_json:
        print(json.dumps(result, default=str))
        return
    table = Table(title=title or None, show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    for key, value in result.items():
        if value is None:
            text = "n/a"  # a figure with nothing to count (JSON null)
        elif isinstance(value, float):
            text = f"{value:.4f}"
        elif isinstance(value, dict | list):
            text = json.dumps(value, default=str)[:200]
        else:
            text = str(value)
        table.add_row(key, Text(text))  # a Text, not markup: a value may hold "[gate]" and the like
    console.print(table)


def fitted_table(
    rows: list[dict[str, str]],
    optional: tuple[str, ...] = (),
    wrap: tuple[str, ...] = (),
    out: Console = console,
    title: str | None = None,
) -> Table:
    """Rows as a compact table that fits `out`: the `optional` columns are left out when it would not
    (an 80-column terminal, or a pipe, which rich renders at 80). Squeezed instead, cells became
    ellipses ("answer_…", "2026-10…"). Only the `wrap` columns (free text) may wrap."""

    def build(columns: list[str]) -> Table:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 0), title=title)
        for column in columns:
            table.add_column(column, no_wrap=column not in wrap, overflow="fold")
        for row in rows:
            table.add_row(*(Text(row[c]) for c in columns))
        return table

    columns = list(rows[0]) if rows else []
    table = build(columns)
    if out.measure(table, options=out.options.update_width(10_000)).maximum > out.width:
        table = build([c for c in columns if c not in optional])
    return table
