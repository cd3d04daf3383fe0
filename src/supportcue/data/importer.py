"""`supportcue import KIND FILE`: validate rows, store the good ones, report the bad ones.

Each kind has a pydantic row model. A file that lacks a required column fails before anything is
stored. A bad row is reported with file, line and reason; by default the valid rows are committed and
the rejected ones written to `FILE.rejects.jsonl` beside the input (file, line, the row's id, the
fields at fault and the reason: what finds and fixes the row, never its text or personal data);
with `strict=True` nothing is committed when any row is bad. Rows are keyed by external ids, so
importing the same file twice creates no duplicates.

Columns that a cases file has beyond the known ones are kept in the case's `fields` (they fill answer
placeholders such as `{order_id}`). A cases file with a `reply` column also records the agent's sent
reply as a `sent` event, which is how a help desk's history is imported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from supportcue.boundary import check_text, check_time
from supportcue.data.files import read_rows
from supportcue.data.store import Store
from supportcue.data.tables import utcnow
from supportcue.data.threads import check_context
from supportcue.errors import ImportDataError
from supportcue.security.redaction import redact
from supportcue.vocab import AnswerStatus, CaseStatus, EventKind, LabelSource, LabelTask

KINDS = ("cases", "events", "labels", "answers", "articles")
MAX_FIELD_CHARS = 1_000_000


def _parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO 8601 date/time: {value!r}") from None
    return check_time(parsed)


def _parse_json(value: Any, kind: type) -> Any:
    if value in (None, ""):
        return kind()
    if isinstance(value, kind):
        return value
    try:
        parsed = json.loads(str(value))
    except json.JSONDecodeError:
        raise ValueError("not valid JSON") from None
    if not isinstance(parsed, kind):
        raise ValueError(f"expected a JSON {kind.__name__}")
    return parsed


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _limit(cls, value: Any) -> Any:
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            raise ValueError(f"{len(value):,} characters; the limit is {MAX_FIELD_CHARS:,}")
        return check_text(value)  # no NUL bytes or lone surrogates, at any depth


class CaseRow(_Row):
    id: str = Field(min_length=1, max_length=100)
    message: str = Field(min_length=1)
    channel: str = "email"
    customer_name: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    context: list[Any] = Field(default_factory=list)
    fields: dict[str, Any] = Field(default_factory=dict)
    arm: str | None = None
    status: str = CaseStatus.OPEN
    simulated: bool = False
    reply: str | None = None
    agent_id: str | None = None
    handle_seconds: float | None = Field(None, ge=0)

    _time = field_validator("created_at", mode="before")(lambda v: _parse_time(v) or utcnow())
    _ctx = field_validator("context", mode="before")(lambda v: check_context(_parse_json(v, list)))
    _fields = field_validator("fields", mode="before")(lambda v: _parse_json(v, dict))


class EventRow(_Row):
    idempotency_key: str = Field(min_length=1, max_length=200)
    case_id: str = Field(min_length=1, max_length=100)
    kind: EventKind
    suggestion_id: str | None = None
    text: str | None = None
    reason: str | None = None
    agent_id: str | None = None
    handle_seconds: float | None = Field(None, ge=0)
    ts: datetime = Field(default_factory=utcnow)

    _time = field_validator("ts", mode="before")(lambda v: _parse_time(v) or utcnow())


class LabelRow(_Row):
    case_id: str | None = None
    text: str | None = None
    task: LabelTask
    value: str = Field(min_length=1, max_length=200)
    source: LabelSource = LabelSource.EXPERT
    annotator: str = ""
    confidence: float = Field(1.0, ge=0.0, le=1.0)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None

    _times = field_validator("created_at", "expires_at", mode="before")(_parse_time)

    def subject(self) -> str:
        if self.case_id:
            return self.case_id
        if self.text:
            from supportcue.embeddings import text_key

            return "text:" + text_key(self.text)
        raise ValueError("a label needs case_id or text")


class AnswerRow(_Row):
    id: str = Field(min_length=1, max_length=100)
    topic: str = Field(min_length=1, max_length=100)
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1)
    status: AnswerStatus = AnswerStatus.DRAFT
    owner: str | None = None
    reviewed_at: datetime | None = None
    review_due_at: datetime | None = None
    version: int = Field(1, ge=1)

    _times = field_validator("reviewed_at", "review_due_at", mode="before")(_parse_time)


class ArticleRow(_Row):
    id: str = Field(min_length=1, max_length=100)
    topic: str | None = None
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1)
    url: str | None = None


MODELS: dict[str, type[_Row]] = {
    "cases": CaseRow,
    "events": EventRow,
    "labels": LabelRow,
    "answers": AnswerRow,
    "articles": ArticleRow,
}
ALIASES: dict[str, dict[str, str]] = {
    "cases": {"text": "message", "external_id": "id", "case_id": "id", "sent_reply": "reply"},
    "labels": {"label": "value"},
    "answers": {"answer_id": "id"},
    "articles": {"article_id": "id"},
}


@dataclass
class Reject:
    """A rejected row: where it is, which fields are at fault and why. `row` keeps only the row's
    ids (`id`, `idempotency_key`, `case_id`), never its text: rejects files outlive the import."""

    line: int
    reason: str
    row: dict[str, Any]
    fields: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    kind: str
    path: Path
    read: int = 0
    stored: int = 0
    rejects: list[Reject] = field(default_factory=list)
    rejects_path: Path | None = None
    committed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": str(self.path),
            "read": self.read,
            "stored": self.stored,
            "rejected": len(self.rejects),
            "rejects_file": str(self.rejects_path) if self.rejects_path else None,
            "committed": self.committed,
        }


def _required(kind: str) -> list[str]:
    model = MODELS[kind]
    return [name for name, info in model.model_fields.items() if info.is_required()]


def _reason(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "row"
        message = "missing or empty" if item["type"] == "missing" else item["msg"]
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def _fields(error: ValidationError) -> list[str]:
    return list(dict.fromkeys(str(item["loc"][0]) for item in error.errors() if item["loc"]))


_ID_FIELDS = ("id", "idempotency_key", "case_id")


def _reject(line: int, reason: str, row: Mapping[str, Any], fields: list[str] | None = None) -> Reject:
    """A reject that names the row by its ids; personal data in the reason or an id is redacted."""
    ids = {k: redact(str(row[k]))[:200] for k in _ID_FIELDS if row.get(k) not in (None, "")}
    return Reject(line, redact(reason), ids, fields or [])


def _rename(row: Mapping[str, Any], mapping: Mapping[str, str], kind: str) -> dict[str, Any]:
    """Apply `--map field=column` and the kind's usual aliases."""
    by_column = {column: name for name, column in mapping.items()}
    aliases = ALIASES.get(kind, {})
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = by_column.get(key) or (key if key in MODELS[kind].model_fields else aliases.get(key, key))
        if value in (None, ""):
            continue  # empty cells take the field's default; required ones are reported missing
        if name not in out:
            out[name] = value
    return out


