"""A value longer than its database column is a reject naming the line and the field, on SQLite and
PostgreSQL alike: PostgreSQL refused it (`value too long for type character varying(50)`) and the
whole import stopped with a DataError, while SQLite stored it as it came."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supportcue.data.columns import MODELS
from supportcue.data.importer import import_file
from supportcue.data.store import Store

LONG = [
    ("cases", "arm", 51),
    ("cases", "channel", 31),
    ("cases", "customer_name", 201),
    ("cases", "agent_id", 101),
    ("events", "agent_id", 101),
    ("events", "suggestion_id", 41),
    ("labels", "annotator", 101),
    ("labels", "case_id", 101),
    ("articles", "topic", 101),
    ("answers", "owner", 201),
    ("articles", "url", 501),
]


@pytest.mark.parametrize(("kind", "field", "size"), LONG, ids=[f"{k}.{f}" for k, f, _ in LONG])
def test_a_value_too_long_for_its_column_is_a_reject(
    store: Store, tmp_path: Path, kind: str, field: str, size: int
) -> None:
    if kind in ("events", "labels"):
        store.cases.upsert([{"id": "c1", "message": "hi"}])
    example = {**MODELS[kind].example}
    if "case_id" in example:
        example["case_id"] = "c1"
    rows = [{**example, field: "x" * size}, {**example, field: "x" * (size - 1)}]
    for i, row in enumerate(rows):  # the two rows are two records
        for key in ("id", "idempotency_key"):
            if key in row:
                row[key] = f"{row[key]}-{i}"
    path = tmp_path / f"{kind}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = import_file(store, kind, path)
    too_long = [(r.line, r.fields) for r in report.rejects if f"at most {size - 1} characters" in r.reason]
    assert too_long == [(1, [field])], report.rejects
    assert len(report.rejects) == 1 and report.stored == 1
