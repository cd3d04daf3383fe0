"""Reading and writing the row files supportcue exchanges with users: `.csv` and `.jsonl`.

`read_rows` yields `(line_number, row)` so every error can name the file and the line. A file that
cannot be read at all (unknown suffix, text that does not decode, no header) raises
`ImportDataError` naming the file (and the line, when there is one).
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any

from supportcue.errors import ImportDataError

SUFFIXES = (".csv", ".jsonl")
_LINE_END = re.compile(r"\r\n|\n|\r(?=.)", re.DOTALL)
"""A line's end; a final \\r waits for the next chunk, which may start with its \\n."""

# A single field may legitimately be large (a pasted log, a long email thread).
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def check_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportDataError(f"{path}: unsupported file type {suffix or '(none)'}; use .csv or .jsonl")
    return suffix


def read_rows(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, row) from a .csv (header on line 1) or .jsonl file.

    A row's line number is the line it starts on. `encoding` is any Python codec name; UTF-8 (the
    default) also reads a file that starts with a byte-order mark, UTF-8's or UTF-16's or UTF-32's
    (what spreadsheets save as "Unicode text"), in the encoding the mark names, and UTF-16 or UTF-32
    without a mark (`_sniffed`). Text that does not
    decode stops the file with an `ImportDataError` naming the file and the line."""
    suffix = check_suffix(path)
    if not path.exists():
        raise ImportDataError(f"{path}: no such file")
    if path.is_dir():
        raise ImportDataError(f"{path}: a folder, not a file")
    lines = _lines(path, _sniffed(path, _codec(encoding)))
    yield from _read_csv(path, lines) if suffix == ".csv" else _read_jsonl(path, lines)


def _codec(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ImportDataError(f"unknown encoding {encoding!r}; e.g. utf-8, utf-16, cp1252, latin-1") from None
    return "utf-8-sig" if name == "utf-8" else name


def _sniffed(path: Path, encoding: str) -> str:
    """`encoding`, or what the file's first four bytes say it is when UTF-8, the default, was asked
    for: a UTF-16 or UTF-32 byte-order mark, or (without a mark) the zero bytes that UTF-16 and UTF-32
    put beside each ASCII character of a header such as `id,message` or `{"id"`. UTF-8 text never
    starts with either. This is the stdlib's `json.detect_encoding` (RFC 4627's rule), which reads a
    CSV header as well as a JSON line."""
    if encoding != "utf-8-sig":
        return encoding
    with path.open("rb") as handle:
        head = handle.read(4)
    found = json.detect_encoding(head)
    return encoding if found == "utf-8" else found


def _lines(path: Path, encoding: str) -> Iterator[str]:
    """The file's text line by line (each with its end: \\n, \\r\\n or a lone \\r), decoded as it
    is read, so that text that does not decode is reported with its line."""
    decoder = codecs.getincrementaldecoder(encoding)()
    pending, number = "", 1  # `pending` is the text of line `number` read so far
    with path.open("rb") as handle:
        for raw in chain(handle, [b""]):
            try:
                pending += decoder.decode(raw, final=not raw)
            except UnicodeError as exc:  # UTF-16 without a byte-order mark: not a UnicodeDecodeError
                reason = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
                raise ImportDataError(
                    f"{path}:{number}: not {encoding.removesuffix('-sig')} text "
                    f"({reason}); re-save the file as UTF-8 or name its encoding, e.g. --encoding cp1252"
                ) from None
            start = 0
            for end in _LINE_END.finditer(pending):
                yield pending[start : end.end()]
                start = end.end()
                number += 1
            pending = pending[start:]
    if pending:
        yield pending


_FORMULA = re.compile(r"'*[=+\-@\t\r]")
"""A cell a spreadsheet would evaluate (`=`, `+`, `-`, `@`, a tab or carriage return first), also
after the quotes `_as_text` puts before it."""


def _as_text(value: str) -> str:
    """A CSV cell that opens as text in a spreadsheet: one `'` before a value that starts like a
    formula (a customer's `=HYPERLINK(...)` would run in whoever opens the export). `_from_text`
    takes it off again, so an export imports back unchanged."""
    return "'" + value if _FORMULA.match(value) else value


def _from_text(value: str) -> str:
    return value[1:] if value.startswith("'") and _FORMULA.match(value, 1) else value


_QUOTED = re.compile(r'"[^"]*"')
DELIMITERS = (",", ";", "\t")
"""What separates a CSV file's cells: commas, semicolons (Excel's "CSV" where a comma is the decimal
mark, most of Europe) or tabs (a copy from a spreadsheet)."""


def _delimiter(header: str) -> str:
    """The delimiter the header line uses most, outside quotes (a comma when it has none)."""
    bare = _QUOTED.sub("", header)
    return max(DELIMITERS, key=lambda d: (bare.count(d), d == ","))


_SEP_LINE = re.compile(r'"?sep=(.)"?')
"""Excel's first line naming the delimiter (`sep=;`), which Excel writes and reads: not the header."""


