"""Import validation: bad rows, wrong encoding, missing columns, huge fields, idempotent re-import."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete

from supportcue.data.columns import MAX_FIELD_CHARS
from supportcue.data.exporter import export_table
from supportcue.data.importer import import_file
from supportcue.data.store import Store
from supportcue.data.tables import Event
from supportcue.errors import ImportDataError
from supportcue.integrations.conversation import TurnIn, receive_customer
from supportcue.vocab import MessageRole

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


def test_imported_dismissals_take_the_reasons_the_api_takes(store: Store, tmp_path: Path) -> None:
    """The dashboard counts dismissals by reason: `import events` accepts what `POST /v1/events` does."""
    path = write(
        tmp_path / "events.csv",
        "idempotency_key,case_id,kind,reason\n"
        "k1,c1,dismissed,outdated\n"
        "k2,c1,dismissed,the customer was rude\n"
        "k3,c1,dismissed,\n"
        "k4,c1,dismissed,not_needed\n",
    )
    report = import_file(store, "events", path)
    assert report.stored == 2 and [r.line for r in report.rejects] == [3, 4]
    accepted = ("wrong_topic", "outdated", "tone", "not_needed", "other")
    assert all(all(reason in r.reason for reason in accepted) for r in report.rejects)
    assert report.rejects[0].fields == ["reason"] and "rude" not in report.rejects[0].reason
    assert "`dismissed` event needs a `reason`" in report.rejects[1].reason
    assert sorted(e.reason or "" for e in store.events.list(case_id="c1")) == ["not_needed", "outdated"]


def test_wrong_encoding_names_the_file_and_line_and_another_encoding_reads_it(
    store: Store, tmp_path: Path
) -> None:
    text = "id,message\nc1,Where is my refund?\nc2,Où est mon remboursement ?\n"
    path = write(tmp_path / "latin.csv", text, encoding="latin-1")
    with pytest.raises(ImportDataError, match=r"latin\.csv:3: not utf-8 text .*--encoding"):
        import_file(store, "cases", path)
    assert store.db.count("cases") == 0
    assert import_file(store, "cases", path, encoding="latin-1").stored == 2
    case = store.cases.get("c2")
    assert case is not None and case.message == "Où est mon remboursement ?"
    with pytest.raises(ImportDataError, match="unknown encoding 'klingon'"):
        import_file(store, "cases", path, encoding="klingon")


@pytest.mark.parametrize("name", ["cases.csv", "cases.jsonl"])
def test_a_byte_order_mark_and_utf16_are_read(store: Store, tmp_path: Path, name: str) -> None:
    body = (
        "id,message\nc1,Où est ma boîte ?\n"
        if name.endswith(".csv")
        else '{"id": "c1", "message": "Où est ma boîte ?"}\n'
    )
    assert import_file(store, "cases", write(tmp_path / name, body, "utf-8-sig")).stored == 1
    path = write(tmp_path / ("16" + name), body.replace("c1", "c2"), "utf-16")
    assert import_file(store, "cases", path, encoding="utf-16").stored == 1
    assert [c.message for c in store.cases.list()] == ["Où est ma boîte ?"] * 2


@pytest.mark.parametrize("name", ["cases.csv", "cases.jsonl"])
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-32-be"])
def test_a_utf16_or_utf32_file_with_its_byte_order_mark_is_read_without_encoding(
    store: Store, tmp_path: Path, name: str, encoding: str
) -> None:
    """Spreadsheets save "Unicode text" as UTF-16 with a byte-order mark: the mark says what it is."""
    body = (
        "id,message\nc1,Où est ma boîte ?\nc2,€ 12\n"
        if name.endswith(".csv")
        else '{"id": "c1", "message": "Où est ma boîte ?"}\n{"id": "c2", "message": "€ 12"}\n'
    )
    bom = "\ufeff" if encoding.endswith("-be") else ""  # the -be codecs write no mark of their own
    path = tmp_path / name
    path.write_bytes((bom + body).encode(encoding))
    report = import_file(store, "cases", path, strict=True)
    assert (report.stored, report.rejects) == (2, [])
    assert sorted(c.message for c in store.cases.list()) == ["Où est ma boîte ?", "€ 12"]


@pytest.mark.parametrize("name", ["cases.csv", "cases.jsonl"])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_a_utf16_or_utf32_file_without_a_byte_order_mark_is_read_without_encoding(
    store: Store, tmp_path: Path, name: str, encoding: str
) -> None:
    """Without a mark, the zero bytes beside the header's ASCII say UTF-16 or UTF-32 (RFC 4627's rule):
    read as UTF-8, `id,message` became `i\x00d\x00...` and the file failed on a missing column."""
    body = (
        "id,message\nc1,Où est ma boîte ?\nc2,€ 12\n"
        if name.endswith(".csv")
        else '{"id": "c1", "message": "Où est ma boîte ?"}\n{"id": "c2", "message": "€ 12"}\n'
    )
    path = tmp_path / name
    path.write_bytes(body.encode(encoding))
    report = import_file(store, "cases", path, strict=True)
    assert (report.stored, report.rejects) == (2, [])
    assert sorted(c.message for c in store.cases.list()) == ["Où est ma boîte ?", "€ 12"]


def test_utf16_named_for_a_file_without_its_byte_order_mark_names_file_and_line(
    store: Store, tmp_path: Path
) -> None:
    """Python's UTF-16 decoder raises a UnicodeError (not a UnicodeDecodeError) without a BOM."""
    path = write(tmp_path / "cases.csv", "id,message\nc1,hi\n")
    with pytest.raises(ImportDataError, match=r"cases\.csv:1: not utf-16 text .*--encoding"):
        import_file(store, "cases", path, encoding="utf-16")
    assert store.db.count("cases") == 0


