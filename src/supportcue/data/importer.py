"""`supportcue import KIND FILE`: validate rows, store the good ones, report the bad ones.

The columns of each kind are defined once, in `data/columns.py`. A file that lacks a required column
fails before anything is stored. `--map FIELD=COLUMN` reads a field from a column of another name and
`--set FIELD=VALUE` gives every row the same value (it wins over a column of that name). A bad row
is reported with file, line and reason; by default the valid rows are committed and the rejected
ones written to `FILE.rejects.jsonl` beside the input (file, line, the row's ids, the fields at fault
and the reason: what finds and fixes the row, never its text or personal data); with `strict=True`
nothing is committed when any row is bad, and with `dry_run=True` nothing is written at all. A row
whose key (id, idempotency key, or a label's subject, task, source and annotator) repeats an earlier
row of the same file is rejected naming that row's line: the first one is kept. Rows are keyed by
external ids, so importing the same file twice creates no duplicates.

Columns that a cases file has beyond the known ones are kept in the case's `fields` (they fill answer
placeholders such as `{order_id}`). A cases file with a `reply` column also records the agent's sent
reply as a `sent` event (`simulated` when the case is), which is how a help desk's history is
imported; such a case is `resolved` unless its `status` says otherwise. An imported `resolved` event
closes its case as one sent to `POST /v1/events` does (by its time, in the order the changes
happened). Warnings (`ImportReport.warnings`) name what makes imported data useless though valid:
answers none of which is approved, cases none of which (or only some of which) has a `created_at`,
labels of cases not imported, topic labels naming no topic of the workspace.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from supportcue.data.cases import IMPORT_TIME
from supportcue.data.columns import (
    KINDS,
    MODELS,
    AnswerRow,
    ArticleRow,
    CaseRow,
    EventRow,
    ImportRow,
    LabelRow,
    RowRuleError,
    parse_json,
)
from supportcue.data.events import INTERNAL
from supportcue.data.files import read_rows
from supportcue.data.library import closest_topics
from supportcue.data.store import Store
from supportcue.data.tables import TABLES, Event, utcnow
from supportcue.errors import ImportDataError
from supportcue.security.redaction import redact
from supportcue.settings import ReviewSettings
from supportcue.vocab import HUMAN_SOURCES, AnswerStatus, CaseStatus, EventKind, LabelSource, LabelTask

ALIASES: dict[str, dict[str, str]] = {
    "cases": {
        "text": "message",
        "external_id": "id",
        "case_id": "id",
        "sent_reply": "reply",
        # help desks' exports (Zendesk, Freshdesk, Help Scout): read without --map
        "ticket_id": "id",
        "conversation_id": "id",
        "description": "message",
        "body": "message",
        "created": "created_at",
        "created_time": "created_at",
        "created_date": "created_at",
        "requester": "customer_name",
        "requester_name": "customer_name",
        "agent": "agent_id",  # Freshdesk
        "assignee": "agent_id",  # Zendesk
        "assigned_to": "agent_id",  # Help Scout
    },
    "labels": {"label": "value"},
    "answers": {"answer_id": "id"},
    "articles": {"article_id": "id"},
}
"""Usual other names of a kind's fields, as `_field_name` normalises them (`Ticket ID`: `ticket_id`)."""

FALLBACKS: dict[str, dict[str, str]] = {"cases": {"subject": "message", "ticket_subject": "message"}}
"""Columns that fill a field only when the row has no value for it otherwise: a ticket's subject is
its message when the export has no body (a Zendesk CSV), else it stays a case field of its own name."""


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
    valid: int = 0
    stored: int = 0
    rejects: list[Reject] = field(default_factory=list)
    rejects_path: Path | None = None
    committed: bool = False
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    on_reject: Callable[[Reject], None] | None = field(default=None, repr=False)
    """Where bad rows go instead of `rejects` (a batch job writes them out as it reads: a file of any
    size may be all bad rows, and none of them is kept in memory)."""

    def reject(self, reject: Reject) -> None:
        """Note a bad row: in `rejects`, or handed to `on_reject`."""
        if self.on_reject is None:
            self.rejects.append(reject)
        else:
            self.on_reject(reject)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": str(self.path),
            "read": self.read,
            "valid": self.valid,
            "stored": self.stored,
            "rejected": len(self.rejects),
            "rejects_file": str(self.rejects_path) if self.rejects_path else None,
            "committed": self.committed,
            "dry_run": self.dry_run,
            "warnings": self.warnings,
        }