def _case_extra(row: dict[str, Any]) -> dict[str, Any]:
    known = set(CaseRow.model_fields)
    extra = {
        k: v for k, v in row.items() if k not in known and not k.startswith("__") and v not in (None, "")
    }
    if extra:
        fields = _parse_json(row.get("fields"), dict) if row.get("fields") else {}
        row["fields"] = {**{k: str(v) for k, v in extra.items()}, **fields}
    return row


def _to_records(kind: str, item: _Row) -> dict[str, list[dict[str, Any]]]:
    data = item.model_dump()
    if isinstance(item, CaseRow):
        reply, agent, seconds = data.pop("reply"), data.pop("agent_id"), data.pop("handle_seconds")
        out = {"cases": [data], "events": []}
        if reply:
            out["events"].append(
                {
                    "idempotency_key": f"import:{item.id}:sent",
                    "case_id": item.id,
                    "kind": EventKind.SENT,
                    "text": reply,
                    "agent_id": agent,
                    "handle_seconds": seconds,
                    "ts": item.created_at,
                }
            )
        return out
    if isinstance(item, LabelRow):
        data["subject"] = item.subject()
        return {"labels": [data]}
    return {kind: [data]}


def _writers(store: Store) -> dict[str, Callable[..., int]]:
    return {
        "cases": store.cases.upsert,
        "events": store.events.add_many,
        "labels": store.labels.add,
        "answers": store.library.upsert_answers,
        "articles": store.library.upsert_articles,
    }