def test_missing_columns_fail_before_anything_is_stored(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", "case,content\nc1,hello\n")
    with pytest.raises(
        ImportDataError, match=r"x\.csv: missing column\(s\) id, message .*has: case, content"
    ):
        import_file(store, "cases", path)
    report = import_file(store, "cases", path, mapping={"id": "case", "message": "content"})
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


def test_set_gives_every_row_a_constant_over_a_column(store: Store, tmp_path: Path) -> None:
    labels = write(tmp_path / "topics.csv", "case_id,topic_key\nc1,refunds\nc2,payouts\n")
    report = import_file(
        store,
        "labels",
        labels,
        mapping={"value": "topic_key"},
        constants={"task": "topic", "source": "sme", "annotator": "ann"},
    )
    assert report.stored == 2 and not report.rejects
    got = {(x.subject, x.task, x.value, x.source, x.annotator) for x in store.labels.list()}
    assert got == {("c1", "topic", "refunds", "sme", "ann"), ("c2", "topic", "payouts", "sme", "ann")}
    answers = write(tmp_path / "answers.csv", "id,topic,title,body,status\na1,refunds,R,Body,draft\n")
    import_file(store, "answers", answers, constants={"status": "approved"})
    assert [a.status for a in store.library.answers()] == ["approved"]
    bad = import_file(store, "answers", answers, constants={"status": "aproved"})
    assert (
        bad.valid == 0 and "status: Input should be 'draft', 'approved' or 'retired'" in bad.rejects[0].reason
    )


def test_map_and_set_name_what_does_not_exist(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "answers.csv", "id,topic,title,text\na1,refunds,R,Body\n")
    with pytest.raises(ImportDataError, match=r"--set colour: answers have no such column; they have: id,"):
        import_file(store, "answers", path, constants={"colour": "red"})
    with pytest.raises(
        ImportDataError, match=r"answers\.csv: --map body=content: the file has no column 'content'"
    ):
        import_file(store, "answers", path, mapping={"body": "content"})
    with pytest.raises(
        ImportDataError, match=r"missing column\(s\) body .* or give every row a value with --set"
    ):
        import_file(store, "answers", path)
    assert import_file(store, "answers", path, mapping={"body": "text"}).stored == 1
    cases = write(tmp_path / "cases.csv", "id,message\nc1,hello\n")
    with pytest.raises(ImportDataError, match=r"--set the field name is empty; cases have: id, message,"):
        import_file(store, "cases", cases, constants={"": "1"})
    with pytest.raises(ImportDataError, match=r"--map __error__: a field name may not start with __"):
        import_file(store, "cases", cases, mapping={"__error__": "message"})
    assert store.cases.get("c1") is None


def test_dry_run_validates_and_reports_without_writing(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "cases.csv", CASES_CSV)
    report = import_file(store, "cases", path, dry_run=True)
    assert (report.read, report.valid, report.stored, report.committed) == (4, 2, 0, False)
    assert [r.line for r in report.rejects] == [3, 4] and report.rejects_path is None
    assert store.db.count("cases") == 0 and store.db.count("events") == 0
    assert not (tmp_path / "cases.csv.rejects.jsonl").exists()


def test_a_duplicate_inside_one_file_is_rejected_naming_both_lines(store: Store, tmp_path: Path) -> None:
    cases = write(
        tmp_path / "cases.csv",
        "id,message\nc1,first question\nc2,other\nc1,second question\n",
    )
    report = import_file(store, "cases", cases)
    assert report.stored == 2 and [(r.line, r.row) for r in report.rejects] == [(4, {"id": "c1"})]
    assert report.rejects[0].reason == "duplicate id: line 2 has the same id (the first one is kept)"
    kept = store.cases.get("c1")
    assert kept is not None and kept.message == "first question"
    labels = write(
        tmp_path / "labels.csv",
        "case_id,task,value,annotator\nc1,topic,a,ann\nc1,topic,b,bob\nc1,topic,c,ann\n",
    )
    report = import_file(store, "labels", labels)
    assert report.stored == 2 and [r.line for r in report.rejects] == [4]
    assert "line 2 labels the same case for task topic" in report.rejects[0].reason
    events = write(tmp_path / "events.csv", "idempotency_key,case_id,kind\nk1,c1,resolved\nk1,c1,inserted\n")
    report = import_file(store, "events", events)
    assert [(r.line, r.reason.split(":")[0]) for r in report.rejects] == [(3, "duplicate idempotency_key")]


def test_a_file_whose_every_row_is_rejected_stores_nothing(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "cases.csv", "id,message\nc1,\nc2,\n")
    report = import_file(store, "cases", path)
    assert (report.read, report.valid, report.committed) == (2, 0, False)
    assert report.rejects_path is not None and report.rejects_path.exists()


def test_history_with_a_reply_is_resolved_unless_the_row_says_otherwise(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path / "cases.csv",
        "id,message,reply,status\n"
        "h1,Where is my box?,It is on its way.,\n"
        "h2,Skip next week?,Done.,open\n"
        "n1,Cancel please,,\n",
    )
    import_file(store, "cases", path)
    assert {c.id: c.status for c in store.cases.list()} == {"h1": "resolved", "h2": "open", "n1": "open"}


def test_warnings_for_nothing_approved_and_no_created_at(store: Store, tmp_path: Path) -> None:
    answers = write(tmp_path / "answers.csv", "id,topic,title,body\na1,refunds,R,Body\na2,fees,F,Body\n")
    (warning,) = import_file(store, "answers", answers).warnings
    assert "none of the 2 answers is approved" in warning and "--set status=approved" in warning
    assert import_file(store, "answers", answers, constants={"status": "approved"}).warnings == []
    (warning,) = import_file(store, "cases", write(tmp_path / "c.csv", "id,message\nc1,hi there\n")).warnings
    assert "no case has a created_at" in warning
    assert import_file(store, "cases", write(tmp_path / "cases.csv", CASES_CSV)).warnings == []


def test_context_is_text_or_a_json_array_of_turns(store: Store, tmp_path: Path) -> None:
    rows = [
        {"id": "t1", "message": "Still nothing?", "context": "I wrote yesterday about my late box."},
        {
            "id": "t2",
            "message": "And now?",
            "context": '["Hello?", {"role": "agent", "text": "Hi, how can I help?"}]',
        },
        {"id": "t3", "message": "ok", "context": "[URGENT] my box"},
        {"id": "t4", "message": "ok", "context": [{"role": "robot", "text": "beep"}]},
        {"id": "t5", "message": "ok", "context": [{"role": "agent"}]},
    ]
    path = write(tmp_path / "cases.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    report = import_file(store, "cases", path)
    assert [(r.line, r.reason) for r in report.rejects] == [
        (4, "context: turn 1: role must be one of customer | agent | bot"),
        (5, "context: turn 1: expected text or an object with a text key"),
    ]
    contexts = {c.id: c.context for c in store.cases.list()}
    assert contexts == {
        "t1": [{"role": "customer", "text": "I wrote yesterday about my late box."}],
        "t2": [{"role": "customer", "text": "Hello?"}, {"role": "agent", "text": "Hi, how can I help?"}],
        "t3": [{"role": "customer", "text": "[URGENT] my box"}],
    }


def test_a_validity_label_is_valid_or_invalid(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "labels.csv", "case_id,task,value\nc1,validity,valid\nc2,validity,maybe\n")
    report = import_file(store, "labels", path)
    assert report.stored == 1 and report.rejects[0].reason == "value: a validity label is valid or invalid"


def test_a_multiline_row_is_reported_at_its_first_line_and_a_repeated_column_fails(
    store: Store, tmp_path: Path
) -> None:
    path = write(tmp_path / "cases.csv", 'id,message,created_at\nc1,"two\nlines",2026-01-01\nc2,hi,soon\n')
    assert [r.line for r in import_file(store, "cases", path).rejects] == [4]
    with pytest.raises(ImportDataError, match=r"dup\.csv:1: the header repeats column\(s\) id$"):
        import_file(store, "cases", write(tmp_path / "dup.csv", "id,message,id\nc1,hi,c2\n"))


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_every_line_ending_is_read_and_lines_are_counted(store: Store, tmp_path: Path, end: str) -> None:
    text = end.join(["id,message,created_at", f'c1,"two{end}lines",2026-01-01', "c2,hi,soon", ""])
    report = import_file(store, "cases", write(tmp_path / "cases.csv", text))
    assert report.stored == 1 and [r.line for r in report.rejects] == [4]
    case = store.cases.get("c1")
    assert case is not None and case.message == "two\nlines"  # line breaks stored as "\n"


def test_json_the_parser_cannot_take_is_a_reject_naming_the_line(store: Store, tmp_path: Path) -> None:
    """Nesting past the interpreter's recursion limit and integers past its 4,300 digits raise other
    errors than a JSON syntax error: each is a reject of its line, the valid rows stored."""
    deep = "[" * 100_000 + "]" * 100_000
    rows = [
        '{"id": "c1", "message": "How do I pause payouts?"}',
        '{"id": "c2", "message": ' + deep + "}",
        '{"id": "c3", "message": "hi", "order_id": ' + "1" * 5_000 + "}",
    ]
    report = import_file(store, "cases", write(tmp_path / "cases.jsonl", "\n".join(rows) + "\n"))
    assert report.committed and report.stored == 1
    assert [(r.line, r.reason) for r in report.rejects] == [
        (2, "not valid JSON: nested too deeply"),
        (3, "not valid JSON: a number has too many digits"),
    ]
    cells = [f'c4,hi,"{deep}",', f'c5,hi,,"{{""order_id"": {deep}}}"']
    path = write(tmp_path / "cases.csv", "id,message,context,fields\n" + "\n".join(cells) + "\n")
    report = import_file(store, "cases", path)
    assert [(r.line, r.reason.split(":")[0]) for r in report.rejects] == [(3, "fields")]
    case = store.cases.get("c4")  # a context that is not a JSON array is one customer turn, as text
    assert case is not None and case.context == [{"role": "customer", "text": deep}]


def test_reimporting_a_case_updates_its_reply_as_it_updates_the_case(store: Store, tmp_path: Path) -> None:
    """A cases file imported again with a corrected reply updated the case but kept the old reply
    (its `sent` event was stored once and never changed), so training and the match rate went on
    reading the wrong text without a word."""
    header = "id,message,reply,agent_id,handle_seconds,created_at\n"
    import_file(
        store, "cases", write(tmp_path / "a.csv", header + "c1,Refund?,Wrong reply,lea,30,2026-10-01\n")
    )
    fixed = "c1,Refund please?,We refund in 5 days.,sam,45,2026-10-02\n"
    assert import_file(store, "cases", write(tmp_path / "b.csv", header + fixed)).committed
    case = store.cases.get("c1")
    assert case is not None and case.message == "Refund please?"
    sent = store.events.list(case_id="c1", kind="sent")
    assert [(e.text, e.agent_id, e.handle_seconds, e.ts.date().isoformat()) for e in sent] == [
        ("We refund in 5 days.", "sam", 45.0, "2026-10-02")
    ]


def test_a_simulated_case_imports_its_reply_as_simulated(store: Store, tmp_path: Path) -> None:
    """A cases file's `simulated` column marked the case but not the `sent` event made of its reply:
    imported generated history read as replies real agents sent (the review queue samples those).
    Imported again, the reply follows the case's row, as its text does."""
    header = "id,message,reply,simulated,created_at\n"
    rows = "c1,Refund?,We refund in 5 days.,true,2026-10-01\nc2,Pause?,Pause in Settings.,false,2026-10-01\n"
    assert import_file(store, "cases", write(tmp_path / "a.csv", header + rows)).committed
    sent = {e.case_id: e.simulated for e in store.events.list(kind="sent")}
    assert sent == {"c1": True, "c2": False}
    replies = store.reviews.sent_since(datetime(2026, 9, 1, tzinfo=UTC), 10)
    assert {r.case_id: bool(r.simulated) for r in replies} == {"c1": True, "c2": False}
    again = "c1,Refund?,We refund in 5 days.,false,2026-10-01\n"
    assert import_file(store, "cases", write(tmp_path / "b.csv", header + again)).committed
    assert [e.simulated for e in store.events.list(case_id="c1", kind="sent")] == [False]


def test_a_column_the_import_does_not_read_is_named_in_a_warning(store: Store, tmp_path: Path) -> None:
    """A misspelt optional column (`expires`, `anotator`) was dropped without a word: the labels
    never expired and lost their annotator, which agreement and provenance need."""
    import_file(store, "cases", write(tmp_path / "cases.csv", CASES_CSV))  # the case labeled
    path = write(
        tmp_path / "labels.csv",
        "case_id,task,label,anotator,expires,confidence\nc1,topic,refunds,maya,2026-12-01,0.9\n",
    )
    report = import_file(store, "labels", path)
    assert report.committed
    (warning,) = report.warnings
    assert "anotator, expires" in warning and "not read" in warning and "--map" in warning
    (label,) = store.labels.list("topic")
    assert label.value == "refunds" and label.confidence == 0.9  # `label` is a known other name
    jsonl = write(
        tmp_path / "a.jsonl", '{"id": "a1", "topic": "t", "title": "T", "body": "B", "satus": "approved"}\n'
    )
    assert any("satus" in w for w in import_file(store, "answers", jsonl).warnings)
    mapped = import_file(store, "labels", path, mapping={"annotator": "anotator", "expires_at": "expires"})
    assert mapped.warnings == []
    assert import_file(store, "cases", write(tmp_path / "c.csv", CASES_CSV)).warnings == []  # extra: fields


def test_a_labels_export_imports_back_with_its_version(store: Store, tmp_path: Path) -> None:
    """`export labels` writes each label's `version` (the labeling functions' set or model that made a
    weak label); importing the file into another workspace dropped it, and with it the label's
    provenance."""
    store.labels.add(
        [
            {
                "case_id": "c1",
                "task": "topic",
                "value": "refunds",
                "source": "weak",
                "annotator": "label_model:majority",
                "confidence": 0.75,
                "version": "lfs-0123456789",
            },
        ]
    )
    out = tmp_path / "labels.jsonl"
    export_table(store, "labels", out)
    store.labels.delete("weak")
    import_file(store, "cases", write(tmp_path / "cases.csv", CASES_CSV))  # the case labeled
    report = import_file(store, "labels", out)
    assert report.stored == 1
    assert report.warnings == []  # `id` is the store's own, left out on purpose: no warning
    (label,) = store.labels.list("topic")
    assert (label.source, label.annotator, label.confidence, label.version) == (
        "weak",
        "label_model:majority",
        0.75,
        "lfs-0123456789",
    )


def test_a_label_that_expires_before_it_was_made_is_a_reject_naming_the_line(
    store: Store, tmp_path: Path
) -> None:
    """It was stored and never used (a date typo, `expires_at` 2025 for 2027), without a word."""
    path = write(
        tmp_path / "labels.csv",
        "case_id,task,value,created_at,expires_at\n"
        "c1,topic,refunds,2026-10-01,2027-10-01\n"
        "c2,topic,refunds,2026-10-01,2025-10-01\n"
        "c3,topic,refunds,2026-10-01,2026-10-01\n",
    )
    report = import_file(store, "labels", path)
    assert report.stored == 1 and [r.line for r in report.rejects] == [3, 4]
    assert all("is not after created_at" in r.reason for r in report.rejects), report.rejects
    assert [lb.case_id for lb in store.labels.list(include_expired=True)] == ["c1"]


def test_labels_on_cases_not_imported_are_named_in_a_warning(store: Store, tmp_path: Path) -> None:
    """A label whose case_id names no imported case (a typo, a forgotten cases file) was taken without
    a word; only `train` said, later, that it was not learned from."""
    write(tmp_path / "cases.csv", "id,message\nT-1,where is my refund\n")
    import_file(store, "cases", tmp_path / "cases.csv")
    labels = write(
        tmp_path / "labels.csv",
        "case_id,text,task,value\nT-1,,topic,refunds\nT-9,,topic,refunds\nT-8,,topic,refunds\n"
        ",a text alone,topic,refunds\n",
    )
    for dry_run in (True, False):
        report = import_file(store, "labels", labels, dry_run=dry_run)
        assert report.warnings == [
            "2 case id(s) of these labels match no imported case (e.g. T-8): training learns from those "
            "labels only once the cases are imported (`supportcue import cases FILE`); or fix the "
            "labels' case_id"
        ]
    assert report.stored == 4
    write(tmp_path / "more.csv", "id,message\nT-8,a\nT-9,b\n")
    import_file(store, "cases", tmp_path / "more.csv")
    assert import_file(store, "labels", labels).warnings == []


def test_cases_without_a_date_among_dated_ones_are_named_in_a_warning(store: Store, tmp_path: Path) -> None:
    """A help desk's export with a few blank `created_at` cells: those cases were dated at the import,
    weeks after the rest, without a word (the warning was only for a file with no date at all), so the
    backtest's time split tested on them as the newest cases and drift read them as today's."""
    path = write(
        tmp_path / "cases.csv",
        "id,message,created_at\nc1,where is my refund,2026-09-01\nc2,reset my password,\n"
        "c3,cancel my plan,2026-09-03\nc4,router lights orange,\n",
    )
    for dry_run in (True, False):
        report = import_file(store, "cases", path, dry_run=dry_run)
        assert report.warnings == [
            "2 of the 4 cases have no created_at (lines 3, 5), so each is dated now (a case imported "
            "before keeps its date): training's time split tests on them as the newest cases and drift "
            "reads them as today's messages. Give them their created_at (ISO 8601), or leave them out "
            "of the file."
        ]
    dated = write(tmp_path / "dated.csv", "id,message,created_at\nd1,a,2026-09-01\nd2,b,2026-09-02\n")
    assert import_file(store, "cases", dated).warnings == []


def test_topic_labels_naming_no_topic_of_the_workspace_are_named_in_a_warning(
    store: Store, tmp_path: Path
) -> None:
    """A label file with a misspelt topic ("refnd", "Outage") made a new topic of it without a word:
    a class of one or two examples for training, and one more topic for reviewers to pick from."""
    answers = "id,topic,title,body,status\na1,refund,R,Body,approved\na2,outage,O,Body,approved\n"
    import_file(store, "answers", write(tmp_path / "answers.csv", answers))
    labels = write(
        tmp_path / "labels.csv",
        "case_id,task,value,annotator\nc1,topic,refund,ann\nc2,topic,refnd,ann\nc3,topic,Outage,ann\n"
        "c4,topic,refnd,bob\nc5,topic,billing,ann\nc5,validity,valid,ann\n",
    )
    expected = (
        "3 topic(s) of these labels are not topics of the workspace (no answer or earlier label names "
        "them): 'refnd' (2 labels, lines 3, 5; did you mean 'refund'?), 'Outage' (1 label, line 4; did you "
        "mean 'outage'?), 'billing' (1 label, line 6). A person's topic label makes its value a new topic, "
        "learned from its labels alone; if one is misspelt, correct it and import the file again (the "
        "label is updated in place)."
    )
    report = import_file(store, "labels", labels, dry_run=True)
    assert expected in report.warnings
    assert {t.key for t in store.library.topics()} == {"refund", "outage"}  # a dry run adds none
    fixed = write(
        tmp_path / "fixed.csv",
        "case_id,task,value,annotator\nc1,topic,refund,ann\nc2,topic,refund,ann\nc3,topic,outage,ann\n",
    )
    assert not any("not topics of the workspace" in w for w in import_file(store, "labels", fixed).warnings)


def test_a_jsonl_export_with_numeric_ids_is_read(store: Store, tmp_path: Path) -> None:
    """A help desk's JSON export keeps ticket ids as numbers (`"id": 1042`): every row was rejected
    ("id: Input should be a valid string"), and so was a label's numeric `case_id`. Its other values
    (a list of tags, an object) became case fields in Python's notation (`['vip']`), not JSON."""
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        json.dumps(
            {
                "id": 1042,
                "message": "Where is my refund?",
                "created_at": "2026-10-01",
                "agent_id": 7,
                "reply": "It is on its way.",
                "tags": ["billing", "vip"],
                "vip": True,
                "score": 2.5,
            }
        )
        + "\n"
        + json.dumps({"id": 1043, "message": "Reset my password", "created_at": "2026-10-02"})
        + "\n"
        + json.dumps({"id": "1042", "message": "the same id as text", "created_at": "2026-10-03"})
        + "\n"
    )
    report = import_file(store, "cases", cases)
    assert (report.stored, [(r.line, r.reason.split(":")[0]) for r in report.rejects]) == (
        2,
        [(3, "duplicate id")],
    )
    case = store.cases.get("1042")
    assert case is not None and case.fields == {"tags": '["billing", "vip"]', "vip": "true", "score": "2.5"}
    assert [e.agent_id for e in store.events.list(case_id="1042", kind="sent")] == ["7"]
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"case_id": 1043, "task": "topic", "value": "login"}) + "\n")
    assert import_file(store, "labels", labels).stored == 1
    assert [lb.case_id for lb in store.labels.list("topic")] == ["1043"]
    # only integers: NaN, an overflowing number or a fraction where text is expected stay errors
    odd = tmp_path / "odd.jsonl"
    odd.write_text(
        '{"id": NaN, "message": "a"}\n{"id": 1e400, "message": "b"}\n{"id": 12.5, "message": "c"}\n'
    )
    report = import_file(store, "cases", odd, dry_run=True)
    assert [(r.line, r.fields) for r in report.rejects] == [(1, ["id"]), (2, ["id"]), (3, ["id"])]


