"""docs/data-formats.md and docs/examples/ kept honest: the doc's tables are the importer's column
definitions, its excerpts are in the example files, and every example file imports cleanly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from supportcue.data.columns import KINDS, Column, columns
from supportcue.data.importer import import_file
from supportcue.data.store import Store

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "data-formats.md").read_text(encoding="utf-8")
EXAMPLES = ROOT / "docs" / "examples"


def kind_sections() -> dict[str, str]:
    parts = re.split(r"(?m)^(?=## )", DOC)
    return {p.split()[1]: p for p in parts if p.startswith("## ") and p.split()[1] in KINDS}


def table_row(column: Column) -> str:
    cells = [f"`{column.name}`", "yes" if column.required else "", column.values, column.default, column.doc]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def example_files(kind: str) -> list[Path]:
    return [p for p in (EXAMPLES / f"{kind}.csv", EXAMPLES / f"{kind}.jsonl") if p.exists()]


def test_every_kind_has_a_section_whose_table_is_its_columns() -> None:
    sections = kind_sections()
    assert list(sections) == list(KINDS)
    for kind, text in sections.items():
        rows = [line for line in text.splitlines() if line.startswith("| `")]
        expected = [table_row(c) for c in columns(kind)]
        assert rows == expected, f"docs/data-formats.md, {kind}: the table should be\n" + "\n".join(expected)


def test_every_excerpt_is_in_its_example_file() -> None:
    """The block after "Example: [`examples/FILE`]" quotes FILE; `[...]` stands for left-out text."""
    excerpts = re.findall(r"Example: \[`examples/([^`]+)`\][^`]*?```\n(.*?)```", DOC, re.S)
    assert {name.split(".")[0] for name, _ in excerpts} == set(KINDS)
    for name, block in excerpts:
        lines = (EXAMPLES / name).read_text(encoding="utf-8").splitlines()
        for quoted in block.splitlines():
            pattern = ".*".join(re.escape(part) for part in quoted.split("[...]"))
            assert any(re.fullmatch(pattern, line) for line in lines), f"{name} has no line {quoted!r}"


@pytest.mark.parametrize("kind", KINDS)
def test_every_example_file_imports_without_a_reject(kind: str, store: Store) -> None:
    files = example_files(kind)
    assert files, f"docs/examples has no {kind}.csv or {kind}.jsonl"
    for path in files:
        report = import_file(store, kind, path, dry_run=True)
        assert report.read > 0 and report.valid == report.read, [(r.line, r.reason) for r in report.rejects]
        report = import_file(store, kind, path)
        assert report.committed and report.stored == report.read and not report.rejects


def test_the_examples_are_enough_to_train_on() -> None:
    """Several topics with enough labeled cases each, over weeks, and invalid messages too."""
    import csv
    from collections import Counter
    from datetime import datetime

    with (EXAMPLES / "labels.csv").open(encoding="utf-8") as handle:
        labels = list(csv.DictReader(handle))
    with (EXAMPLES / "cases.csv").open(encoding="utf-8") as handle:
        cases = {row["id"]: row for row in csv.DictReader(handle)}
    topics = Counter(row["value"] for row in labels if row["task"] == "topic")
    validity = Counter(row["value"] for row in labels if row["task"] == "validity")
    assert len(topics) >= 6 and min(topics.values()) >= 15, topics
    assert validity["invalid"] >= 10 and validity["valid"] >= 100, validity
    assert {row["case_id"] for row in labels} <= set(cases)
    times = sorted(datetime.fromisoformat(c["created_at"].replace("Z", "+00:00")) for c in cases.values())
    assert (times[-1] - times[0]).days >= 28
