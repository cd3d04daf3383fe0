"""Personal data stays out of database errors, the logs that carry them, and rejects files (issue 9,
item 8): statement parameters never reach an exception, and a rejects file keeps what finds and fixes
a row (file, line, id, field, reason), never its message text."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from supportcue.data.columns import KINDS, MODELS, columns
from supportcue.data.importer import import_file
from supportcue.data.store import Store
from supportcue.security.redaction import install_log_redaction
from supportcue.service.writer import SuggestionWriter

CARD = "4111 1111 1111 1111"
EMAIL = "anna.berg@example.com"
PHONE = "+44 20 7946 0958"
SECRET_TEXT = f"Hi Anna, refund to card {CARD}, we will write to {EMAIL} or call {PHONE}"


def _bad_suggestion() -> dict[str, object]:
    """A suggestion row the database refuses (no pipeline version), full of personal data."""
    return {"id": "s-bad", "case_id": "c1", "pipeline_version": None, "text": SECRET_TEXT}


def _assert_clean(text: str, message_text: bool = True) -> None:
    """No personal data in `text` (and, unless `message_text` is False, no message text either)."""
    for secret in ("4111", EMAIL, "7946", *(["refund to card"] if message_text else [])):
        assert secret not in text, f"{secret!r} leaked: {text[:500]}"


def test_database_errors_carry_no_statement_parameters(store: Store) -> None:
    with pytest.raises(IntegrityError) as caught:
        store.cases.add_suggestions([_bad_suggestion()])
    _assert_clean(str(caught.value))
    _assert_clean(repr(caught.value))
    assert "parameters hidden" in str(caught.value)


def test_a_failed_write_logs_no_personal_data(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    writer = SuggestionWriter(store.cases.add_suggestions)
    with caplog.at_level(logging.INFO):
        writer.submit([_bad_suggestion()])
        writer.close()
    assert "storing 1 suggestions failed" in caplog.text
    _assert_clean(caplog.text)


def test_a_log_record_with_personal_data_in_its_arguments_is_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_log_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("supportcue.anything").info("customer wrote %r", SECRET_TEXT)
    _assert_clean(caplog.text, message_text=False)  # log ids, not text: redaction is the safety net
    assert "[card]" in caplog.text and "[email]" in caplog.text and "[phone]" in caplog.text


CASES = (
    "id,message,customer_name,created_at,handle_seconds\n"
    f"c1,How do I pause payouts?,Ann,2026-10-01,30\n"
    f'c2,"{SECRET_TEXT}",Anna Berg,{EMAIL},12\n'
    f'c3,"{SECRET_TEXT}",Anna Berg,2026-10-01,-5\n'
    f",Refund to {CARD},{EMAIL},2026-10-01,\n"
)


def test_rejects_keep_line_id_fields_and_reason_not_the_row(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_text(CASES, encoding="utf-8")
    report = import_file(store, "cases", path)
    assert report.stored == 1 and len(report.rejects) == 3
    assert report.rejects_path is not None
    text = report.rejects_path.read_text(encoding="utf-8")
    _assert_clean(text)
    assert "Anna" not in text and "pause payouts" not in text
    rows = [json.loads(line) for line in text.splitlines()]
    assert [(r["line"], r["row"].get("id"), r["fields"]) for r in rows] == [
        (3, "c2", ["created_at"]),
        (4, "c3", ["handle_seconds"]),
        (5, None, ["id"]),
    ]
    assert "ISO 8601" in rows[0]["reason"] and "greater than or equal to 0" in rows[1]["reason"]
    for r in report.rejects:  # what the CLI prints comes from the same records
        _assert_clean(r.reason)


@pytest.mark.parametrize("kind", KINDS)
def test_no_reject_reason_repeats_a_value(kind: str, store: Store, tmp_path: Path) -> None:
    """Personal data in any column of any kind (as a value, too long, or not JSON) never reaches a
    reason: reasons say what is wrong with a value, never what it was."""
    secrets = [f"Anna Berg <{EMAIL}>", f"Anna Berg <{EMAIL}> " * 40, '{"name": "Anna Berg"']
    rows = []
    for column in columns(kind):
        for secret in secrets:
            rows.append({**MODELS[kind].example, column.name: secret})
    path = tmp_path / f"{kind}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = import_file(store, kind, path, dry_run=True)
    assert len(report.rejects) >= len(columns(kind))  # most columns refuse at least one of them
    for reject in report.rejects:
        assert "Anna" not in reject.reason and "anna.berg" not in reject.reason, reject.reason