def test_columns_that_look_like_the_date_or_the_reply_are_named(store: Store, tmp_path: Path) -> None:
    """A help desk's export names its columns its own way (`opened`, `agent_reply`): without a --map
    they became case fields, every case open (the inbox flooded) and dated now, and the warnings
    did not say which column to map (the reply's absence was not mentioned at all). (`created` is
    read as created_at now, as the usual exports' names are.)"""
    path = write(
        tmp_path / "cases.csv",
        "id,message,opened,agent_reply,a_handle_time,a_first_response_time,a_answer_id,a_sent_at\n"
        "c1,where is my refund,2026-09-01,It is on its way.,120,30,a1,2026-09-01\n"
        "c2,reset my password,2026-09-02,Use the reset link.,90,20,a2,2026-09-02\n",
    )
    assert import_file(store, "cases", path, dry_run=True).warnings == [
        "no case has a created_at, so every one is dated now: training cannot split the history by time. "
        "Add a created_at column (ISO 8601, e.g. 2026-03-02T09:15:00Z) if you have one; column 'opened' "
        "looks like it: --map created_at=opened.",
        "no case has a reply, so the 2 cases are open (they fill the agent console's inbox) and none of "
        "them is history the response stage learns from; column 'agent_reply' looks like it: --map "
        "reply=agent_reply.",
    ]
    mapped = import_file(store, "cases", path, mapping={"created_at": "opened", "reply": "agent_reply"})
    assert mapped.warnings == []
    # a file of open cases, with no reply-like column, is no mistake
    assert (
        import_file(
            store, "cases", write(tmp_path / "open.csv", "id,message,created_at\no1,hi,2026-09-01\n")
        ).warnings
        == []
    )


def test_answers_and_articles_are_stored_with_their_line_breaks_as_lf(store: Store, tmp_path: Path) -> None:
    """A file written on Windows (and a jsonl with "\\r\\n" in a body) stored the answer with "\\r\\n",
    which suggestions then carried, and a form's untouched save read as a change; stored as "\\n", as
    the HTTP routes store it."""
    csv = tmp_path / "answers.csv"
    csv.write_bytes(
        b'id,topic,title,body,status\r\na1,refunds,Refunds,"Hi {customer_name}!\r\n'
        b'Refunds take 5 days.\rBest",approved\r\n'
    )
    import_file(store, "answers", csv)
    lines = tmp_path / "answers.jsonl"
    lines.write_text(json.dumps({"id": "a2", "topic": "refunds", "title": "R", "body": "one\r\ntwo"}) + "\n")
    import_file(store, "answers", lines)
    articles = tmp_path / "articles.jsonl"
    articles.write_text(json.dumps({"id": "k1", "title": "K", "body": "first\r\n\r\nsecond"}) + "\n")
    import_file(store, "articles", articles)
    bodies = {a.id: a.body for a in store.library.answers()}
    assert bodies == {"a1": "Hi {customer_name}!\nRefunds take 5 days.\nBest", "a2": "one\ntwo"}
    assert [v.body for v in store.library.versions("a2")] == ["one\ntwo"]
    assert [a.body for a in store.library.articles()] == ["first\n\nsecond"]


