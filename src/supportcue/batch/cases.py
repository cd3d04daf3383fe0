"""The cases a batch job reads: a cases file (the import's columns), validated and streamed in chunks.

Rows are checked exactly as `supportcue import cases` checks them (`data/importer.iter_rows`), and a
bad row is reported with the file and its line; but nothing is held per row beyond the current chunk
(duplicate ids are not looked for: every job is idempotent by case id, and the bad rows go to the
rejects file as they are read, `Rejects`), so a file of any size is read in constant memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from supportcue.data.columns import CaseRow
from supportcue.data.importer import ImportReport, Reject, iter_rows, reject_line, rejects_file
from supportcue.pipeline import SuggestRequest


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


def read_cases(
    path: Path,
    report: ImportReport,
    chunk_size: int = 1000,
    mapping: Mapping[str, str] | None = None,
    constants: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    limit: int | None = None,
) -> Iterator[list[BatchCase]]:
    """The valid cases of `path` in chunks of `chunk_size` (the last may be shorter); bad rows go to
    `report.rejects`. `limit` stops after that many valid cases."""
    chunk: list[BatchCase] = []
    rows = iter_rows("cases", path, report, mapping, constants, encoding, unique=False)
    for taken, (line, row) in enumerate(rows, start=1):
        assert isinstance(row, CaseRow)
        chunk.append(BatchCase.of(line, row))
        if len(chunk) >= chunk_size:
            yield chunk
            chunk = []
        if limit is not None and taken >= limit:
            break
    if chunk:
        yield chunk