def import_file(
    store: Store,
    kind: str,
    path: Path,
    mapping: Mapping[str, str] | None = None,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import one file of `kind` into the store; see the module docstring for the rules."""
    if kind not in MODELS:
        raise ImportDataError(f"unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
    mapping = dict(mapping or {})
    report = ImportReport(kind=kind, path=path)
    records: dict[str, list[dict[str, Any]]] = {}
    checked_header = False
    for line, raw in read_rows(path):
        if not checked_header:
            _check_columns(kind, path, raw, mapping)
            checked_header = True
        report.read += 1
        if "__error__" in raw:
            report.rejects.append(_reject(line, raw["__error__"], {}))
            continue
        row = _rename(raw, mapping, kind)
        if "__extra__" in row:
            report.rejects.append(_reject(line, "more values than header columns", row))
            continue
        if kind == "cases":
            row = _case_extra(row)
        try:
            item = MODELS[kind].model_validate(row)
            produced = _to_records(kind, item)
        except ValidationError as exc:
            report.rejects.append(_reject(line, _reason(exc), row, _fields(exc)))
            continue
        except ValueError as exc:
            report.rejects.append(_reject(line, str(exc), row))
            continue
        for table, rows in produced.items():
            records.setdefault(table, []).extend(rows)
        if progress and report.read % 1000 == 0:
            progress(report.read)
    if not checked_header:
        raise ImportDataError(f"{path}: no rows to import")
    if strict and report.rejects:
        return report
    writers = _writers(store)
    with store.db.session() as session:
        for table in ("cases", "events", "labels", "answers", "articles"):
            rows = _dedupe(records.get(table, []), table)
            if rows:
                writers[table](rows, session=session)
                if table == kind:
                    report.stored = len(rows)
    report.committed = True
    if report.rejects:
        report.rejects_path = write_rejects(path, report.rejects)
    return report


def _dedupe(rows: list[dict[str, Any]], table: str) -> list[dict[str, Any]]:
    """Within one file the last row for a key wins (one INSERT cannot touch a key twice)."""
    key: Callable[[dict[str, Any]], Any] = {
        "events": lambda r: r["idempotency_key"],
        "labels": lambda r: (r["subject"], r["task"], r["source"], r["annotator"]),
    }.get(table, lambda r: r["id"])
    return list({key(r): r for r in rows}.values())


def _check_columns(kind: str, path: Path, first: Mapping[str, Any], mapping: Mapping[str, str]) -> None:
    if path.suffix.lower() != ".csv" or "__error__" in first:
        return
    present = set(_rename(dict.fromkeys(first, "x"), mapping, kind))
    missing = [c for c in _required(kind) if c not in present]
    if kind == "labels" and not ({"case_id", "text"} & present):
        missing.append("case_id or text")
    if missing:
        raise ImportDataError(
            f"{path}: missing column(s) {', '.join(missing)} for {kind}; the file has: "
            f"{', '.join(k for k in first if not k.startswith('__'))}. Map one with --map FIELD=COLUMN."
        )


def write_rejects(path: Path, rejects: list[Reject]) -> Path:
    out = path.with_name(path.name + ".rejects.jsonl")
    with out.open("w", encoding="utf-8") as handle:
        for r in rejects:
            record = {"file": str(path), "line": r.line, "row": r.row, "fields": r.fields, "reason": r.reason}
            handle.write(json.dumps(record) + "\n")
    return out