def _required(kind: str) -> list[str]:
    model = MODELS[kind]
    return [name for name, info in model.model_fields.items() if info.is_required()]


def _reason(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        blank = item["type"] == "string_too_short" and item.get("ctx", {}).get("min_length") == 1
        message = "missing or empty" if item["type"] == "missing" or blank else item["msg"]
        message = message.removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _fields(error: ValidationError) -> list[str]:
    """The columns at fault: each error's field, or the column a rule over the row names."""
    names = []
    for item in error.errors():
        rule = item.get("ctx", {}).get("error")
        if item["loc"]:
            names.append(str(item["loc"][0]))
        elif isinstance(rule, RowRuleError):
            names.append(rule.field)
    return list(dict.fromkeys(names))


_ID_FIELDS = ("id", "idempotency_key", "case_id")


def _reject(line: int, reason: str, row: Mapping[str, Any], fields: list[str] | None = None) -> Reject:
    """A reject that names the row by its ids; personal data in the reason or an id is redacted."""
    ids = {k: redact(str(row[k]))[:200] for k in _ID_FIELDS if row.get(k) not in (None, "")}
    return Reject(line, redact(reason), ids, fields or [])


def _known(kind: str, name: str) -> bool:
    """A field that `kind` reads (any name is one for cases: it becomes a case field)."""
    return kind == "cases" or name in MODELS[kind].model_fields


_SPACING = re.compile(r"[\s\-]+")


def _field_name(kind: str, column: str) -> str:
    """The field a column of `kind` is read as: its own name, a usual other name (`text` for a case's
    `message`), either in any case and spacing (`ID`, `Created At`, `Customer-Name`); else the column
    itself (a case field under its own name, for a cases file)."""
    fields, aliases = MODELS[kind].model_fields, ALIASES.get(kind, {})
    for name in (column, _SPACING.sub("_", column.strip()).casefold()):
        if name in fields:
            return name
        if name in aliases:
            return aliases[name]
    return column


def _fallback(kind: str, column: str) -> str | None:
    """The field a column fills only when the row has nothing else for it (`FALLBACKS`), or None."""
    return FALLBACKS.get(kind, {}).get(_SPACING.sub("_", column.strip()).casefold())


def _rename(row: Mapping[str, Any], mapping: Mapping[str, str], kind: str) -> dict[str, Any]:
    """Apply `--map field=column`, the kind's usual aliases, then its fallbacks (`FALLBACKS`)."""
    by_column = {column: name for name, column in mapping.items()}
    out: dict[str, Any] = {}
    spare: list[tuple[str, str, Any]] = []
    read_by: dict[str, str] = {}  # field -> the column it is read from: the first, full or empty
    for key, value in row.items():
        name = by_column.get(key) or _field_name(kind, key)
        if key not in by_column and name in mapping:
            name = key  # `--map` named another column for this field: that one is read
        elif key not in by_column and read_by.setdefault(name, key) != key:
            # an earlier column is read as this field (`id` before `Ticket ID`): this one is kept as
            # a case field under its own name (`_shadowed_columns` warns), never read as the field
            if kind != "cases" or key in MODELS[kind].model_fields:
                continue
            name = key
        if value in (None, ""):
            continue  # empty cells take the field's default; required ones are reported missing
        fills = _fallback(kind, key) if key not in by_column else None
        if fills is not None and fills not in mapping:
            spare.append((key, fills, value))
        elif name not in out:
            out[name] = value
    for key, fills, value in spare:
        if fills not in out:
            out[fills] = value
        elif key not in out:
            out[key] = value  # the row has its field otherwise: kept under its own name
    return out


def _field_text(value: Any) -> str:
    """A case field's text: a .jsonl row's list or object as JSON (`["vip"]`, not Python's `['vip']`),
    a number as written."""
    if isinstance(value, dict | list | bool):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


EXPORTED_NOT_IMPORTED = ("status_changed_at", "purged_at")
"""Columns `export cases` writes that an import neither sets nor keeps as a case field (the store's
own bookkeeping): an exported file imported again adds no field."""

PURGED_ROW = (
    "the case was purged (purged_at is set): its exported row holds `[purged]`, not the case, "
    "and is not imported (a purged case stays purged)"
)
"""Why a cases row with `purged_at` set is rejected: imported, it would overwrite the purged case
(or create one) with the `[purged]` placeholder and take away its purge mark."""


def _case_extra(row: dict[str, Any]) -> dict[str, Any]:
    known = {*CaseRow.model_fields, *EXPORTED_NOT_IMPORTED}
    extra = {
        k: v for k, v in row.items() if k not in known and not k.startswith("__") and v not in (None, "")
    }
    if extra:
        fields = parse_json(row.get("fields"), dict) if row.get("fields") else {}
        row["fields"] = {**{k: _field_text(v) for k, v in extra.items()}, **fields}
    return row


ANSWER_KEPT_UNLESS_GIVEN = ("status", "owner", "reviewed_at", "review_due_at")
"""What an answers file without the column leaves as stored: a file approved once with --set
status=approved and imported again without it must not take its answers out of use."""

SME_LABEL_DAYS = ReviewSettings().label_days
"""`[review] label_days`' default: how long a new `sme` label imported without `expires_at` lasts."""

LABEL_KEPT_UNLESS_GIVEN = ("confidence", "created_at", "expires_at", "version")
"""What a labels file without the column (or with the cell empty) leaves as stored: a label imported
again from a file of case_id, task and value alone keeps its weight, its date and its expiry."""

KEPT_UNLESS_GIVEN = ("channel", "context", "customer_name", "fields", "status")
"""What a case row without the column leaves as stored when the case is imported again (another export
with fewer columns must not empty a case's thread, name and placeholder fields, or reopen it); a row
with a reply gives the status (resolved, unless its status says otherwise)."""


def _to_records(kind: str, item: ImportRow) -> dict[str, list[dict[str, Any]]]:
    data = item.model_dump()
    if isinstance(item, CaseRow):
        reply, agent, seconds = data.pop("reply"), data.pop("agent_id"), data.pop("handle_seconds")
        data["status"] = item.resolved_status()
        if "created_at" not in item.model_fields_set:  # dated now if new; a stored case keeps its date
            data[IMPORT_TIME] = data.pop("created_at")
        given = item.model_fields_set | ({"status"} if reply else set())
        for name in KEPT_UNLESS_GIVEN:  # a new case gets the default, a stored one keeps its value
            if name not in given:
                del data[name]
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
                    "simulated": item.simulated,  # generated history's reply is generated too
                }
            )
        return out
    if isinstance(item, LabelRow):
        data["subject"] = item.stored_subject()
        for name in LABEL_KEPT_UNLESS_GIVEN:
            if name not in item.model_fields_set:  # a stored label keeps it; a new one's default
                del data[name]
        return {"labels": [data]}
    if isinstance(item, ArticleRow):
        for name in ("topic", "url"):
            if name not in item.model_fields_set:  # a stored article keeps it
                del data[name]
    if isinstance(item, AnswerRow):
        for name in ("version", *ANSWER_KEPT_UNLESS_GIVEN):
            if name not in item.model_fields_set:  # a stored answer keeps it; a new one's default
                del data[name]  # (no version: new text is the answer's next version, the old one kept)
    return {kind: [data]}


