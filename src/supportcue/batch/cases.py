"""The cases a batch job reads: a cases file (the import's columns), validated and streamed in chunks.

Rows are checked exactly as `supportcue import cases` checks them (`data/importer.iter_rows`), and a
bad row is reported with the file and its line; a case id that repeats an earlier row's is a rejected
row too (the first one is kept, as the import keeps it), so a case is done and counted once. Nothing
is held in memory per row beyond the current chunk: the ids seen go to a temporary on-disk SQLite
database (`SeenIds`), the bad rows to the rejects file as they are read (`Rejects`), so a file of any
size is read in constant memory.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from supportcue.data.columns import CaseRow
from supportcue.data.importer import ImportReport, Reject, iter_rows, reject_line, rejects_file
from supportcue.pipeline import SuggestRequest
from supportcue.security.redaction import redact


@dataclass(frozen=True)
class BatchCase:
    """One historical case, as a job needs it (small and picklable: it travels to Ray's workers)."""

    id: str
    message: str
    line: int
    customer_name: str | None = None
    context: list[dict[str, str]] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    reply: str | None = None
    """What the agent sent (the import's `reply` column): the answer-match labeling function reads it."""

    @classmethod
    def of(cls, line: int, row: CaseRow) -> BatchCase:
        return cls(
            id=row.id,
            message=row.message,
            line=line,
            customer_name=row.customer_name,
            context=list(row.context),
            fields={k: str(v) for k, v in row.fields.items()},
            reply=row.reply,
        )

    def request(self) -> SuggestRequest:
        """The suggestion request the service would have made for the case."""
        return SuggestRequest(
            message=self.message,
            case_id=self.id,
            customer_name=self.customer_name,
            context=list(self.context),
            fields=dict(self.fields),
        )


KEPT_REJECTS = 20
"""Rejected rows kept in memory, to show; every one goes to the rejects file."""


class Rejects:
    """A batch job's rejected rows, written to `FILE.batch-rejects.jsonl` as the file is read rather than
    gathered for the end: a file of any size may be all bad rows (a date format the import does not
    read). The first `KEPT_REJECTS` are kept to show."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.count = 0
        self.first: list[Reject] = []
        self.path: Path | None = None
        self._handle: TextIO | None = None

    def add(self, reject: Reject) -> None:
        self.count += 1
        if len(self.first) < KEPT_REJECTS:
            self.first.append(reject)
        if self._handle is None:  # the file only once there is a bad row, as `import` writes it
            self.path = rejects_file(self.source, "batch")
            self._handle = self.path.open("w", encoding="utf-8")
        self._handle.write(reject_line(self.source, reject))

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


class SeenIds:
    """The case ids read so far, each with its first line, in a private temporary SQLite database on
    disk (SQLite deletes it when closed): a history of millions of cases is not held in memory."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("")  # "": a temporary on-disk database, removed on close
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("CREATE TABLE seen (id TEXT PRIMARY KEY, line INTEGER) WITHOUT ROWID")

    def first_line(self, case_id: str, line: int) -> int | None:
        """None the first time `case_id` is seen (it is noted, at `line`); else the line it was first on."""
        if self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (case_id, line)).rowcount:
            return None
        row = self._db.execute("SELECT line FROM seen WHERE id = ?", (case_id,)).fetchone()
        return int(row[0])

    def close(self) -> None:
        self._db.close()


def read_cases(
    path: Path,
    report: ImportReport,
    chunk_size: int = 1000,
    mapping: Mapping[str, str] | None = None,
    constants: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    limit: int | None = None,
) -> Iterator[list[BatchCase]]:
    """The valid cases of `path` in chunks of at most `chunk_size`; bad rows, and rows repeating an
    earlier row's id, go to `report.rejects`. `limit` stops after that many cases accepted (a repeated
    id, rejected, is not one of them: `batch label --fit-rows N` fits on N cases)."""
    chunk: list[BatchCase] = []
    taken = 0
    seen = SeenIds()
    rows = iter_rows("cases", path, report, mapping, constants, encoding, unique=False)
    try:
        for line, row in rows:
            assert isinstance(row, CaseRow)
            first = seen.first_line(row.id, line)
            if first is not None:  # rejected as `import` rejects it, in file order with the others
                report.valid -= 1
                reason = f"duplicate id: line {first} has the same id (the first one is kept)"
                report.reject(Reject(line, reason, {"id": redact(row.id)[:200]}, []))
                continue
            chunk.append(BatchCase.of(line, row))
            taken += 1
            if len(chunk) >= chunk_size:
                yield chunk
                chunk = []
            if limit is not None and taken >= limit:
                break
        if chunk:
            yield chunk
    finally:
        seen.close()
