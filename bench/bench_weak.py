"""Weak supervision on Banking77: embedding-based labeling vs few-shot LR, and LFs + label models.

Split: the last 20% of each intent's rows (file order) are the test set; from the rest, `--shots`
labeled rows per intent are drawn with the seed, and the remaining rows are *unlabeled* (their
labels are only used here, after the fact, to score the pseudo-labels).

1. `propagation`: LR on the shots alone vs `fit_with_unlabeled` (test accuracy), and the accuracy and
   coverage of `propagate`'s pseudo-labels on the unlabeled rows.
2. `label_models`: one similarity LF per intent (its shots as seed examples) plus keyword LFs, applied
   to the unlabeled rows; majority vote vs snorkel's label model on them (`choose_label_model` picks
   on the shots' rows only).

Embeddings are cached under `$SUPPORTCUE_CACHE_DIR` (default ~/.cache/supportcue/embeddings).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_weak.py [--seeds 0 1 2] [--shots 10 30] [--skip-lfs]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from supportcue.embeddings import make_embedder
from supportcue.weak import (
    LabelModel,
    LFInput,
    MajorityVoter,
    apply_lfs,
    choose_label_model,
    fit_with_unlabeled,
    keyword_lf,
    propagate,
    similarity_lf,
)
from supportcue.weak.propagation import _logreg

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77" / "train.csv"
OUT = Path(__file__).resolve().parent / "out"


@dataclass
class Banking77:
    texts: list[str]
    labels: np.ndarray
    X: np.ndarray
    test: np.ndarray
    pool: np.ndarray
    """Row indices: the held-out test rows and the rest (labeled + unlabeled)."""


def load_banking77(path: Path = DATA) -> Banking77:
    """Texts, labels, MiniLM vectors (cached), and the last-20%-per-label test split."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    texts = [r["text"] for r in rows]
    labels = np.array([r["intent"] for r in rows])
    cache = Path(os.environ.get("SUPPORTCUE_CACHE_DIR", Path.home() / ".cache" / "supportcue" / "embeddings"))
    X = make_embedder("minilm", cache_dir=cache).embed(texts)
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[str(label)].append(i)
    test = sorted(i for ids in by_label.values() for i in ids[len(ids) - round(0.2 * len(ids)) :])
    pool = np.setdiff1d(np.arange(len(rows)), test)
    return Banking77(texts, labels, X, np.array(test), pool)