def test_an_exported_cases_file_imported_again_adds_no_field(store: Store, tmp_path: Path) -> None:
    """`export cases` writes the store's `status_changed_at` (a case Chatwoot resolved has one): it
    is no case field to fill placeholders with."""
    store.cases.upsert([{"id": "c1", "message": "hi", "fields": {"order_id": "A-1"}}])
    store.cases.follow_status("c1", "resolved", datetime(2026, 10, 1, tzinfo=UTC))
    exported = tmp_path / "cases.csv"
    export_table(store, "cases", exported)
    assert "status_changed_at" in exported.read_text().splitlines()[0]
    report = import_file(store, "cases", exported)
    assert report.stored == 1 and not report.rejects
    case = store.cases.get("c1")
    assert case is not None and case.fields == {"order_id": "A-1"} and case.status == "resolved"


def test_an_exported_purged_case_imported_again_brings_nothing_back(store: Store, tmp_path: Path) -> None:
    """`export cases` writes `purged_at`: it was read as a case field (`purged_at` next to the
    `[purged]` message), and the row overwrote the purged case, clearing its mark. A row of a purged
    case is rejected naming its line; the others are imported, `purged_at` no field of theirs."""
    store.cases.upsert([{"id": "c1", "message": "my card 4242", "customer_name": "Ann"}])
    store.cases.upsert([{"id": "c2", "message": "hi", "fields": {"order_id": "A-1"}}])
    store.retention.purge_cases(["c1"], lambda pairs: [(None, None) for _ in pairs], datetime.now(UTC))
    exported = tmp_path / "cases.csv"
    export_table(store, "cases", exported)
    assert "purged_at" in exported.read_text().splitlines()[0]
    report = import_file(store, "cases", exported)
    lines = exported.read_text().splitlines()
    purged_line = next(n for n, text in enumerate(lines, 1) if text.startswith("c1,"))
    assert report.stored == 1 and [r.line for r in report.rejects] == [purged_line]
    assert "purged" in report.rejects[0].reason
    purged = store.cases.get("c1")
    assert purged is not None and purged.purged_at is not None and purged.fields == {}
    assert purged.message == "[purged]" and purged.customer_name is None
    kept = store.cases.get("c2")
    assert kept is not None and kept.fields == {"order_id": "A-1"} and kept.purged_at is None


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_an_exported_simulated_event_is_imported_as_simulated(
    store: Store, tmp_path: Path, suffix: str
) -> None:
    """`export events` writes `simulated` (the demo's generated history), but `import events` did not
    read it: imported into another workspace, generated events became real ones."""
    store.events.add_many(
        [
            {"idempotency_key": "k1", "case_id": "c1", "kind": "resolved", "simulated": True},
            {"idempotency_key": "k2", "case_id": "c1", "kind": "resolved"},
        ]
    )
    exported = tmp_path / f"events{suffix}"
    export_table(store, "events", exported)
    with store.db.session() as s:
        s.execute(delete(Event))
    report = import_file(store, "events", exported)
    assert report.stored == 2 and not report.rejects
    assert {e.idempotency_key: e.simulated for e in store.events.list()} == {"k1": True, "k2": False}


def test_an_answer_id_that_ends_in_a_route_word_is_a_rejected_row(store: Store, tmp_path: Path) -> None:
    """`a1/versions`, `x/diff`, `compose` were stored, but PATCH /v1/answers/{id} could not reach them
    (405 from the versions, diff and compose routes; 404 for the bare words): each is a rejected row
    naming its line, the other answers are stored (the routes are case-sensitive: `Versions` is fine)."""
    path = write(
        tmp_path / "answers.csv",
        "id,topic,title,body\n"
        "a1,payouts,Pause,You can pause payouts.\n"
        "a1/versions,payouts,Pause,Body.\n"
        "faq/x/diff,payouts,Pause,Body.\n"
        "compose,payouts,Pause,Body.\n"
        "Versions,payouts,Pause,Body.\n"
        "versions/a2,payouts,Pause,Body.\n",
    )
    report = import_file(store, "answers", path)
    assert [r.line for r in report.rejects] == [3, 4, 5]
    assert all("id:" in r.reason and "versions, diff, compose" in r.reason for r in report.rejects)
    rejects = [json.loads(x) for x in (tmp_path / "answers.csv.rejects.jsonl").read_text().splitlines()]
    assert [(r["file"], r["line"], r["row"]["id"]) for r in rejects] == [
        (str(path), 3, "a1/versions"),
        (str(path), 4, "faq/x/diff"),
        (str(path), 5, "compose"),
    ]
    assert sorted(a.id for a in store.library.answers()) == ["Versions", "a1", "versions/a2"]


def test_answers_naming_no_topic_of_the_workspace_are_named_in_a_warning(
    store: Store, tmp_path: Path
) -> None:
    """An answers file with a misspelt topic ("refnd") stored an answer no suggestion can pick, without
    a word: the import names the file, each such topic with its lines and the closest known topic."""
    first = "id,topic,title,body,status\na1,payouts,P,Body,approved\na2,refunds,R,Body,approved\n"
    assert not any(
        "topic" in w for w in import_file(store, "answers", write(tmp_path / "a.csv", first)).warnings
    )
    path = write(
        tmp_path / "answers.csv",
        "id,topic,title,body,status\na3,refnd,R,Body,approved\na4,chargebacks,C,Body,approved\n"
        "a5,chargebacks,C2,Body,approved\na6,payouts,P2,Body,approved\na7,Refunds,R2,Body,approved\n",
    )
    expected = (
        f"{path}: 3 topic(s) of these answers are not topics of the workspace (no topic, topic label, "
        "answer or article has them), so no suggestion picks those answers until the topic stage learns "
        "the topic from topic labels: 'chargebacks' (2 answers, lines 3, 4), 'Refunds' (1 answer, line 6; "
        "did you mean 'refunds'?), 'refnd' (1 answer, line 2; did you mean 'refunds'?). If one is "
        "misspelt, correct it and import the file again (the answer takes the corrected topic)."
    )
    assert expected in import_file(store, "answers", path, dry_run=True).warnings
    fixed = write(tmp_path / "fixed.csv", "id,topic,title,body,status\na3,refunds,R,Body,approved\n")
    assert not any("not topics" in w for w in import_file(store, "answers", fixed).warnings)


def test_a_repeated_header_line_is_a_reject_not_a_row(store: Store, tmp_path: Path) -> None:
    """Two exports joined into one file repeat the header mid-file: that line is no case (an id "id"
    with the message "message") and no answer (whose topic "topic" would become a topic)."""
    cases = write(
        tmp_path / "cases.csv",
        "id,message,reply\nc1,Where is my refund?,On its way\nid,message,reply\nc2,Cancel my order,Done\n",
    )
    report = import_file(store, "cases", cases)
    assert (report.read, report.stored) == (3, 2)
    assert [(r.line, r.reason) for r in report.rejects] == [
        (3, "the header line again (were two files joined?): not a row")
    ]
    assert store.cases.get("id") is None and store.db.count("events") == 2
    answers = write(
        tmp_path / "answers.csv",
        "id,topic,title,body,status\na1,refunds,Refunds,Five days.,approved\n"
        " id , topic ,title,body,status\na2,cancel,Cancel,Use the app.,approved\n",
    )
    report = import_file(store, "answers", answers)
    assert report.stored == 2 and [r.line for r in report.rejects] == [3]
    assert {t.key for t in store.library.topics(status=None)} == {"refunds", "cancel"}


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_semicolon_or_tab_separated_file_is_read(store: Store, tmp_path: Path, delimiter: str) -> None:
    """Excel saves "CSV" with semicolons where the decimal mark is a comma (most of Europe), and a copy
    from a spreadsheet is tab-separated: the header line says which, and commas inside cells stay text."""
    lines = [
        ["id", "topic", "title", "body", "status"],
        ["a1", "refunds", "Refunds", "Refunds take 5 days, sometimes 7.", "approved"],
        ["a2", "cancel", "Cancel", '"Open Orders; choose ""Cancel"""', "approved"],
    ]
    text = "".join(delimiter.join(cells) + "\r\n" for cells in lines)
    report = import_file(store, "answers", write(tmp_path / "answers.csv", "\ufeff" + text))
    assert (report.stored, report.rejects, report.warnings) == (2, [], [])
    answers = {a.id: a.body for a in store.library.answers(status=None)}
    assert answers == {"a1": "Refunds take 5 days, sometimes 7.", "a2": 'Open Orders; choose "Cancel"'}


def test_imported_sent_and_alternative_events_need_what_the_api_asks_of_them(
    store: Store, tmp_path: Path
) -> None:
    """A `sent` event without its text was stored and scored as a reply that matched nothing (the match
    rate fell), and an `alternative` event lost the answer inserted: `POST /v1/events` refuses the
    first and keeps the second's `answer_id`, and so does the import."""
    path = write(
        tmp_path / "events.jsonl",
        '{"idempotency_key": "k1", "case_id": "c1", "kind": "sent"}\n'
        '{"idempotency_key": "k2", "case_id": "c1", "kind": "sent", "text": "Refunds take 5 days."}\n'
        '{"idempotency_key": "k3", "case_id": "c1", "kind": "alternative", "answer_id": "ans-refunds"}\n'
        '{"idempotency_key": "k4", "case_id": "c1", "kind": "alternative"}\n',
    )
    report = import_file(store, "events", path)
    assert report.stored == 2 and report.warnings == []
    assert [(r.line, r.fields) for r in report.rejects] == [(1, ["text"]), (4, ["answer_id"])]
    assert "`sent` event needs the sent `text`" in report.rejects[0].reason
    assert "`alternative` event needs the `answer_id`" in report.rejects[1].reason
    stored = {e.idempotency_key: e for e in store.events.list(case_id="c1")}
    assert set(stored) == {"k2", "k3"} and stored["k3"].answer_id == "ans-refunds"


