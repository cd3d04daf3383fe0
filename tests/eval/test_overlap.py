"""`eval` says how many --test texts --train holds too: a help desk's history repeats itself, and a
random split of it gives figures that partly measure rows the model was fitted on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supportcue.cli import app
from supportcue.embeddings import HashingEmbedder
from supportcue.eval.classify import run_classify
from supportcue.eval.labeled import in_train
from supportcue.eval.oos import run_oos
from supportcue.eval.suggest import run_suggest
from supportcue.settings import init_workspace

EMBEDDER = HashingEmbedder(dim=512)
TRAIN = [
    ("How do I reset my password?", "login", "Use the reset link on the sign-in page."),
    ("the reset link expired", "login", "Use the reset link on the sign-in page."),
    ("I cannot log in", "login", "Use the reset link on the sign-in page."),
    ("I was charged twice, refund please", "billing", "Refunds reach your card in 5 days."),
    ("refund for my last invoice", "billing", "Refunds reach your card in 5 days."),
    ("why was I billed this month", "billing", "Refunds reach your card in 5 days."),
    ("thanks!", "oos", "You're welcome!"),
    ("ok bye", "oos", "You're welcome!"),
]
# two rows repeat a train text (one with other case and spacing), two are new
TEST = [
    ("how do I  reset my PASSWORD?", "login", "Use the reset link on the sign-in page."),
    ("I was charged twice, refund please", "billing", "Refunds reach your card in 5 days."),
    ("my login code never arrives", "login", "Use the reset link on the sign-in page."),
    ("please refund the double charge", "billing", "Refunds reach your card in 5 days."),
    ("thanks a lot", "oos", "You're welcome!"),
]


def write(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text("".join(json.dumps({"text": t, "label": k, "reply": r}) + "\n" for t, k, r in rows))
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write(tmp_path / "train.jsonl", TRAIN), write(tmp_path / "test.jsonl", TEST)


def test_in_train_ignores_case_and_spacing() -> None:
    assert in_train(["Hello  World", "b"], ["hello world", "HELLO WORLD ", "hello"]) == [True, True, False]


def test_classify_counts_the_repeated_texts_and_scores_the_others_apart(files: tuple[Path, Path]) -> None:
    in_scope = [r for r in TEST if r[1] != "oos"]
    train, _ = files
    test = write(train.parent / "in_scope.jsonl", in_scope)
    result = run_classify(train, test, embedder=EMBEDDER)
    assert result["test_in_train"] == 2 and result["test_in_train_share"] == 0.5
    # the accuracy on the two new rows, from the predictions of every row
    out = train.parent / "pred.jsonl"
    run_classify(train, test, embedder=EMBEDDER, predictions=out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    new = [r["predicted"] == r["label"] for r in rows[2:]]
    assert result["accuracy_unseen"] == sum(new) / len(new)


def test_a_test_file_apart_from_train_has_no_overlap(files: tuple[Path, Path]) -> None:
    train, _ = files
    test = write(train.parent / "new.jsonl", TEST[2:])
    result = run_classify(train, test, embedder=EMBEDDER)
    assert result["test_in_train"] == 0 and result["accuracy_unseen"] == result["accuracy"]


def test_oos_and_suggest_count_them_too(files: tuple[Path, Path]) -> None:
    train, test = files
    assert run_oos(train, train, test, embedder=EMBEDDER)["test_in_train"] == 2
    assert run_suggest(train, test, embedder=EMBEDDER)["test_in_train"] == 2


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace that embeds with TF-IDF (fast, no model), named on the command line only."""
    ws = tmp_path / "ws"
    config = init_workspace(ws)
    config.write_text(config.read_text().replace('model = "minilm"', 'model = "tfidf"'))
    monkeypatch.delenv("SUPPORTCUE_WORKSPACE", raising=False)
    return ws


def test_the_cli_warns_naming_the_files(files: tuple[Path, Path], tmp_path: Path, ws: Path) -> None:
    train, test = files
    args = ["--workspace", str(ws), "eval", "classify", "--train", str(train), "--test", str(test)]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["test_in_train"] == 2
    assert f"warning: 2 of 5 rows of {test} (40%) have a text that {train} holds too" in result.stderr
    apart = write(tmp_path / "apart.jsonl", TEST[2:])
    clean = CliRunner().invoke(
        app, ["--workspace", str(ws), "eval", "classify", "--train", str(train), "--test", str(apart)]
    )
    assert clean.exit_code == 0, clean.output
    assert "warning" not in clean.stderr


def test_oos_counts_the_test_texts_its_calibration_saw(files: tuple[Path, Path], tmp_path: Path) -> None:
    """`eval oos` chooses its threshold on --val and the negatives (built-in ones, --negatives): a
    --test text among them was scored by a threshold chosen on it, and `test_in_train` alone said
    nothing (a --val cut from the same history as --test, a chit-chat list that holds --test's)."""
    train, test = files
    val = write(tmp_path / "val.jsonl", TEST[2:])  # three --test rows, one out-of-scope
    extra = tmp_path / "chitchat.csv"
    extra.write_text("text\nplease refund the double charge\nsing me a song\n")
    result = run_oos(train, val, test, embedder=EMBEDDER, negatives=extra)
    assert result["test_in_val"] == 3
    # "thanks a lot" is a built-in non-question, "please refund the double charge" is in the file
    assert result["test_in_negatives"] == 2
    apart = write(
        tmp_path / "apart.jsonl", [("where is my invoice", "billing", "-"), ("hey there", "oos", "-")]
    )
    clean = run_oos(
        train,
        apart,
        write(tmp_path / "t.jsonl", [*TEST[:2], ("play some jazz", "oos", "-")]),
        embedder=EMBEDDER,
    )
    assert (clean["test_in_val"], clean["test_in_negatives"]) == (0, 0)


def test_the_oos_cli_warns_of_test_texts_in_val(files: tuple[Path, Path], tmp_path: Path, ws: Path) -> None:
    train, test = files
    val = write(tmp_path / "val.jsonl", TEST[2:])
    args = [
        "--workspace",
        str(ws),
        "eval",
        "oos",
        "--train",
        str(train),
        "--val",
        str(val),
        "--test",
        str(test),
    ]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["test_in_val"] == 3
    assert f"warning: rows of {test} have a text that the threshold was chosen on (3 in {val};" in " ".join(
        result.stderr.split()
    )