def draw_shots(data: Banking77, shots: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`shots` labeled rows per label from the pool (all when fewer), and the unlabeled rest."""
    rng = np.random.default_rng(seed)
    labeled = []
    for label in sorted(set(data.labels[data.pool])):
        ids = data.pool[data.labels[data.pool] == label]
        labeled.extend(rng.choice(ids, size=min(shots, len(ids)), replace=False).tolist())
    lab = np.array(sorted(labeled))
    return lab, np.setdiff1d(data.pool, lab)


def bench_propagation(data: Banking77, shots: int, seed: int) -> dict[str, Any]:
    lab, unlab = draw_shots(data, shots, seed)
    y_lab = [str(v) for v in data.labels[lab]]
    y_test = data.labels[data.test]
    start = time.perf_counter()
    classes = sorted(set(y_lab))
    baseline = _logreg(seed).fit(data.X[lab], y_lab)
    base_acc = float(np.mean(baseline.predict(data.X[data.test]) == y_test))
    model = fit_with_unlabeled(data.X[lab], y_lab, data.X[unlab], seed=seed)
    fit_s = time.perf_counter() - start
    acc = float(np.mean(model.predict(data.X[data.test]) == y_test))
    pseudo, _ = propagate(data.X[lab], y_lab, data.X[unlab], seed=seed)
    given = np.array([p is not None for p in pseudo])
    hidden = data.labels[unlab]  # scoring only: never passed to the functions above
    right = np.array([p == t for p, t in zip(pseudo, hidden, strict=True)])
    return {
        "shots": shots,
        "seed": seed,
        "n_labeled": len(lab),
        "n_unlabeled": len(unlab),
        "n_classes": len(classes),
        "lr_shots_accuracy": round(base_acc, 4),
        "fit_with_unlabeled_accuracy": round(acc, 4),
        "pseudo_coverage": round(float(given.mean()), 4),
        "pseudo_accuracy": round(float(right[given].mean()) if given.any() else 0.0, 4),
        "seconds": round(fit_s, 1),
    }


KEYWORDS = {
    "card_arrival": ["arrive", "arrived", "still waiting"],
    "exchange_rate": ["exchange rate"],
    "pin_blocked": ["pin blocked", "blocked pin"],
    "lost_or_stolen_card": ["stolen", "lost my card"],
    "top_up_failed": ["top up failed", "top-up failed"],
    "cash_withdrawal_charge": ["withdrawal fee", "charged for withdrawing"],
}


def bench_label_models(data: Banking77, seed: int, n_intents: int, shots: int = 10) -> dict[str, Any]:
    """LFs for the first `n_intents` intents (keyword ones first), on those intents' pool rows."""
    intents = list(KEYWORDS) + sorted(set(data.labels) - set(KEYWORDS))
    subset = np.isin(data.labels, intents[:n_intents])
    lab, unlab = draw_shots(data, shots, seed)
    lab, unlab = lab[subset[lab]], unlab[subset[unlab]]
    row_of = {t: i for i, t in enumerate(data.texts)}

    class _Vectors:
        """The cached MiniLM vectors: seed examples are rows of the file."""

        name, dim = "minilm-precomputed", data.X.shape[1]

        def embed(self, texts: list[str]) -> np.ndarray:
            return data.X[[row_of[t] for t in texts]]

    seeds_of: dict[str, list[str]] = defaultdict(list)
    for i in lab:
        seeds_of[str(data.labels[i])].append(data.texts[i])
    lfs = [similarity_lf(f"sim_{lab_}", ex, lab_, _Vectors(), 0.75) for lab_, ex in sorted(seeds_of.items())]
    lfs += [keyword_lf(f"kw_{label}", words, label) for label, words in KEYWORDS.items()]
    rows = np.concatenate([lab, unlab])
    inputs = [LFInput(data.texts[i], vector=data.X[i]) for i in rows]
    start = time.perf_counter()
    applied = apply_lfs(lfs, inputs, label_names=sorted(seeds_of), progress=False)
    apply_s = time.perf_counter() - start
    index = {name: k for k, name in enumerate(applied.label_names)}
    gold_idx = np.arange(len(lab))  # the shots are the only gold the system may read
    gold = np.array([index[str(data.labels[i])] for i in lab])
    choice = choose_label_model(
        applied.matrix, gold_idx, gold, cardinality=len(applied.label_names), seed=seed
    )
    hidden = np.array([index[str(v)] for v in data.labels[unlab]])
    L_unlab = applied.matrix[len(lab) :]
    covered = (L_unlab != -1).any(axis=1)
    out: dict[str, Any] = {
        "seed": seed,
        "n_intents": n_intents,
        "n_rows": len(rows),
        "n_lfs": len(lfs),
        "apply_rows_per_s": round(len(inputs) / apply_s),
        "coverage_unlabeled": round(float(covered.mean()), 4),
        "chosen": choice.name,
        "gold_scores": {k: round(v, 4) for k, v in choice.scores.items()},
    }
    for name, model in (("majority", MajorityVoter), ("label_model", LabelModel)):
        fitted = model(len(applied.label_names), seed=seed).fit(applied.matrix)
        predicted = fitted.predict(L_unlab, tie_break="random")
        out[f"{name}_accuracy_covered"] = round(float(np.mean(predicted[covered] == hidden[covered])), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--shots", type=int, nargs="+", default=[10, 30])
    parser.add_argument("--skip-lfs", action="store_true")
    parser.add_argument("--skip-propagation", action="store_true")
    parser.add_argument("--lf-intents", type=int, default=15, help="snorkel's cost grows as (LFs x labels)^2")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    data = load_banking77()
    results: dict[str, Any] = {"propagation": [], "label_models": []}
    for shots in [] if args.skip_propagation else args.shots:
        for seed in args.seeds:
            row = bench_propagation(data, shots, seed)
            results["propagation"].append(row)
            print(json.dumps(row), flush=True)
        runs = [r for r in results["propagation"] if r["shots"] == shots]
        for key in ("lr_shots_accuracy", "fit_with_unlabeled_accuracy", "pseudo_accuracy"):
            print(f"shots={shots} mean {key}: {np.mean([r[key] for r in runs]):.4f}")
    if not args.skip_lfs:
        for seed in args.seeds:
            row = bench_label_models(data, seed, args.lf_intents)
            results["label_models"].append(row)
            print(json.dumps(row), flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_weak.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