def test_a_column_only_later_rows_of_a_jsonl_file_have_is_named_too(store: Store, tmp_path: Path) -> None:
    """A .jsonl file has no header: each row has its own keys, and a help desk's export leaves out the
    empty ones, so a misspelt key first seen on a later row was dropped without a word."""
    path = write(
        tmp_path / "labels.jsonl",
        '{"text": "Where is my refund?", "task": "topic", "value": "refunds"}\n'
        '{"text": "Cancel my box", "task": "topic", "value": "cancel", "anotator": "maya"}\n'
        '{"text": "Pause it", "task": "topic", "value": "pause", "anotator": "jo", "expires": "2027-01"}\n',
    )
    report = import_file(store, "labels", path)
    (warning,) = report.warnings
    assert "column(s) anotator, expires are not read" in warning


def test_column_names_are_read_whatever_their_case_and_spacing(store: Store, tmp_path: Path) -> None:
    """A help desk or a spreadsheet writes `ID`, `Message`, `Created At`: those are the columns `id`,
    `message`, `created_at` (a `Created At` column became a case field, and every case was dated at
    the import). Other columns stay case fields under their own names."""
    path = write(
        tmp_path / "cases.csv",
        "ID,Message,Created At,Customer-Name,REPLY,Order ID\n"
        "c1,Where is my refund?,2026-10-01T10:00:00Z,Ann Lee,On its way,A-1\n",
    )
    report = import_file(store, "cases", path)
    assert (report.stored, report.rejects, report.warnings) == (1, [], [])
    case = store.cases.get("c1")
    assert case is not None and case.message == "Where is my refund?" and case.customer_name == "Ann Lee"
    assert case.created_at.isoformat().startswith("2026-10-01T10:00") and case.fields == {"Order ID": "A-1"}
    assert [e.text for e in store.events.list(case_id="c1", kind="sent")] == ["On its way"]
    labels = write(tmp_path / "labels.csv", "Case_ID,Task,Label,Annotator\nc1,topic,refunds,maya\n")
    report = import_file(store, "labels", labels)
    assert (report.stored, report.warnings) == (1, [])
    assert [(x.case_id, x.value, x.annotator) for x in store.labels.list("topic")] == [
        ("c1", "refunds", "maya")
    ]


def test_reimporting_an_answer_with_new_text_keeps_the_old_text_as_a_version(
    store: Store, tmp_path: Path
) -> None:
    """An answers file re-imported after an edit (no version column, as a help desk's macros export)
    replaced version 1's text in place: the old text was gone from the versions and their diffs, and
    a suggestion stored before was served again with the old text (its answer looked unchanged)."""
    first = "id,topic,title,body,status\na1,orders,Cancel,Cancel within 2 hours.,approved\n"
    import_file(store, "answers", write(tmp_path / "answers.csv", first))
    before = store.library.versions("a1")[0].created_at
    import_file(store, "answers", write(tmp_path / "answers.csv", first))  # the same text: no version
    assert [v.version for v in store.library.versions("a1")] == [1]
    edited = first.replace("2 hours", "30 minutes")
    report = import_file(store, "answers", write(tmp_path / "answers.csv", edited))
    assert (report.stored, report.rejects) == (1, [])
    answer = store.library.answer("a1")
    assert answer is not None and (answer.version, answer.body) == (2, "Cancel within 30 minutes.")
    kept = store.library.versions("a1")
    assert [(v.version, v.body) for v in kept] == [
        (2, "Cancel within 30 minutes."),
        (1, "Cancel within 2 hours."),
    ]
    assert kept[0].created_at > before and kept[0].note == "imported from answers.csv"
    second = kept[0].created_at
    # a file that numbers its versions is taken at its word, and the text kept under the number is new
    numbered = "id,topic,title,body,status,version\na1,orders,Cancel,Cancel within 1 hour.,approved,2\n"
    import_file(store, "answers", write(tmp_path / "numbered.csv", numbered))
    kept = store.library.versions("a1")
    assert [(v.version, v.body) for v in kept] == [
        (2, "Cancel within 1 hour."),
        (1, "Cancel within 2 hours."),
    ]
    assert kept[0].created_at > second and kept[0].note == "imported from numbered.csv"


def test_columns_without_a_name_are_left_out_unless_a_row_fills_one(store: Store, tmp_path: Path) -> None:
    """A spreadsheet saved as CSV often ends every line with empty columns (`id,message,,`): the file
    was refused with "the header repeats column(s) " and no name. Empty unnamed cells are nothing; a
    value under an unnamed column is a reject naming the column."""
    cases = write(
        tmp_path / "cases.csv",
        "id,message,reply,,\nc1,Where is my refund?,On its way,,\nc2,Cancel my order,Done,,oops\n",
    )
    report = import_file(store, "cases", cases)
    assert report.stored == 1
    assert [(r.line, r.reason) for r in report.rejects] == [
        (3, "a value in column 5, which has no name in the header (a shifted row?)")
    ]
    case = store.cases.get("c1")
    assert case is not None and case.fields == {}


def test_blank_lines_before_the_header_are_skipped_and_lines_still_counted(
    store: Store, tmp_path: Path
) -> None:
    """A file that starts with a blank line (some exports do) was refused as "empty file"."""
    path = write(tmp_path / "cases.csv", "\ufeff\r\n \r\nid,message\r\nc1,Where is my refund?\r\nc2,\r\n")
    report = import_file(store, "cases", path)
    assert report.stored == 1 and [(r.line, r.fields) for r in report.rejects] == [(5, ["message"])]
    blank = write(tmp_path / "blank.csv", "\n\n")
    with pytest.raises(ImportDataError, match=r"blank\.csv: empty file, expected a header line"):
        import_file(store, "cases", blank)


def test_a_mapped_column_wins_over_one_read_by_its_name(store: Store, tmp_path: Path) -> None:
    """`--map message=body` names the column to read: a `text` or `Message` column (read as the
    message by name) before it in the file must not be read instead."""
    path = write(tmp_path / "cases.csv", "id,Message,text,body\nc1,subject line,preview,The full message\n")
    report = import_file(store, "cases", path, mapping={"message": "body"})
    assert report.stored == 1
    case = store.cases.get("c1")
    assert case is not None and case.message == "The full message"


def test_a_json_array_or_pretty_printed_json_says_what_jsonl_is(store: Store, tmp_path: Path) -> None:
    """A .json export renamed .jsonl: every line was rejected as "not valid JSON: Extra data", or its
    one line as "not a JSON object"."""
    rows = [{"text": "Where is my refund?", "task": "topic", "value": "refunds"}]
    pretty = write(tmp_path / "pretty.jsonl", json.dumps(rows, indent=2))
    with pytest.raises(ImportDataError, match=r"pretty\.jsonl:1: .*JSON Lines, one JSON object per line"):
        import_file(store, "labels", pretty)
    array = write(tmp_path / "array.jsonl", json.dumps(rows) + "\n")
    report = import_file(store, "labels", array)
    assert [r.reason for r in report.rejects] == [
        "a JSON array, not an object: a .jsonl file has one JSON object per line"
    ]


def test_reimporting_a_case_from_a_file_with_fewer_columns_keeps_what_it_does_not_name(
    store: Store, tmp_path: Path
) -> None:
    """A case imported with its thread, customer, order id and channel, then again from another export
    that has only id and message, lost its context, name and case fields (no more {order_id}), went
    back to the channel `email`, and a resolved case was reopened into the inbox. Columns a file does
    not have leave the stored values alone; the ones it has update them."""
    full = (
        "id,message,channel,customer_name,order_id,context,created_at,status\n"
        'c1,Where is my refund?,chat,Ana,PX-1,"[""My box was late""]",2026-09-01T10:00:00Z,resolved\n'
    )
    import_file(store, "cases", write(tmp_path / "full.csv", full))
    import_file(store, "cases", write(tmp_path / "lean.csv", "id,message\nc1,Where is my refund now?\n"))
    case = store.cases.get("c1")
    assert case is not None and case.message == "Where is my refund now?"
    assert (case.channel, case.customer_name, case.fields, case.status) == (
        "chat",
        "Ana",
        {"order_id": "PX-1"},
        "resolved",
    )
    assert case.context == [{"role": "customer", "text": "My box was late"}]
    import_file(
        store, "cases", write(tmp_path / "new.csv", "id,message,channel,status\nc1,Hello?,email,open\n")
    )
    case = store.cases.get("c1")
    assert case is not None and (case.message, case.channel, case.status, case.customer_name) == (
        "Hello?",
        "email",
        "open",
        "Ana",
    )


def test_reimporting_an_answers_file_without_status_or_owner_keeps_them(store: Store, tmp_path: Path) -> None:
    """An answers file approved with --set status=approved, edited and imported again without it: every
    answer went back to draft (nothing suggested any more), and lost its owner and review dates. The
    columns a file does not have leave a stored answer's values alone; a new answer gets the defaults."""
    first = "id,topic,title,body,owner,review_due_at\na1,refunds,Refunds,Five days.,mira,2027-01-01\n"
    import_file(store, "answers", write(tmp_path / "a.csv", first), constants={"status": "approved"})
    again = "id,topic,title,body\na1,refunds,Refunds,Six days.\na2,refunds,Cancel,Use the app.\n"
    report = import_file(store, "answers", write(tmp_path / "b.csv", again))
    assert report.warnings == [] and report.stored == 2
    a1, a2 = store.library.answer("a1"), store.library.answer("a2")
    assert a1 is not None and (a1.body, a1.status, a1.owner, a1.version) == (
        "Six days.",
        "approved",
        "mira",
        2,
    )
    assert a1.review_due_at is not None and a1.review_due_at.year == 2027
    assert a2 is not None and (a2.status, a2.owner) == ("draft", None)
    assert [v.owner for v in store.library.versions("a1")] == ["mira", "mira"]