def _key(item: ImportRow) -> tuple[Hashable, str]:
    """What a row of its kind is stored under, and how a repeat is described."""
    if isinstance(item, LabelRow):
        what = "case" if item.case_id else "text"
        return (item.stored_subject(), item.task, item.source, item.annotator), (
            f"duplicate label: line {{line}} labels the same {what} for task {item.task} "
            "by the same source and annotator"
        )
    if isinstance(item, EventRow):
        return item.idempotency_key, "duplicate idempotency_key: line {line} has the same key"
    if isinstance(item, CaseRow | AnswerRow | ArticleRow):
        return item.id, "duplicate id: line {line} has the same id"
    raise TypeError(f"no key for {type(item).__name__}")


REPLY_COLUMNS = ("text", "agent_id", "handle_seconds", "ts", "simulated")
"""What a cases file's reply columns set on the case's `sent` event (keyed `import:ID:sent`)."""


def _writers(store: Store) -> dict[str, Callable[..., int]]:
    return {
        "cases": store.cases.upsert,
        "events": store.events.add_many,
        "labels": partial(store.labels.add, keep_unnamed=True),
        "answers": store.library.upsert_answers,
        "articles": store.library.upsert_articles,
    }


def iter_rows(
    kind: str,
    path: Path,
    report: ImportReport,
    mapping: Mapping[str, str] | None = None,
    constants: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    unique: bool = True,
) -> Iterator[tuple[int, ImportRow]]:
    """Yield `(line, row)` for each valid row of `path`, streaming; every bad row goes to
    `report.rejects` (file, line, reason) and `report.read` counts what was read. With `unique`, a
    row whose key repeats an earlier row's is rejected (that keeps every key in memory: `batch`
    jobs, idempotent by key, turn it off to read a file of any size in constant memory)."""
    if kind not in MODELS:
        raise ImportDataError(f"unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
    mapping, constants = dict(mapping or {}), dict(constants or {})
    _check_options(kind, mapping, constants)
    seen: dict[Hashable, int] = {}
    checked_header = False
    columns: dict[str, None] = {}  # a .jsonl row has its own keys: the columns are every row's
    for line, raw in read_rows(path, encoding):
        if not checked_header:
            _check_columns(kind, path, raw, mapping, constants)
            checked_header = True
        if "__error__" not in raw:
            columns.update(dict.fromkeys(raw))
        report.read += 1
        if "__error__" in raw:
            report.reject(_reject(line, raw["__error__"], {}))
            continue
        row = {**_rename(raw, mapping, kind), **constants}
        if "__extra__" in row:
            report.reject(_reject(line, "more values than header columns", row))
            continue
        if kind == "cases":
            if str(row.get("purged_at") or "").strip():
                report.reject(_reject(line, PURGED_ROW, row))
                continue
            row = _case_extra(row)
        try:
            item = MODELS[kind].model_validate(row)
            key, repeat = _key(item)
        except ValidationError as exc:
            report.reject(_reject(line, _reason(exc), row, _fields(exc)))
            continue
        except ValueError as exc:
            report.reject(_reject(line, str(exc), row))
            continue
        if unique:
            if key in seen:
                reason = repeat.format(line=seen[key]) + " (the first one is kept)"
                report.reject(_reject(line, reason, row))
                continue
            seen[key] = line
        report.valid += 1
        yield line, item
    if not checked_header:
        raise ImportDataError(f"{path}: no rows to import")
    report.warnings += _unread_columns(kind, columns, mapping) + _shadowed_columns(kind, columns, mapping)


def import_file(
    store: Store,
    kind: str,
    path: Path,
    mapping: Mapping[str, str] | None = None,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
    *,
    constants: Mapping[str, str] | None = None,
    dry_run: bool = False,
    encoding: str = "utf-8",
    sme_label_days: int = SME_LABEL_DAYS,
) -> ImportReport:
    """Import one file of `kind` into the store; see the module docstring for the rules.
    `sme_label_days` is `[review] label_days`: a new `sme` label without an expiry gets one."""
    report = ImportReport(kind=kind, path=path, dry_run=dry_run)
    records: dict[str, list[dict[str, Any]]] = {}
    items: list[ImportRow] = []
    lines: list[int] = []
    for line, item in iter_rows(kind, path, report, mapping, constants, encoding):
        try:
            produced = _to_records(kind, item)
        except ValueError as exc:
            report.valid -= 1
            report.reject(_reject(line, str(exc), item.model_dump()))
            continue
        items.append(item)
        lines.append(line)
        for table, rows in produced.items():
            records.setdefault(table, []).extend(rows)
        if progress and report.read % 1000 == 0:
            progress(report.read)
    report.warnings += (
        _warnings(kind, items, _approved(store, kind, items))
        + _undated_cases(items, lines)
        + _unknown_cases(store, kind, items)
        + _new_topics(store, items, lines)
        + _new_answer_topics(store, path, items, lines)
    )
    if dry_run:
        return report
    if report.rejects:
        report.rejects_path = write_rejects(path, report.rejects)
    if (strict and report.rejects) or not items:
        return report
    writers = _writers(store)
    with store.db.session() as session:
        _expire_sme_labels(store, records.get("labels", []), sme_label_days, session)
        for table in ("cases", "events", "labels", "answers", "articles"):
            rows = records.get(table, [])
            if rows and table == "events" and kind == "cases":
                # a case's reply is part of its row: importing the case again updates it as well
                writers[table](rows, REPLY_COLUMNS, session=session)
            elif rows:
                if table == "answers":  # new text is a new version, noted with the file's name
                    store.library.upsert_answers(rows, session=session, note=f"imported from {path.name}")
                else:
                    writers[table](rows, session=session)
                if table == kind:
                    report.stored = len(rows)
        if kind == "events":
            _follow_resolutions(store, records.get("events", []), session)
        # a person's topic label names a topic of the workspace (reviewers correct topics to these)
        topics = [
            r["value"]
            for r in records.get("labels", [])
            if r["task"] == LabelTask.TOPIC and r["source"] in HUMAN_SOURCES
        ]
        store.library.ensure_topics(topics, session)
    report.committed = True
    return report


def _expire_sme_labels(store: Store, rows: list[dict[str, Any]], days: int, session: Session) -> None:
    """A new `sme` label of a row without `expires_at` expires `days` after it was made (the row's
    `created_at`, else now), as a review in /review does: an SME's decisions on a `labels issues`
    batch imported back leave training, and come back to review, like the ones made on the page. A
    stored label keeps its own expiry, as it keeps the other columns a file does not have."""
    undated = [r for r in rows if r.get("source") == LabelSource.SME and "expires_at" not in r]
    if not undated:
        return

    def key(r: Mapping[str, Any]) -> tuple[str, str, str, str]:
        return (r["subject"], r["task"], r["source"], r["annotator"])

    stored = store.labels.stored_keys(map(key, undated), session)
    now = utcnow()
    for r in undated:
        if key(r) in stored:
            continue
        made = r.get("created_at") or now
        made = made if made.tzinfo else made.replace(tzinfo=UTC)
        r["created_at"], r["expires_at"] = made, made + timedelta(days=days)


def _follow_resolutions(store: Store, rows: list[dict[str, Any]], session: Session) -> None:
    """Close the cases of the file's `resolved` events as `POST /v1/events` does, in the order the
    changes happened (`Cases.follow_status`): by each stored event's time (an event imported again
    keeps its first time, even dated by an import), so a repeat, or a resolution older than the case's
    last status change, changes nothing; a case not stored is left alone. A case's latest one alone
    decides (they all set `resolved`)."""
    keys = [r["idempotency_key"] for r in rows if r["kind"] == EventKind.RESOLVED]
    latest: dict[str, datetime] = {}
    for start in range(0, len(keys), 500):  # within every database's limit of parameters
        stored = session.execute(
            select(Event.case_id, Event.ts).where(
                Event.caller == INTERNAL,
                Event.kind == EventKind.RESOLVED,
                Event.idempotency_key.in_(keys[start : start + 500]),
            )
        )
        for case_id, ts in stored:
            latest[case_id] = max(ts, latest.get(case_id, ts))
    for case_id, ts in latest.items():
        store.cases.follow_status(case_id, CaseStatus.RESOLVED, ts, session=session)


def _approved(store: Store, kind: str, items: list[ImportRow]) -> bool:
    """Whether an answer of the file is approved once imported: by its status, or, without one, as
    stored (a file without a status column keeps a stored answer's)."""
    if kind != "answers":
        return False
    stored = {a.id: a.status for a in store.library.answers(status=None)}
    return any(
        isinstance(a, AnswerRow)
        and (a.status if "status" in a.model_fields_set else stored.get(a.id)) == AnswerStatus.APPROVED
        for a in items
    )


def _warnings(kind: str, items: list[ImportRow], approved: bool = False) -> list[str]:
    """What makes valid rows useless: nothing approved to suggest, no time to split history by."""
    if not items:
        return []
    if kind == "answers" and not approved:
        statuses = " | ".join(AnswerStatus)
        return [
            f"none of the {len(items)} answers is approved, so none of them can be suggested "
            f"(a new answer is {AnswerStatus.DRAFT} when the file has no status column). Approve them "
            f"with --set status={AnswerStatus.APPROVED}, or give each a status column ({statuses})."
        ]
    out = []
    cases = [c for c in items if isinstance(c, CaseRow)]
    if kind == "cases" and not any("created_at" in c.model_fields_set for c in cases):
        out.append(
            "no case has a created_at, so every one is dated now: training cannot split the history "
            "by time. Add a created_at column (ISO 8601, e.g. 2026-03-02T09:15:00Z) if you have one"
            + _looks_like(cases, "created_at", _TIME_WORDS)
            + "."
        )
    if kind == "cases" and not any(c.reply for c in cases):
        hint = _looks_like(cases, "reply", _REPLY_WORDS)
        if hint:  # a file of open cases has no reply to give; one with such a column has
            out.append(
                f"no case has a reply, so the {len(cases):,} cases are open (they fill the agent console's "
                "inbox) and none of them is history the response stage learns from" + hint + "."
            )
    return out


_TIME_WORDS = {"created", "date", "time", "timestamp", "datetime", "opened", "received"}
_REPLY_WORDS = {"reply", "replies", "response", "answer"}
_NOT_TEXT_OR_TIME = {"id", "at", "seconds", "secs", "minutes", "mins", "duration", "handle", "spent", "count"}
"""Words of a column name that make it an id, a count or a duration (`handle_time`, `answer_id`,
`first_response_time`), not the reply nor the time the customer wrote."""


def _looks_like(cases: list[CaseRow], field_name: str, words: set[str]) -> str:
    """The hint `; column 'X' looks like it: --map FIELD=X` for the first case field (a cases file's
    extra columns) whose name has one of `words` (`agent_reply`, `created`) and names no id, count
    or duration, else an empty string."""
    columns = sorted({k for c in cases for k in c.fields})
    other = (_TIME_WORDS | _REPLY_WORDS) - words
    found = [
        k
        for k in columns
        if words & (tokens := set(re.split(r"[^a-z0-9]+", k.casefold())))
        and not tokens & (_NOT_TEXT_OR_TIME | other)
    ]
    if not found:
        return ""
    return f"; column {found[0]!r} looks like it: --map {field_name}={found[0]}"


def _lines(lines: list[int], shown: int = 3) -> str:
    """ "line 4", "lines 4, 9, 12", "lines 4, 9, 12, ..."."""
    head = ", ".join(str(n) for n in lines[:shown])
    return f"line{'s' if len(lines) > 1 else ''} {head}{', ...' if len(lines) > shown else ''}"


def _undated_cases(items: list[ImportRow], lines: list[int]) -> list[str]:
    """Cases without a `created_at` in a file whose other cases have one: each is dated at the import
    (unless it is stored already), weeks after the rest, so the backtest's time split tests on it as
    the newest case and `drift` reads it as today's message. (A file without any date is `_warnings`'.)"""
    undated = [
        n
        for n, c in zip(lines, items, strict=True)
        if isinstance(c, CaseRow) and "created_at" not in c.model_fields_set
    ]
    if not undated or len(undated) == len(items):
        return []
    return [
        f"{len(undated):,} of the {len(items):,} cases have no created_at ({_lines(undated)}), so each is "
        "dated now (a case imported before keeps its date): training's time split tests on them as the "
        "newest cases and drift reads them as today's messages. Give them their created_at (ISO 8601), "
        "or leave them out of the file."
    ]


def _new_topics(store: Store, items: list[ImportRow], lines: list[int]) -> list[str]:
    """Topic labels whose value is no topic of the workspace yet, once it has some (its answers', its
    earlier labels'): a person's label makes its value a topic, which training learns from its few
    examples and reviewers pick from, so a misspelt one ("refnd") should be caught here."""
    found: dict[str, list[int]] = {}
    for line, item in zip(lines, items, strict=True):
        if isinstance(item, LabelRow) and item.task == LabelTask.TOPIC:
            found.setdefault(item.value, []).append(line)
    known = {t.key for t in store.library.topics(status=None)}
    new = {value: at for value, at in found.items() if value not in known}
    if not known or not new:
        return []
    described = []
    for value, at in sorted(new.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        folded = {k.casefold(): k for k in known}
        close = [folded[value.casefold()]] if value.casefold() in folded else []
        close = close or difflib.get_close_matches(value, sorted(known), n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        described.append(f"{value!r} ({len(at):,} label{'s' if len(at) > 1 else ''}, {_lines(at)}{hint})")
    return [
        f"{len(new):,} topic(s) of these labels are not topics of the workspace (no answer or earlier label "
        f"names them): {', '.join(described[:5])}{', ...' if len(described) > 5 else ''}. A person's topic "
        "label makes its value a new topic, learned from its labels alone; if one is misspelt, correct it "
        "and import the file again (the label is updated in place)."
    ]


def _new_answer_topics(store: Store, path: Path, items: list[ImportRow], lines: list[int]) -> list[str]:
    """Answers whose topic is no topic of the workspace yet, once it has some: the topic stage predicts
    only topics it learned from topic labels, so an answer on a misspelt topic ("refnd") is one no
    suggestion picks. Named with the file, their lines and the closest known topic."""
    found: dict[str, list[int]] = {}
    for line, item in zip(lines, items, strict=True):
        if isinstance(item, AnswerRow):
            found.setdefault(item.topic, []).append(line)
    known = store.library.known_topics() if found else set()
    new = {topic: at for topic, at in found.items() if topic not in known}
    if not known or not new:
        return []
    described = []
    for topic, at in sorted(new.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        close = closest_topics(topic, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        described.append(f"{topic!r} ({len(at):,} answer{'s' if len(at) > 1 else ''}, {_lines(at)}{hint})")
    listed = ", ".join(described[:5]) + (", ..." if len(described) > 5 else "")
    return [
        f"{path}: {len(new):,} topic(s) of these answers are not topics of the workspace (no topic, topic "
        "label, answer or article has them), so no suggestion picks those answers until the topic stage "
        f"learns the topic from topic labels: {listed}. "
        "If one is misspelt, correct it and import the file again (the answer takes the corrected topic)."
    ]


def _unknown_cases(store: Store, kind: str, items: list[ImportRow]) -> list[str]:
    """Labels whose case_id names no stored case are stored, but training cannot learn from them
    (it has no message): say so at the import, where a mistyped id or a forgotten cases file can be
    fixed, not only at `train`."""
    if kind != "labels":
        return []
    ids = sorted({i.case_id for i in items if isinstance(i, LabelRow) and i.case_id})
    if not ids:
        return []
    known = store.cases.stored_ids(ids)
    missing = [i for i in ids if i not in known]
    if not missing:
        return []
    return [
        f"{len(missing):,} case id(s) of these labels match no imported case (e.g. {missing[0]}): training "
        "learns from those labels only once the cases are imported "
        "(`supportcue import cases FILE`); or fix the labels' case_id"
    ]


def field_problem(kind: str, name: str) -> str | None:
    """Why `name` cannot be a field of `kind` given to `--map` or `--set` (with the fields `kind`
    takes), or None. Names starting with `__` are the reader's own markers (`__error__`)."""
    accepted = ", ".join(MODELS[kind].model_fields)
    if kind == "cases":
        accepted += ", or any other name (a case field for answer placeholders)"
    if not name:
        return f"the field name is empty; {kind} have: {accepted}"
    if name.startswith("__"):
        return f"{name}: a field name may not start with __; {kind} have: {accepted}"
    if not _known(kind, name):
        return f"{name}: {kind} have no such column; they have: {accepted}"
    return None


ISSUE_COLUMNS = ("rank", "given", "suggested", "quality", "given_by", "given_at")
"""Columns of a `labels issues --out` batch that its import back as labels (the documented SME round
trip) does not read: what the batch said, not the SME's decision."""


def _ours_not_read(kind: str) -> set[str]:
    """The columns our own files of `kind` have that an import leaves out on purpose, without a
    warning: the store's bookkeeping `export TABLE` writes (a label's `id`, an answer's `updated_at`,
    an event's `caller`...) and, for labels, a `labels issues` batch's (`ISSUE_COLUMNS`)."""
    table = TABLES.get(kind)
    written = {c.key for c in table.__table__.columns} if table is not None else set()
    ours = written - set(MODELS[kind].model_fields)
    return ours | set(ISSUE_COLUMNS) if kind == "labels" else ours


def _unread_columns(kind: str, header: Iterable[str], mapping: Mapping[str, str]) -> list[str]:
    """A warning naming the columns of the file (a .jsonl file's keys, of any row) that `kind` does
    not read, e.g. a misspelt optional column whose values would otherwise be dropped without a word.
    Our own exports' columns that the import leaves out on purpose (`_ours_not_read`) are not named."""
    mapped = set(mapping.values())
    ours = _ours_not_read(kind)
    unread = [
        column
        for column in header
        if not column.startswith("__")
        and column not in mapped
        and column not in ours
        and not _known(kind, _field_name(kind, column))
    ]
    if not unread:
        return []
    return [
        f"column(s) {', '.join(unread)} are not read for {kind}, which reads: "
        f"{', '.join(MODELS[kind].model_fields)}; if one holds one of those, name it with --map "
        "FIELD=COLUMN"
    ]


def _shadowed_columns(kind: str, header: Iterable[str], mapping: Mapping[str, str]) -> list[str]:
    """A warning for each field that two or more columns would be read as (`id` and `Ticket ID`,
    `Created` and `Created time`): the first is read, the others are not (a cases file keeps them as
    case fields), and `--map FIELD=COLUMN` reads another."""
    mapped = set(mapping.values())
    readers: dict[str, list[str]] = {}
    for column in header:
        if column.startswith("__") or column in mapped:
            continue
        name = _field_name(kind, column)
        if name in MODELS[kind].model_fields and name not in mapping:
            readers.setdefault(name, []).append(column)
    out = []
    for name, columns in readers.items():
        if len(columns) < 2:
            continue
        others = columns[1:]
        kept = {c for c in others if kind == "cases" and c not in MODELS[kind].model_fields}
        fates = [f"{c!r} {'kept as a case field' if c in kept else 'not read'}" for c in others]
        out.append(
            f"columns {' and '.join(repr(c) for c in columns)} are {'both' if len(columns) == 2 else 'all'} "
            f"read as {name}: {columns[0]!r} is read, {', '.join(fates)}; to read another, --map "
            f"{name}={others[0]!r}"
        )
    return out


def _check_options(kind: str, mapping: Mapping[str, str], constants: Mapping[str, str]) -> None:
    for option, names in (("--map", mapping), ("--set", constants)):
        for name in names:
            problem = field_problem(kind, name)
            if problem:
                raise ImportDataError(f"{option} {problem}")


def _check_columns(
    kind: str, path: Path, first: Mapping[str, Any], mapping: Mapping[str, str], constants: Mapping[str, str]
) -> None:
    if path.suffix.lower() != ".csv" or "__error__" in first:
        return
    header = [k for k in first if not k.startswith("__")]
    absent = [f"--map {name}={column}" for name, column in mapping.items() if column not in header]
    if absent:
        raise ImportDataError(f"{path}: {absent[0]}: the file has no column {absent[0].split('=', 1)[1]!r}")
    present = set(_rename(dict.fromkeys(header, "x"), mapping, kind)) | set(constants)
    missing = [c for c in _required(kind) if c not in present]
    if kind == "labels" and not ({"case_id", "text"} & present):
        missing.append("case_id or text")
    if missing:
        raise ImportDataError(
            f"{path}: missing column(s) {', '.join(missing)} for {kind}; the file has: "
            f"{', '.join(header)}. Map one with --map FIELD=COLUMN, or give every row a value "
            "with --set FIELD=VALUE."
        )


def rejects_file(path: Path, job: str = "") -> Path:
    """Where the rejected rows of `path` are written: `FILE.rejects.jsonl` beside it, or for a job
    other than the import (`batch`) `FILE.JOB-rejects.jsonl`, so a batch run over a file that was
    imported does not overwrite the import's list (which also names the repeated ids a batch keeps)."""
    return path.with_name(path.name + (f".{job}-rejects.jsonl" if job else ".rejects.jsonl"))


def reject_line(path: Path, r: Reject) -> str:
    """One rejected row of `path` as the rejects file holds it (a JSON line)."""
    record = {"file": str(path), "line": r.line, "row": r.row, "fields": r.fields, "reason": r.reason}
    return json.dumps(record) + "\n"


def write_rejects(path: Path, rejects: list[Reject]) -> Path:
    out = rejects_file(path)
    with out.open("w", encoding="utf-8") as handle:
        handle.writelines(reject_line(path, r) for r in rejects)
    return out
