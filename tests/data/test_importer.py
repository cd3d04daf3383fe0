"""Import validation: bad rows, wrong encoding, missing columns, huge fields, idempotent re-import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supportcue.data.exporter import export_table
from supportcue.data.importer import MAX_FIELD_CHARS, import_file
from supportcue.data.store import Store
from supportcue.errors import ImportDataError

CASES_CSV = (
    "id,text,customer_name,order_id,created_at,reply\n"
    "c1,How do I pause payouts?,Ann,A-1,2026-10-01T10:00:00Z,Hi Ann! Go to Settings > Payouts.\n"
    "c2,,Bob,,2026-10-01,\n"
    "c3,Where is my refund?,Cat,,not-a-date,\n"
    "c4,My card was declined,Dan,,2026-10-02T08:00:00+02:00,\n"
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_bad_rows_are_reported_with_line_and_written_beside_the_input(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "cases.csv", CASES_CSV)
    report = import_file(store, "cases", path)
    assert report.read == 4 and report.stored == 2 and report.committed
    assert [(r.line, r.reason.split(":")[0]) for r in report.rejects] == [(3, "message"), (4, "created_at")]
    rejects = [json.loads(x) for x in (tmp_path / "cases.csv.rejects.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [3, 4]
    assert rejects[1]["row"]["id"] == "c3" and "ISO 8601" in rejects[1]["reason"]
    case = store.cases.get("c1")
    assert case is not None and case.fields == {"order_id": "A-1"} and case.customer_name == "Ann"
    sent = store.events.list(case_id="c1", kind="sent")
    assert [e.text for e in sent] == ["Hi Ann! Go to Settings > Payouts."]


def test_strict_commits_nothing(store: Store, tmp_path: Path) -> None:
    report = import_file(store, "cases", write(tmp_path / "cases.csv", CASES_CSV), strict=True)
    assert not report.committed and len(report.rejects) == 2
    assert store.db.count("cases") == 0 and store.db.count("events") == 0


def test_reimport_creates_no_duplicates(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "cases.csv", CASES_CSV)
    import_file(store, "cases", path)
    import_file(store, "cases", path)
    assert store.db.count("cases") == 2
    assert store.db.count("events") == 1


def test_wrong_encoding_names_the_file(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "latin.csv", "id,message\nc1,Où est mon remboursement ?\n", encoding="latin-1")
    with pytest.raises(ImportDataError, match=r"latin\.csv: not UTF-8"):
        import_file(store, "cases", path)
    assert store.db.count("cases") == 0


def test_missing_columns_fail_before_anything_is_stored(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", "case,body\nc1,hello\n")
    with pytest.raises(ImportDataError, match=r"x\.csv: missing column\(s\) id, message .*has: case, body"):
        import_file(store, "cases", path)
    report = import_file(store, "cases", path, mapping={"id": "case", "message": "body"})
    assert report.stored == 1
    case = store.cases.get("c1")
    assert case is not None and case.message == "hello"


def test_a_10_mb_field_is_rejected_not_fatal(store: Store, tmp_path: Path) -> None:
    huge = "x" * (10 * 1024 * 1024)
    path = write(tmp_path / "big.csv", f"id,message\nc1,{huge}\nc2,normal question about fees\n")
    report = import_file(store, "cases", path)
    assert report.stored == 1
    assert report.rejects[0].line == 2
    assert f"limit is {MAX_FIELD_CHARS:,}" in report.rejects[0].reason
    assert len(json.dumps(report.rejects[0].row)) < 10_000  # the rejects file stays readable
    assert store.cases.get("c2") is not None and store.cases.get("c1") is None


def test_jsonl_labels_events_answers(store: Store, tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        "\n".join(
            [
                json.dumps({"case_id": "c1", "task": "topic", "value": "payouts", "annotator": "ann"}),
                "{not json",
                json.dumps({"case_id": "c1", "task": "mood", "value": "x"}),
                json.dumps({"text": "is there a fee?", "task": "topic", "value": "fees", "source": "sme"}),
            ]
        )
        + "\n"
    )
    report = import_file(store, "labels", labels)
    assert report.stored == 2
    assert [r.line for r in report.rejects] == [2, 3]
    assert "task" in report.rejects[1].reason
    events = tmp_path / "events.csv"
    write(events, "idempotency_key,case_id,kind,text\nk1,c1,sent,hello\nk2,c1,teleported,\n")
    report = import_file(store, "events", events)
    assert report.stored == 1 and report.rejects[0].line == 3
    answers = tmp_path / "answers.csv"
    write(answers, "id,topic,title,body,status\na1,payouts,Pause,Hi {customer_name},approved\n")
    assert import_file(store, "answers", answers).stored == 1


def test_export_round_trips_through_import(store: Store, tmp_path: Path) -> None:
    import_file(store, "cases", write(tmp_path / "cases.csv", CASES_CSV))
    for suffix in (".csv", ".jsonl"):
        out = tmp_path / f"export{suffix}"
        assert export_table(store, "cases", out) == 2
        report = import_file(store, "cases", out, strict=True)
        assert report.committed and report.stored == 2
    assert store.db.count("cases") == 2
    case = store.cases.get("c4")
    assert case is not None and case.created_at.isoformat() == "2026-10-02T06:00:00+00:00"


def test_unknown_kind_and_suffix(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ImportDataError, match="allowed: cases"):
        import_file(store, "people", write(tmp_path / "a.csv", "id\n1\n"))
    with pytest.raises(ImportDataError, match=r"a\.xlsx: unsupported file type"):
        import_file(store, "cases", write(tmp_path / "a.xlsx", "id\n1\n"))


def test_nul_bytes_and_lone_surrogates_are_rejects_naming_file_line_and_field(
    store: Store, tmp_path: Path
) -> None:
    rows = [
        '{"id": "c1", "message": "How do I pause payouts?", "reply": "Go to Settings."}',
        '{"id": "c2", "message": "card \\u0000 declined"}',
        '{"id": "c3", "message": "hi", "customer_name": "Ann \\ud800"}',
        '{"id": "c4", "message": "hi", "context": [{"text": "before \\u0000"}]}',
        '{"id": "c5", "message": "hi", "order\\u0000id": "A-1"}',
        '{"id": "c6", "message": "hi", "reply": "sent \\udfff"}',
        '{"id": "c7", "message": "hi", "created_at": "0001-01-01T00:00:00+01:00"}',
        '{"id": "c8", "message": "hi", "created_at": "9999-12-31T23:59:59-01:00"}',
    ]
    path = write(tmp_path / "cases.jsonl", "\n".join(rows) + "\n")
    report = import_file(store, "cases", path)
    assert report.committed and report.stored == 1
    assert [(r.line, r.reason.split(":")[0]) for r in report.rejects] == [
        (2, "message"),
        (3, "customer_name"),
        (4, "context"),
        (5, "fields"),
        (6, "reply"),
        (7, "created_at"),
        (8, "created_at"),
    ]
    assert "NUL byte" in report.rejects[0].reason and "lone surrogate" in report.rejects[1].reason
    assert "out of range" in report.rejects[5].reason
    rejects = [json.loads(x) for x in (tmp_path / "cases.jsonl.rejects.jsonl").read_text().splitlines()]
    assert {r["file"] for r in rejects} == {str(path)} and [r["line"] for r in rejects] == [
        2,
        3,
        4,
        5,
        6,
        7,
        8,
    ]
    assert [c.id for c in store.cases.list()] == ["c1"] and store.db.count("events") == 1


def test_a_nul_byte_in_a_csv_cell_is_a_reject(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path / "events.csv", "idempotency_key,case_id,kind,text\nk1,c1,sent,ok\nk2,c1,sent,a\x00b\n"
    )
    report = import_file(store, "events", path)
    assert [(r.line, r.reason.split(":")[0]) for r in report.rejects] == [(3, "text")]
    assert [e.idempotency_key for e in store.events.list()] == ["k1"]


def test_a_cases_context_is_a_thread_of_turns(store: Store, tmp_path: Path) -> None:
    thread = ["My payout is late", {"role": "agent", "text": "Which account?"}, {"text": " "}]
    rows = [
        json.dumps(
            {"id": "t1", "message": "The main one", "context": json.dumps(thread)}
        ),  # a CSV cell's JSON
        '{"id": "t2", "message": "hi", "context": [{"role": "bot", "text": "Hello"}]}',
        '{"id": "t3", "message": "hi", "context": [{"role": "agent"}]}',
        '{"id": "t4", "message": "hi", "context": [42]}',
    ]
    report = import_file(store, "cases", write(tmp_path / "threads.jsonl", "\n".join(rows) + "\n"))
    assert [(r.line, r.reason) for r in report.rejects] == [
        (2, "context: Value error, turn 1: role must be customer or agent"),
        (3, "context: Value error, turn 1 has no text: give each turn as {role, text}"),
        (4, "context: Value error, turn 1 is neither a string nor an object {role, text}"),
    ]
    case = store.cases.get("t1")
    assert case is not None and case.context == [
        {"role": "customer", "text": "My payout is late"},
        {"role": "agent", "text": "Which account?"},
    ]