def test_reimporting_articles_without_topic_or_url_keeps_them(store: Store, tmp_path: Path) -> None:
    """Articles imported again from an export without `topic` and `url` lost both: the LLM modes' sources
    of the topic, and the link customers read."""
    first = "id,title,body,topic,url\nkb1,Refunds,Five days.,refunds,https://help.example/refunds\n"
    import_file(store, "articles", write(tmp_path / "a.csv", first))
    import_file(store, "articles", write(tmp_path / "b.csv", "id,title,body\nkb1,Refunds,Six days.\n"))
    (article,) = store.library.articles()
    assert (article.body, article.topic, article.url) == (
        "Six days.",
        "refunds",
        "https://help.example/refunds",
    )


def test_reimporting_labels_without_expiry_or_confidence_keeps_them(store: Store, tmp_path: Path) -> None:
    """A labels file with `confidence`, `created_at`, `expires_at` and `version`, imported again from a
    file of case_id, task, value and annotator alone (a topic corrected): the label that was to expire
    never did, the weak label's confidence jumped to 1.0, and it was dated to the re-import. The
    columns a file does not have (or leaves empty, as cases and answers read them) leave a stored
    label's values alone; a new label gets the defaults."""
    first = (
        "case_id,task,value,source,annotator,confidence,created_at,expires_at,version\n"
        "c1,topic,refund,weak,lf,0.4,2026-09-01,2027-03-01,lf-7\n"
    )
    import_file(store, "labels", write(tmp_path / "a.csv", first))
    again = (
        "case_id,task,value,source,annotator,confidence\n"
        "c1,topic,refunds,weak,lf,\nc2,topic,billing,weak,lf,\n"
    )
    report = import_file(store, "labels", write(tmp_path / "b.csv", again))
    assert report.rejects == [] and report.stored == 2
    got = {lb.case_id: lb for lb in store.labels.list("topic", include_expired=True)}
    c1, c2 = got["c1"], got["c2"]
    assert (c1.value, c1.confidence, c1.version) == ("refunds", 0.4, "lf-7")
    assert c1.expires_at is not None and c1.expires_at.replace(tzinfo=UTC) == datetime(2027, 3, 1, tzinfo=UTC)
    assert c1.created_at.replace(tzinfo=UTC) == datetime(2026, 9, 1, tzinfo=UTC)
    assert (c2.confidence, c2.expires_at, c2.version) == (1.0, None, None)
    assert c2.created_at.replace(tzinfo=UTC) > datetime(2026, 11, 1, tzinfo=UTC)
    # the columns a file has still update the stored label
    third = (
        "case_id,task,value,source,annotator,confidence,expires_at\nc1,topic,refunds,weak,lf,0.9,2027-06-01\n"
    )
    import_file(store, "labels", write(tmp_path / "c.csv", third))
    (c1,) = [lb for lb in store.labels.list("topic", include_expired=True) if lb.case_id == "c1"]
    assert c1.confidence == 0.9 and c1.expires_at is not None and c1.expires_at.month == 6
    assert c1.created_at.replace(tzinfo=UTC) == datetime(2026, 9, 1, tzinfo=UTC)
    # the annotator is part of the label's key: a file without it adds a label, the named one unchanged
    import_file(
        store, "labels", write(tmp_path / "d.csv", "case_id,task,value,source\nc1,topic,billing,weak\n")
    )
    got = {(lb.annotator, lb.value, lb.confidence) for lb in store.labels.list("topic") if lb.case_id == "c1"}
    assert got == {("lf", "refunds", 0.9), ("", "billing", 1.0)}


def test_an_imported_resolved_event_closes_its_case_in_the_order_the_changes_happened(
    store: Store, tmp_path: Path
) -> None:
    """A help desk's history imported as events: a `resolved` event closes its case at its `ts` (as
    one posted to the API does); an older one than the case's last change, one imported again, or
    one of a case not stored changes nothing and is no reject."""
    resolved_at, reopened_at = datetime(2026, 10, 1, 9, tzinfo=UTC), datetime(2026, 10, 1, 10, tzinfo=UTC)
    store.cases.upsert([{"id": "c1", "message": "hi"}, {"id": "c2", "message": "hello"}])
    store.cases.follow_status("c2", "open", reopened_at)  # c2 changed after the resolution below
    events = write(
        tmp_path / "events.csv",
        "idempotency_key,case_id,kind,ts\n"
        "k1,c1,resolved,2026-10-01T09:00:00Z\n"
        "k2,c2,resolved,2026-10-01T09:00:00Z\n"
        "k3,nowhere,resolved,2026-10-01T09:00:00Z\n"
        "k4,c2,shown,2026-10-01T11:00:00Z\n",
    )
    report = import_file(store, "events", events)
    assert report.stored == 4 and not report.rejects
    case = store.cases.get("c1")
    assert case is not None and (case.status, case.status_changed_at) == ("resolved", resolved_at)
    assert store.cases.get("c2").status == "open"  # type: ignore[union-attr]
    assert store.cases.get("nowhere") is None
    store.cases.follow_status("c1", "open", reopened_at)  # the customer wrote again: open
    undated = write(tmp_path / "again.csv", "idempotency_key,case_id,kind\nk1,c1,resolved\n")
    assert import_file(store, "events", undated).committed  # k1 again, dated now: still k1's change
    assert store.cases.get("c1").status == "open"  # type: ignore[union-attr]


def test_imported_email_cases_and_replies_are_read_as_their_new_text(store: Store, tmp_path: Path) -> None:
    """A help desk's export of an email inbox holds each message with the quoted history below it: the
    case's message (what topics are trained on), its context, its reply and a sent event's text are
    stored without it, so a quoted answer does not teach a topic and quoted addresses are not kept."""
    quoted = "\n\nOn Mon, 3 Nov 2026 at 10:02, Sam <sam@help.example> wrote:\n> You can pause a payout."
    row = {
        "id": "e1",
        "message": "How do I export my invoices?" + quoted,
        "context": [{"role": "agent", "text": "Which invoices?\n-- \nSam Carter | +44 20 7946 0000"}],
        "reply": "Open Billing, then Export.\n-----Original Message-----\nFrom: a@c.example\nSent: Mon\nhi",
    }
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert import_file(store, "cases", cases).stored == 1
    case = store.cases.get("e1")
    assert case is not None and case.message == "How do I export my invoices?"
    assert case.context == [{"role": "agent", "text": "Which invoices?"}]
    events = tmp_path / "events.jsonl"
    sent = {"idempotency_key": "k9", "case_id": "e1", "kind": "sent", "text": "Open Billing." + quoted}
    events.write_text(json.dumps(sent) + "\n", encoding="utf-8")
    assert import_file(store, "events", events).stored == 1
    texts = sorted(e.text or "" for e in store.events.list(kind="sent"))
    assert texts == ["Open Billing, then Export.", "Open Billing."]


def test_help_desk_export_headers_are_read_without_map(store: Store, tmp_path: Path) -> None:
    """A Freshdesk or Zendesk export names its columns `Ticket ID`, `Description`, `Created time`,
    `Requester Name`: each needed a --map. They are read as the case's id, message, created_at and
    customer_name; a subject is the message only when the file (or the row) has no body, and is kept
    as a case field otherwise. --map still wins over an alias."""
    freshdesk = write(
        tmp_path / "freshdesk.csv",
        "Ticket ID,Subject,Description,Status,Created time,Requester Name\n"
        "101,Payout paused?,How do I pause payouts?,Open,2026-10-01T10:00:00Z,Ann\n"
        "102,Where is my refund,,Open,2026-10-02T10:00:00Z,Bob\n",
    )
    report = import_file(store, "cases", freshdesk)
    assert (report.stored, report.rejects) == (2, []), report.rejects
    first, second = store.cases.get("101"), store.cases.get("102")
    assert first is not None and second is not None
    assert (first.message, first.customer_name) == ("How do I pause payouts?", "Ann")
    assert first.created_at == datetime(2026, 10, 1, 10, tzinfo=UTC)
    assert first.fields.get("Subject") == "Payout paused?"  # kept, as before, beside the body
    assert second.message == "Where is my refund"  # no body in this row: its subject
    zendesk = write(
        tmp_path / "zendesk.csv",
        "Id,Subject,Requester,Created at,Status\nz1,My card was declined,Cat,2026-10-03,Solved\n",
    )
    assert import_file(store, "cases", zendesk).stored == 1
    z1 = store.cases.get("z1")
    assert z1 is not None and (z1.message, z1.customer_name) == ("My card was declined", "Cat")
    assert (first.status, z1.status) == ("open", "resolved")  # the help desks' words, in any case
    for header in ("Ticket Id", "Conversation ID", "ticket-id"):
        other = write(tmp_path / "other.csv", f"{header},Body\nx-{len(header)},Where is my refund?\n")
        assert import_file(store, "cases", other).stored == 1, header
        assert store.cases.get(f"x-{len(header)}") is not None, header
    # --map wins: the subject is the message, the description a case field under its own name
    mapped = write(
        tmp_path / "mapped.csv",
        "Ticket ID,Subject,Description\nm1,Refund please,Order A-1 was charged twice\n",
    )
    import_file(store, "cases", mapped, mapping={"message": "Subject"})
    m1 = store.cases.get("m1")
    assert m1 is not None and m1.message == "Refund please"
    assert m1.fields.get("Description") == "Order A-1 was charged twice"


