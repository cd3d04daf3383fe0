"""`eval classify` on small files with the model-free embedder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.examples import TOPIC_EXAMPLES
from typer.testing import CliRunner

import supportcue.eval.classify as classify_module
from supportcue.cli import app
from supportcue.embeddings import HashingEmbedder
from supportcue.errors import ImportDataError, SupportcueError
from supportcue.eval.classify import run_classify
from supportcue.eval.labeled import load_labeled, load_texts, sample_shots
from supportcue.settings import init_workspace

ROWS = {
    "payouts": TOPIC_EXAMPLES["payouts"][:7],
    "refunds": TOPIC_EXAMPLES["refunds"][:7],
    "login": [
        "i cannot log in",
        "login password reset",
        "locked out login",
        "login code not sent",
        "two factor login broken",
        "forgot login email",
        "login page error",
    ],
}
EMBEDDER = HashingEmbedder(dim=512)


def write(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"text": t, "intent": label}) + "\n" for t, label in rows))
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    train = [(t, k) for k, ts in ROWS.items() for t in ts[:5]]
    test = [(t, k) for k, ts in ROWS.items() for t in ts[5:]]
    return write(tmp_path / "train.jsonl", train), write(tmp_path / "test.jsonl", test)


def test_run_classify_metrics_and_predictions(files: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "pred.jsonl"
    result = run_classify(*files, label_col="intent", predictions=out, embedder=EMBEDDER)
    assert {
        "accuracy",
        "macro_f1",
        "n_train",
        "n_test",
        "n_labels",
        "train_seconds",
        "predict_ms_per_text",
    } <= result.keys()
    assert (result["n_train"], result["n_test"], result["n_labels"]) == (15, 6, 3)
    assert result["accuracy"] >= 5 / 6
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"] for r in rows] == load_labeled(files[1], "text", "intent").texts
    assert all(set(r) == {"text", "label", "predicted", "confidence"} for r in rows)


def test_shots_are_deterministic_per_seed() -> None:
    labels = [k for k, ts in ROWS.items() for _ in ts]
    assert sample_shots(labels, 2, seed=1) == sample_shots(labels, 2, seed=1)
    assert sample_shots(labels, 2, seed=1) != sample_shots(labels, 2, seed=2)
    picked = [labels[i] for i in sample_shots(labels, 2, seed=1)]
    assert sorted(picked) == sorted(["payouts", "refunds", "login"] * 2)


def test_shots_per_label(files: tuple[Path, Path]) -> None:
    result = run_classify(*files, label_col="intent", shots_per_label=2, seed=3, embedder=EMBEDDER)
    assert result["n_train"] == 6


def test_missing_column_names_the_file(files: tuple[Path, Path]) -> None:
    with pytest.raises(ImportDataError, match=r"train\.jsonl: no column 'label'"):
        run_classify(*files, embedder=EMBEDDER)


@pytest.mark.parametrize(("name", "content"), [("only-header.csv", "text,intent\n"), ("empty.jsonl", "\n")])
def test_a_file_without_rows_says_so(tmp_path: Path, name: str, content: str) -> None:
    """(not "no column 'text'; columns are []", of a file whose header has it)"""
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ImportDataError, match=rf"{name}: no rows"):
        load_labeled(path, "text", "intent")


def test_a_repeated_header_line_is_no_labeled_row(tmp_path: Path) -> None:
    """Two files joined: the second header was read as the text "text" labeled "intent"."""
    path = tmp_path / "joined.csv"
    path.write_text("text,intent\nwhere is my card,card_arrival\ntext,intent\nlost my card,lost_card\n")
    with pytest.raises(ImportDataError, match=r"joined\.csv:3: the header line again"):
        load_labeled(path, "text", "intent")


def test_empty_text_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.jsonl", [("fine", "a"), ("  ", "b")])
    with pytest.raises(ImportDataError, match=r"bad\.jsonl:2: empty 'text'"):
        load_labeled(path, "text", "intent")


def test_use_unlabeled_never_reads_hidden_labels(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def fake(
        labeled: np.ndarray[Any, Any], labels: list[str], unlabeled: np.ndarray[Any, Any], seed: int
    ) -> tuple[list[str | None], np.ndarray[Any, Any]]:
        seen["n"], seen["unlabeled"] = len(labels), unlabeled
        n = len(unlabeled)
        return [labels[0] if i == 0 else None for i in range(n)], np.full(n, 0.9)

    monkeypatch.setattr(classify_module, "propagate", fake)
    result = run_classify(
        *files, label_col="intent", shots_per_label=2, use_unlabeled=True, embedder=EMBEDDER
    )
    assert seen["n"] == 6
    # The unlabeled rows are the train rows that are not shots: never a test row.
    test_vectors = EMBEDDER.embed(load_labeled(files[1], "text", "intent").texts)
    assert not np.any(np.isclose(seen["unlabeled"] @ test_vectors.T, 1.0))
    train_texts = load_labeled(files[0], "text", "intent").texts
    assert np.all(np.isclose((seen["unlabeled"] @ EMBEDDER.embed(train_texts).T).max(axis=1), 1.0))
    assert result["n_unlabeled"] == 9 and result["n_pseudo_labeled"] == 1 and result["n_train"] == 6


def test_use_unlabeled_needs_shots(files: tuple[Path, Path]) -> None:
    with pytest.raises(SupportcueError, match="--shots-per-label"):
        run_classify(*files, label_col="intent", use_unlabeled=True, embedder=EMBEDDER)


def test_use_unlabeled_with_every_row_a_shot_says_nothing_is_left(files: tuple[Path, Path]) -> None:
    """With --shots-per-label at least every label's row count, the error said "--use-unlabeled
    needs --shots-per-label", which was given."""
    with pytest.raises(SupportcueError, match=r"every row of .*train\.jsonl is one of the 5 shots per label"):
        run_classify(*files, label_col="intent", shots_per_label=5, use_unlabeled=True, embedder=EMBEDDER)


