"""How CLI commands print: a readable table for people, one JSON object (last line) for scripts."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console(stderr=False)
err_console = Console(stderr=True)


def emit(result: dict[str, Any], as_json: bool, title: str = "") -> None:
    """Print `result`: as a key/value table, or as one JSON line when `as_json`."""
    if as_json:
        print(json.dumps(result, default=str))
        return
    table = Table(title=title or None, show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    for key, value in result.items():
        if isinstance(value, float):
            text = f"{value:.4f}"
        elif isinstance(value, dict | list):
            text = json.dumps(value, default=str)[:200]
        else:
            text = str(value)
        table.add_row(key, Text(text))  # a Text, not markup: a value may hold "[gate]" and the like
    console.print(table)