def test_an_sme_decision_imported_without_an_expiry_expires_as_a_review_in_review_does(
    store: Store, tmp_path: Path
) -> None:
    """A `labels issues` batch the SME decided, imported back with --set source=sme: /review's labels
    expire `[review] label_days` (180) after the review, the imported ones never did. A new sme label
    now expires that long after it was made; a stored one keeps its expiry, a column wins, and other
    sources still get none."""
    from datetime import timedelta

    store.labels.add(
        [
            {
                "case_id": "c3",
                "task": "topic",
                "value": "refunds",
                "source": "sme",
                "annotator": "olga",
                "expires_at": datetime(2027, 1, 5, tzinfo=UTC),
            }
        ]
    )
    batch = (
        "rank,case_id,given,suggested,decision,created_at\n"
        "1,c1,payouts,refunds,refunds,2026-10-01\n2,c2,payouts,refunds,payouts,\n3,c3,payouts,refunds,refunds,\n"
    )
    report = import_file(
        store,
        "labels",
        write(tmp_path / "review.csv", batch),
        {"value": "decision"},
        constants={"task": "topic", "source": "sme", "annotator": "olga"},
    )
    assert report.rejects == [] and report.stored == 3
    got = {lb.case_id: lb for lb in store.labels.list("topic", include_expired=True)}
    c1, c2, c3 = got["c1"], got["c2"], got["c3"]
    assert c1.expires_at is not None
    assert c1.expires_at.replace(tzinfo=UTC) == datetime(2026, 10, 1, tzinfo=UTC) + timedelta(days=180)
    assert c2.expires_at is not None
    made = c2.created_at.replace(tzinfo=UTC)
    assert c2.expires_at.replace(tzinfo=UTC) - made == timedelta(days=180)
    assert c3.expires_at is not None and c3.expires_at.replace(tzinfo=UTC) == datetime(2027, 1, 5, tzinfo=UTC)
    # a column wins, the setting gives the days, and an expert's label still never expires
    import_file(
        store,
        "labels",
        write(tmp_path / "more.csv", "case_id,value,expires_at\nc4,refunds,2027-02-01\nc5,refunds,\n"),
        constants={"task": "topic", "source": "sme", "annotator": "olga"},
        sme_label_days=30,
    )
    import_file(
        store,
        "labels",
        write(tmp_path / "expert.csv", "case_id,value\nc6,refunds\n"),
        constants={"task": "topic", "source": "expert", "annotator": "maya"},
    )
    got = {lb.case_id: lb for lb in store.labels.list("topic", include_expired=True)}
    assert got["c4"].expires_at is not None and got["c4"].expires_at.month == 2
    c5 = got["c5"]
    assert c5.expires_at is not None
    assert c5.expires_at.replace(tzinfo=UTC) - c5.created_at.replace(tzinfo=UTC) == timedelta(days=30)
    assert got["c6"].expires_at is None


def test_excels_sep_line_names_the_delimiter_and_is_no_header(store: Store, tmp_path: Path) -> None:
    """Excel writes (and reads) a first line `sep=;` that names the delimiter. It was read as the
    header (one column, `sep=`), so every row was rejected as "a value in column 2, which has no name
    in the header": the line names the delimiter, the header is the line after it, and the lines are
    counted from the file's first."""
    path = write(
        tmp_path / "cases.csv",
        "\ufeffsep=;\r\nid;message;created_at\r\n"
        "c1;Where is my refund, please?;2026-10-01\r\nc2;;2026-10-02\r\n",
    )
    report = import_file(store, "cases", path)
    assert report.stored == 1 and [(r.line, r.fields) for r in report.rejects] == [(4, ["message"])]
    case = store.cases.get("c1")
    assert case is not None and case.message == "Where is my refund, please?"
    tabs = write(tmp_path / "tabs.csv", '"sep=\t"\nid\tmessage\nt1\tHello, is my box late?\n')
    assert import_file(store, "cases", tabs).stored == 1


def test_a_help_desks_agent_column_is_who_sent_the_reply(store: Store, tmp_path: Path) -> None:
    """Freshdesk names the ticket's agent `Agent`, Zendesk `Assignee`, Help Scout `Assigned To`: the
    column became a case field, so every imported reply was sent by no one and the dashboard's
    per-agent table stayed empty. They are read as the reply's `agent_id`, as `agent_id` is."""
    for header in ("Agent", "Assignee", "Assigned To"):
        case_id = f"t-{len(header)}"
        path = write(
            tmp_path / "export.csv",
            f"Ticket ID,Created time,Description,Reply,{header}\n"
            f"{case_id},2026-10-01T10:00:00Z,Where is my refund?,It is on its way.,tom\n",
        )
        report = import_file(store, "cases", path)
        assert (report.stored, report.rejects, report.warnings) == (1, [], []), header
        assert [e.agent_id for e in store.events.list(case_id=case_id, kind="sent")] == ["tom"], header
        case = store.cases.get(case_id)
        assert case is not None and header not in case.fields, header


def test_two_columns_read_as_one_field_keep_the_other_and_say_so(store: Store, tmp_path: Path) -> None:
    """An export with an `id` (the row's number) and a `Ticket ID`, or a `Created` and a `Created time`,
    has two columns read as one field: the second was dropped without a word (not even kept as a case
    field), and a row whose first cell was empty took the second's value instead. The first column is
    read, always; the other stays a case field under its own name, and a warning names both and the
    --map that reads the other."""
    path = write(
        tmp_path / "cases.csv",
        "id,Ticket ID,Description,Created,Created time\n"
        "1,SPK-9001,My chain broke,2026-10-01,2026-10-02T10:00:00Z\n"
        ",SPK-9002,The brakes squeak,2026-10-03,2026-10-04T10:00:00Z\n",
    )
    report = import_file(store, "cases", path)
    assert report.stored == 1 and [(r.line, r.fields) for r in report.rejects] == [(3, ["id"])]
    case = store.cases.get("1")
    assert case is not None and store.cases.get("SPK-9002") is None
    assert case.fields == {"Ticket ID": "SPK-9001", "Created time": "2026-10-02T10:00:00Z"}
    assert case.created_at == datetime(2026, 10, 1, tzinfo=UTC)
    shadowed = [w for w in report.warnings if "'id' and 'Ticket ID' are both read as id" in w]
    assert len(shadowed) == 1 and "--map id='Ticket ID'" in shadowed[0], report.warnings
    assert "'Ticket ID' kept as a case field" in shadowed[0]
    assert any("'Created' and 'Created time' are both read as created_at" in w for w in report.warnings)
    swapped = write(tmp_path / "swapped.csv", "Ticket ID,id,message\nSPK-9003,3,My saddle is loose\n")
    report = import_file(store, "cases", swapped)
    assert any("'id' not read" in w for w in report.warnings), report.warnings
    assert store.cases.get("SPK-9003") is not None and store.cases.get("3") is None
    labels = write(tmp_path / "labels.csv", "case_id,task,label,value\n1,topic,refunds,refund\n")
    report = import_file(store, "labels", labels, dry_run=True)
    assert any("'label' and 'value' are both read as value" in w for w in report.warnings), report.warnings


def test_a_cell_of_blanks_is_missing_as_an_empty_cell_is(store: Store, tmp_path: Path) -> None:
    """A message of spaces was rejected as "message: String should have at least 1 character",
    pydantic's words, beside "message: missing or empty" for an empty cell: a blank cell is reported as
    an empty one."""
    path = write(tmp_path / "cases.csv", "id,message\nc1,\nc2,   \nc3,Where is my refund?\n")
    report = import_file(store, "cases", path)
    assert report.stored == 1
    assert [(r.line, r.reason, r.fields) for r in report.rejects] == [
        (2, "message: missing or empty", ["message"]),
        (3, "message: missing or empty", ["message"]),
    ]


def test_the_allowed_values_are_read_in_any_case(store: Store, tmp_path: Path) -> None:
    """A spreadsheet typed by people says `Approved`, `Topic`, `Expert`, `Valid`, `Resolved`: each row
    was rejected ("status: Input should be 'draft', 'approved' or 'retired'"), though a case's status
    (`Solved`) and the column names are read in any case. The allowed values are too; another value is
    still a reject naming them."""
    answers = write(
        tmp_path / "answers.csv",
        "id,topic,title,body,status\na1,refunds,Refunds,Refunds take 5 days.,Approved\n"
        "a2,refunds,Refunds again,Refunds take a week.,PUBLISHED\n",
    )
    report = import_file(store, "answers", answers)
    assert report.stored == 1 and [(r.line, r.fields) for r in report.rejects] == [(3, ["status"])]
    assert "'draft', 'approved' or 'retired'" in report.rejects[0].reason
    stored = store.library.answer("a1")
    assert stored is not None and stored.status == "approved"
    cases = write(tmp_path / "cases.csv", "id,message,created_at\nc1,Where is my refund?,2026-10-01\n")
    import_file(store, "cases", cases)
    labels = write(
        tmp_path / "labels.csv",
        "case_id,task,value,source\nc1,Topic,refunds,Expert\nc1,VALIDITY,Valid,expert\n",
    )
    report = import_file(store, "labels", labels)
    assert (report.stored, report.rejects) == (2, []), report.rejects
    assert {(lb.task, lb.value, lb.source) for lb in store.labels.list()} == {
        ("topic", "refunds", "expert"),
        ("validity", "valid", "expert"),
    }
    events = write(
        tmp_path / "events.csv",
        "idempotency_key,case_id,kind,reason,ts\nk1,c1,Dismissed,Wrong_Topic,2026-10-02\n",
    )
    report = import_file(store, "events", events)
    assert (report.stored, report.rejects) == (1, []), report.rejects
    assert [(e.kind, e.reason) for e in store.events.list(case_id="c1")] == [("dismissed", "wrong_topic")]


