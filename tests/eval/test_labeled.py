"""Reading the labeled files of `supportcue eval`: the column options read a column in any case."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportcue.errors import ImportDataError
from supportcue.eval.labeled import load_labeled, load_texts
from supportcue.eval.suggest import load_pairs


def test_a_column_option_reads_the_column_in_any_case(tmp_path: Path) -> None:
    """`--text-col message` failed on a file whose header says `Message` ("no column 'message'"),
    though `import` reads column names in any case: eval reads them the same way."""
    path = tmp_path / "train.csv"
    path.write_text("Message,Topic,Reply\nwhere is my box,late,sorry\nrefund please,refund,done\n")
    rows = load_labeled(path, "message", "topic")
    assert rows.texts == ["where is my box", "refund please"] and rows.labels == ["late", "refund"]
    assert load_texts(path, "MESSAGE") == rows.texts
    pairs = load_pairs(path, "message", "reply", "topic")
    assert pairs.replies == ["sorry", "done"] and pairs.labels == ["late", "refund"]
    jsonl = tmp_path / "train.jsonl"
    jsonl.write_text('{"Text": "where is my box", "Label": 3}\n')
    assert load_labeled(jsonl, "text", "label").labels == ["3"]


def test_an_exact_name_wins_and_an_ambiguous_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("text,Text,label\nexact,other case,a\n")
    assert load_labeled(path, "text", "label").texts == ["exact"]
    assert load_labeled(path, "Text", "label").texts == ["other case"]
    with pytest.raises(
        ImportDataError, match=r"train\.csv: --text-col 'TEXT' matches columns 'text' and 'Text'"
    ):
        load_labeled(path, "TEXT", "label")
    with pytest.raises(ImportDataError, match=r"train\.csv: no column 'message'"):
        load_labeled(path, "message", "label")


def test_a_json_number_label_is_one_text_for_one_number(tmp_path: Path) -> None:
    """A .jsonl file's labels `3` and `3.0` were two labels ("3" and "3.0"): a classifier split one
    class in two. A JSON number is read as the same text for the same number; a string as typed."""
    path = tmp_path / "train.jsonl"
    rows = ['{"text": "a", "label": 3}', '{"text": "b", "label": 3.0}', '{"text": "c", "label": 2.5}']
    rows += ['{"text": "d", "label": "3.0"}', '{"text": "e", "label": "03"}']
    path.write_text("\n".join(rows) + "\n")
    assert load_labeled(path, "text", "label").labels == ["3", "3", "2.5", "3.0", "03"]
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"text": "a", "reply": "r", "topic": 7}\n{"text": "b", "reply": "s", "topic": 7.0}\n')
    assert load_pairs(pairs, "text", "reply", "topic").labels == ["7", "7"]