def test_a_row_with_more_values_than_the_header_names_its_line(tmp_path: Path) -> None:
    """An unquoted comma in a text (`Hello, I want a refund,refund`) split it: the text became
    "Hello" and the label " I want a refund", a label of its own, measured without a word. The
    import rejects such a row; eval stops at it, naming the line (for every eval's reader)."""
    from supportcue.eval.suggest import load_pairs

    path = tmp_path / "comma.csv"
    path.write_text(
        "text,intent,reply\nwhere is my parcel,shipping,On its way\nHello, I want a refund,refund,Done\n"
    )
    for load in (
        lambda: load_labeled(path, "text", "intent"),
        lambda: load_texts(path, "text"),
        lambda: load_pairs(path, "text", "reply", None),
    ):
        with pytest.raises(ImportDataError, match=r"comma\.csv:3: more values than header columns.*quote"):
            load()


def test_a_train_file_of_one_label_names_the_file_and_the_label(tmp_path: Path) -> None:
    """A --train whose every row has the same label (a wrong --label-col, a filtered export) stopped
    with the topic stage's "needs at least 2 topics with examples, got ['payouts']", naming no file."""
    train = write(tmp_path / "train.jsonl", [(t, "payouts") for t in ROWS["payouts"]])
    test = write(tmp_path / "test.jsonl", [(ROWS["refunds"][0], "refunds")])
    with pytest.raises(ImportDataError, match=r"train\.jsonl: every row's 'intent' is 'payouts'"):
        run_classify(train, test, label_col="intent", embedder=EMBEDDER)


def test_a_nan_label_or_text_is_an_empty_cell(tmp_path: Path) -> None:
    """A JSONL file written with `json.dumps` of a pandas frame holds NaN for a missing value: it
    was read as the label (or the text) "nan", a class of its own, silently."""
    path = tmp_path / "nan.jsonl"
    path.write_text('{"text": "where is my refund", "intent": "refunds"}\n{"text": "hi", "intent": NaN}\n')
    with pytest.raises(ImportDataError, match=r"nan\.jsonl:2: empty 'intent'"):
        load_labeled(path, "text", "intent")
    path.write_text('{"text": NaN, "intent": "refunds"}\n')
    with pytest.raises(ImportDataError, match=r"nan\.jsonl:1: empty 'text'"):
        load_texts(path, "text")


def test_test_labels_that_train_never_has_are_counted_and_named(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A --test label that --train never has ("Refunds" against "refunds", a label added later) can
    never be predicted: its rows scored 0 with nothing said, and the accuracy read as the model's."""
    train, _ = files
    test = write(
        tmp_path / "cased.jsonl",
        [(ROWS["payouts"][5], "payouts"), (ROWS["refunds"][5], "Refunds"), (ROWS["refunds"][6], "Refunds")],
    )
    result = run_classify(train, test, label_col="intent", embedder=EMBEDDER)
    assert result["unseen_labels"] == ["Refunds"] and result["n_test_unseen_label"] == 2
    known = run_classify(*files, label_col="intent", embedder=EMBEDDER)
    assert known["unseen_labels"] == [] and known["n_test_unseen_label"] == 0
    ws = tmp_path / "ws"
    config = init_workspace(ws)
    config.write_text(config.read_text().replace('model = "minilm"', 'model = "tfidf"'))
    monkeypatch.delenv("SUPPORTCUE_WORKSPACE", raising=False)
    args = ["--workspace", str(ws), "eval", "classify", "--train", str(train), "--test", str(test)]
    out = CliRunner().invoke(app, [*args, "--label-col", "intent", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout.strip().splitlines()[-1])["n_test_unseen_label"] == 2
    assert f"warning: 2 of 3 rows of {test} have a label that {train} never has ('Refunds')" in out.stderr
