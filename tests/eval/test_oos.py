"""`eval oos` on small files with the model-free embedder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.examples import TOPIC_EXAMPLES

from supportcue.embeddings import HashingEmbedder
from supportcue.errors import SupportcueError
from supportcue.eval.oos import oos_metrics, run_oos

EMBEDDER = HashingEmbedder(dim=512)
IN_SCOPE = {k: TOPIC_EXAMPLES[k] for k in ("payouts", "refunds")}
OOS = [
    "what is the weather",
    "tell me a joke",
    "play some jazz music",
    "who won the game",
    "book a flight",
    "order a pizza",
    "set an alarm",
    "translate hello to french",
]


def write(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in rows))
    return path


def test_oos_metrics_definition() -> None:
    labels = ["a", "b", "oos", "oos"]
    predicted = ["a", "a", "oos", "b"]
    rejected = np.array([False, False, True, False])
    metrics = oos_metrics(labels, predicted, rejected, "oos")
    assert metrics == {"in_scope_accuracy": 0.5, "oos_recall": 0.5, "oos_precision": 1.0}
    # A right label that is rejected does not count as in-scope accurate.
    assert oos_metrics(["a"], ["a"], np.array([True]), "oos")["in_scope_accuracy"] == 0.0


def test_run_oos_end_to_end(tmp_path: Path) -> None:
    train = [(t, k) for k, ts in IN_SCOPE.items() for t in ts[:5]] + [(t, "oos") for t in OOS[:2]]
    val = [(t, k) for k, ts in IN_SCOPE.items() for t in ts[5:7]] + [(t, "oos") for t in OOS[2:5]]
    test = [(t, k) for k, ts in IN_SCOPE.items() for t in ts[7:]] + [(t, "oos") for t in OOS[5:]]
    out = tmp_path / "pred.jsonl"
    result = run_oos(
        write(tmp_path / "train.jsonl", train),
        write(tmp_path / "val.jsonl", val),
        write(tmp_path / "test.jsonl", test),
        predictions=out,
        embedder=EMBEDDER,
    )
    assert {"in_scope_accuracy", "oos_recall", "oos_precision", "threshold", "n_test"} <= result.keys()
    assert result["n_test"] == len(test) and result["n_train_oos"] == 2
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"] for r in rows] == [t for t, _ in test]
    assert all(set(r) == {"text", "label", "predicted", "confidence", "rejected"} for r in rows)
    assert all((r["predicted"] == "oos") == r["rejected"] for r in rows)
    assert result["oos_recall"] > 0.0 and result["in_scope_accuracy"] > 0.0


def test_val_without_oos_rows_is_refused(tmp_path: Path) -> None:
    rows = [(t, k) for k, ts in IN_SCOPE.items() for t in ts]
    path = write(tmp_path / "rows.jsonl", rows)
    with pytest.raises(SupportcueError, match="no row has label = 'oos'"):
        run_oos(path, path, path, embedder=EMBEDDER)