def _read_csv(path: Path, lines: Iterator[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    first, skipped = next(lines, ""), 0  # blank lines before the header (some exports start so)
    while first and not first.strip():
        first, skipped = next(lines, ""), skipped + 1
    sep = _SEP_LINE.fullmatch(first.rstrip("\r\n"))
    if sep:  # the header is the line after it
        first, skipped = next(lines, ""), skipped + 1
    reader = csv.reader(chain([first], lines), delimiter=sep[1] if sep else _delimiter(first))
    header = next(reader, None)
    if not header:
        raise ImportDataError(f"{path}: empty file, expected a header line")
    header = [name.strip() for name in header]
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        raise ImportDataError(f"{path}:{skipped + 1}: the header repeats column(s) {', '.join(repeated)}")
    while True:
        start = skipped + reader.line_num + 1
        try:
            values = next(reader, None)
        except csv.Error as exc:
            raise ImportDataError(
                f"{path}:{skipped + reader.line_num}: not readable as CSV ({exc})"
            ) from None
        if values is None:
            return
        if not any(v.strip() for v in values):
            continue  # a blank line
        if [v.strip() for v in values] == header:
            yield start, {"__error__": "the header line again (were two files joined?): not a row"}
            continue
        values = [_from_text(v) for v in values]
        unnamed = [
            i for i, (name, v) in enumerate(zip(header, values, strict=False)) if not name and v.strip()
        ]
        if unnamed:  # a spreadsheet's trailing empty columns are nameless: a value there is misplaced
            reason = f"a value in column {unnamed[0] + 1}, which has no name in the header (a shifted row?)"
            yield start, {"__error__": reason}
            continue
        row: dict[str, Any] = {name: v for name, v in zip(header, values, strict=False) if name}
        if len(values) > len(header):
            row["__extra__"] = values[len(header) :]
        yield start, row


def loads(text: str) -> Any:
    """`json.loads`, every failure a `json.JSONDecodeError` whose `msg` says what is wrong: nesting
    past the interpreter's recursion limit, and integers past its 4,300 digits, raise other errors."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    except ValueError as exc:
        reason = "a number has too many digits" if "digits" in str(exc) else str(exc)
        raise json.JSONDecodeError(reason, text, 0) from None


def number_text(value: Any) -> Any:
    """A JSON number read where a label (text) is expected, as one text per number: an integer as
    written (`3`), a float without a fraction as that integer (`3.0` is "3", the same label as `3`),
    another as Python writes it (`2.5`). Any other value is returned as it is: a string stays as
    typed ("3.0"), and NaN or infinity (`1e400`) are no label."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return value
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _read_jsonl(path: Path, lines: Iterator[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    first = True
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = loads(line)
        except json.JSONDecodeError as exc:
            if first and line.strip() in ("[", "{"):  # a .json file's document, indented over lines
                raise ImportDataError(
                    f"{path}:{number}: a JSON document over several lines; a .jsonl file is JSON Lines, "
                    "one JSON object per line (`jq -c '.[]' FILE.json > FILE.jsonl` writes one)"
                ) from None
            yield number, {"__error__": f"not valid JSON: {exc.msg}"}
            continue
        finally:
            first = False
        if isinstance(row, list):
            yield (
                number,
                {"__error__": "a JSON array, not an object: a .jsonl file has one JSON object per line"},
            )
        elif not isinstance(row, dict):
            yield number, {"__error__": "not a JSON object"}
        else:
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
    if isinstance(value, str):
        return _as_text(value)
    return "" if value is None else value
