"""Reading and writing the row files supportcue exchanges with users: `.csv` and `.jsonl`.

`read_rows` yields `(line_number, row)` so every error can name the file and the line. A file that
cannot be read at all (unknown suffix, not UTF-8, no header) raises `ImportDataError` naming the file.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from supportcue.errors import ImportDataError

SUFFIXES = (".csv", ".jsonl")

# A single field may legitimately be large (a pasted log, a long email thread).
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def check_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportDataError(f"{path}: unsupported file type {suffix or '(none)'}; use .csv or .jsonl")
    return suffix


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, row) from a .csv (header on line 1) or .jsonl file."""
    suffix = check_suffix(path)
    if not path.exists():
        raise ImportDataError(f"{path}: no such file")
    try:
        if suffix == ".csv":
            yield from _read_csv(path)
        else:
            yield from _read_jsonl(path)
    except UnicodeDecodeError as exc:
        raise ImportDataError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); re-save it as UTF-8"
        ) from None


def _read_csv(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise ImportDataError(f"{path}: empty file, expected a header line")
        for row in reader:
            extra = row.pop(None, None)
            if extra:
                row["__extra__"] = extra
            yield reader.line_num, row


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, {"__error__": f"not valid JSON: {exc.msg}"}
                continue
            if not isinstance(row, dict):
                yield number, {"__error__": "not a JSON object"}
                continue
            yield number, row


def header_of(path: Path) -> list[str]:
    """The column names of a file (CSV header, or the keys of the first JSONL row)."""
    for _, row in read_rows(path):
        return [k for k in row if not k.startswith("__")]
    return []


def write_rows(path: Path, rows: Iterable[Mapping[str, Any]], columns: list[str] | None = None) -> int:
    """Write rows as .csv or .jsonl (by suffix); returns the number written."""
    suffix = check_suffix(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        if suffix == ".jsonl":
            for row in rows:
                handle.write(json.dumps(dict(row), ensure_ascii=False, default=_json_default) + "\n")
                count += 1
        else:
            rows = list(rows)
            names = columns or (list(rows[0].keys()) if rows else [])
            writer = csv.DictWriter(handle, fieldnames=names, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _cell(v) for k, v in row.items()})
                count += 1
    return count


def _json_default(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "" if value is None else value