def test_a_time_that_names_its_zone_utc_or_gmt_is_read(store: Store, tmp_path: Path) -> None:
    """Rails writes a time as `2026-10-01 10:00:00 UTC` (its `Time#to_s`, in help desks built on it):
    every row of such an export was rejected as "not an ISO 8601 date/time". A trailing UTC or GMT is
    the zone +00:00; another word is still a reject."""
    path = write(
        tmp_path / "cases.csv",
        "id,message,created_at\nc1,Where is my refund?,2026-10-01 10:00:00 UTC\n"
        "c2,My card was declined,2026-10-02 08:30 gmt\nc3,Hello?,2026-10-02 08:30 CEST\n",
    )
    report = import_file(store, "cases", path)
    assert report.stored == 2 and [(r.line, r.fields) for r in report.rejects] == [(4, ["created_at"])]
    first, second = store.cases.get("c1"), store.cases.get("c2")
    assert first is not None and first.created_at == datetime(2026, 10, 1, 10, tzinfo=UTC)
    assert second is not None and second.created_at == datetime(2026, 10, 2, 8, 30, tzinfo=UTC)


def test_a_labels_export_keeps_a_verdict_on_its_suggestion(store: Store, tmp_path: Path) -> None:
    """A reviewer's verdict on a suggestion is a `response_quality` label about that suggestion
    (subject `suggestion:ID`), of which a case can have several. `export labels` writes the subject,
    but the import read the label as one about the case: two verdicts of one reviewer on a case's two
    suggestions were rejected as duplicates in another workspace, and the export imported back into
    its own workspace added a second label beside each verdict instead of updating it."""
    verdicts = [
        {
            "subject": f"suggestion:{sid}",
            "case_id": "c1",
            "task": "response_quality",
            "value": value,
            "source": "sme",
            "annotator": "olga",
        }
        for sid, value in (("s1", "correct"), ("s2", "incorrect"))
    ]
    store.labels.add(verdicts)
    out = tmp_path / "labels.csv"
    export_table(store, "labels", out)
    report = import_file(store, "labels", out)
    assert report.rejects == [] and report.stored == 2
    got = sorted((lb.subject, lb.case_id, lb.value) for lb in store.labels.list("response_quality"))
    assert got == [("suggestion:s1", "c1", "correct"), ("suggestion:s2", "c1", "incorrect")]
    # a subject of another form is no key of its own: case_id (or text) decides, as before
    other = write(tmp_path / "other.csv", "subject,case_id,task,value\nsomething,c2,topic,refunds\n")
    import_file(store, "labels", other)
    (label,) = store.labels.list("topic")
    assert (label.subject, label.case_id) == ("c2", "c2")


@pytest.mark.parametrize("table", ["events", "answers", "articles", "labels"])
def test_an_export_imported_again_warns_of_no_column(store: Store, tmp_path: Path, table: str) -> None:
    """Importing our own export warned every time that its columns are not read (`id` for labels,
    `updated_at` for answers, `caller`, `received_at`... for events): the store's bookkeeping that an
    import leaves out on purpose. It is passed over quietly; a column of the file's own still warns."""
    import_file(store, "cases", write(tmp_path / "cases.csv", CASES_CSV))
    answers = "id,topic,title,body,status\nlate,late_delivery,Late,Sorry,approved\n"
    import_file(store, "answers", write(tmp_path / "a.csv", answers))
    import_file(store, "articles", write(tmp_path / "k.csv", "id,title,body\nkb1,Delivery,We deliver\n"))
    import_file(store, "labels", write(tmp_path / "l.csv", "case_id,task,value\nc1,topic,refunds\n"))
    events = "idempotency_key,case_id,kind,text\ne1,c1,sent,Hi Ann\n"
    import_file(store, "events", write(tmp_path / "e.csv", events))
    out = tmp_path / f"{table}.csv"
    assert export_table(store, table, out) >= 1
    report = import_file(store, table, out)
    assert report.rejects == [] and not [w for w in report.warnings if "not read" in w], report.warnings
    text = out.read_text(encoding="utf-8").splitlines()
    added = "\n".join([text[0] + ",notes", *(r + ",x" for r in text[1:])]) + "\n"
    typo = write(tmp_path / f"typo-{table}.csv", added)
    report = import_file(store, table, typo)
    unread = [w.split(" are not read")[0] for w in report.warnings if "not read" in w]
    assert unread == ["column(s) notes"]


def test_a_windows_file_gives_the_same_text_as_a_unix_one(store: Store, tmp_path: Path) -> None:
    """A message imported from a Windows CSV kept the "\\r\\n" inside its quoted cell (an answer's body
    had its line breaks made "\\n"): the same message from a Windows and a Unix file were two texts,
    for dedup, the embeddings cache and the match rate. A case's, an event's and a label's text have
    their line breaks as "\\n" (a lone "\\r" too), as an answer's do."""

    def files(name: str, eol: str) -> dict[str, Path]:
        def cell(*lines: str) -> str:
            return '"' + eol.join(lines) + '"'

        message = cell("Hello,", "my box is late", "Ann")
        reply = cell("Hi Ann,", "a new one is on its way")
        context = cell("First try:", "no box")
        cases = f"id,message,reply,context{eol}c1,{message},{reply},{context}{eol}"
        events = f"idempotency_key,case_id,kind,text{eol}e1,c1,sent,{reply}{eol}"
        labels = f"text,task,value{eol}{message},topic,late{eol}"
        out = {}
        for kind, text in (("cases", cases), ("events", events), ("labels", labels)):
            out[kind] = write(tmp_path / f"{name}-{kind}.csv", text)
        return out

    read = {}
    for name, eol in (("unix", "\n"), ("windows", "\r\n"), ("mac", "\r")):
        store.labels.delete("expert")
        for kind, path in files(name, eol).items():
            assert import_file(store, kind, path).rejects == []
        case = store.cases.get("c1")
        assert case is not None
        sent = [e.text for e in store.events.list(case_id="c1", kind="sent")]
        (label,) = store.labels.list("topic")
        read[name] = (case.message, case.context, sent, label.subject)
    assert read["unix"][0] == "Hello,\nmy box is late\nAnn"
    assert read["unix"][1] == [{"role": "customer", "text": "First try:\nno box"}]
    assert read["windows"] == read["unix"] and read["mac"] == read["unix"]


def test_a_json_number_label_is_one_text_for_one_number(store: Store, tmp_path: Path) -> None:
    """A .jsonl labels file's value `3` was stored as "3" and `3.0` rejected ("Input should be a valid
    string"), or in eval read as "3.0", another label: a JSON number is the same text for the same
    number (3 and 3.0 are "3", 2.5 is "2.5"); a string stays as typed; a number no label can be
    (1e400, read as infinity) is still a reject."""
    import_file(store, "cases", write(tmp_path / "cases.csv", CASES_CSV))  # c1 and c4
    rows = [
        '{"case_id": "c1", "task": "topic", "value": 3, "annotator": "a"}',
        '{"case_id": "c4", "task": "topic", "value": 3.0, "annotator": "a"}',
        '{"case_id": "c1", "task": "topic", "value": 2.5, "annotator": "b"}',
        '{"case_id": "c4", "task": "topic", "value": "3.0", "annotator": "b"}',
        '{"case_id": "c1", "task": "topic", "value": 1e400, "annotator": "c"}',
    ]
    report = import_file(store, "labels", write(tmp_path / "labels.jsonl", "\n".join(rows) + "\n"))
    assert report.stored == 4 and [r.line for r in report.rejects] == [5]
    values = {(lb.case_id, lb.annotator): lb.value for lb in store.labels.list("topic")}
    assert values == {("c1", "a"): "3", ("c4", "a"): "3", ("c1", "b"): "2.5", ("c4", "b"): "3.0"}


def test_a_case_whose_context_has_a_bots_turns_is_exported_and_imported_again(
    store: Store, tmp_path: Path
) -> None:
    """A Chatwoot conversation an agent bot handled first keeps the bot's turns (role `bot`) in its
    case's context: `export cases` wrote them and `import cases` refused every such row ("role must be
    one of customer | agent"), so a database could not be moved or restored through its export. A
    bot's turn copied from an imported case into its conversation stays the bot's, not the customer's."""
    context = [
        {"role": "customer", "text": "Where is my payout?"},
        {"role": "bot", "text": "Payouts arrive in 2 days."},
    ]
    store.cases.upsert([{"id": "c1", "message": "I want to talk to a person", "context": context}])
    exported = tmp_path / "cases.jsonl"
    export_table(store, "cases", exported)
    report = import_file(store, "cases", exported, strict=True)
    assert report.committed and report.stored == 1 and not report.rejects
    case = store.cases.get("c1")
    assert case is not None and case.context == context
    turn = TurnIn(case_id="c1", message_id="m9", role=MessageRole.CUSTOMER, text="Hello?")
    receive_customer(store, turn, caller="webhook:chatwoot")
    assert [t.role for t in store.conversations.turns("c1")] == ["customer", "bot", "customer", "customer"]


def test_ids_and_titles_with_a_bidi_control_or_zero_width_character_are_rejected_by_line(
    store: Store, tmp_path: Path
) -> None:
    """Two cases `c-1` and `c-1` plus a zero-width space looked the same in the inbox and `cases
    list`; a message keeps such characters as typed."""
    cases = [
        '{"id": "c-1", "message": "hi \\u202e there"}',
        '{"id": "c-1\\u200b", "message": "hi"}',
        '{"id": "\\u202e1-c", "message": "hi"}',
    ]
    report = import_file(store, "cases", write(tmp_path / "cases.jsonl", "\n".join(cases) + "\n"))
    assert report.stored == 1 and [(r.line, r.reason.split(":")[0]) for r in report.rejects] == [
        (2, "id"),
        (3, "id"),
    ]
    assert "invisible character (U+200B, zero-width space" in report.rejects[0].reason
    assert store.cases.get("c-1") is not None and store.cases.get("c-1").message == "hi \u202e there"
    answers = [
        '{"id": "a1", "topic": "payouts", "title": "Pause \\u2066payouts", "body": "B"}',
        '{"id": "a2", "topic": "pay\\ufeffouts", "title": "Pause", "body": "B"}',
    ]
    report = import_file(store, "answers", write(tmp_path / "answers.jsonl", "\n".join(answers) + "\n"))
    assert [(r.line, r.reason.split(":")[0]) for r in report.rejects] == [(1, "title"), (2, "topic")]
