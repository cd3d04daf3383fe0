"""Benchmark adapting MiniLM to the shots (SetFit-style) before pseudo-labeling, on Banking77.

    .venv/bin/python bench/bench_adapt.py --split tune|last|random [--seeds 0 1 2] [--baseline]
        [--steps 150] [--lr 3e-5] [--classes-per-batch 16] [--per-class 4] [--temperature 0.1]
        [--rounds 1|2] [--pseudo-min 0.5]

Per seed: N shots per intent (`sample_shots`), the rest of the train part is unlabeled text. The
adapted path fine-tunes a fresh copy of MiniLM on the shots (`finetune.py`, supervised
contrastive loss), embeds every text with it (no cache: the shared cache only ever holds base-model
vectors), then runs what `eval classify --use-unlabeled` runs: `propagate` and the topic stage fit
on the shots plus the weighted pseudo-labels. `--rounds 2` fine-tunes again (from the base model)
on the shots plus the round-1 pseudo-labels at confidence >= `--pseudo-min`, weighted by confidence, then
re-embeds and re-propagates. `--baseline` also runs today's path (frozen MiniLM, cached vectors).

Splits: `last` / `random` are bench_classify.py's reported splits (80/20 per intent). `tune` is
the only one settings are chosen on: inside the `last` split's train part, a seeded (100) random
20% per intent is the tuning test set, the other 80% the tuning train part; the reported test rows
are never read. Results and commands: BENCHMARKS.md, "10 shots + the rest of train unlabeled".
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from finetune import AdaptSettings, adapt_encoder
from splits import split_per_label
from supportcue.eval.labeled import default_embedder, load_labeled, messages, sample_shots
from supportcue.stages.topic import TopicStage
from supportcue.weak.propagation import propagate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
Embed = Callable[[Sequence[str]], np.ndarray]


def split(how: str, out: Path) -> tuple[Path, Path]:
    cut = lambda n: max(1, int(n * 0.8))  # noqa: E731
    src = DATA / "banking77" / "train.csv"
    names = ("train", "test")
    if how != "tune":
        return split_per_label(src, "intent", out, names, cut, shuffle=how == "random", seed=0)
    (out / "pool").mkdir()
    pool, _ = split_per_label(src, "intent", out / "pool", names, cut, shuffle=False, seed=0)
    return split_per_label(pool, "intent", out, ("tune_train", "tune_test"), cut, shuffle=True, seed=100)


def fit_and_score(
    embed: Embed,
    shots: list[str],
    labels: list[str],
    unlabeled: list[str],
    test: list[str],
    truth: list[str],
    seed: int,
) -> tuple[float, list[str | None], np.ndarray]:
    """What `eval classify --use-unlabeled` does, on the vectors of `embed`: test accuracy, pseudo-labels."""
    vectors, unlab = embed(shots), embed(unlabeled)
    pseudo, confidence = propagate(vectors, labels, unlab, seed=seed)
    chosen = [i for i, p in enumerate(pseudo) if p is not None]
    stage = TopicStage(seed=seed).fit(
        messages([*shots, *(unlabeled[i] for i in chosen)], np.vstack([vectors, unlab[chosen]])),
        [*labels, *(str(pseudo[i]) for i in chosen)],
        sample_weight=np.concatenate([np.ones(len(shots)), np.clip(confidence[chosen], 0, 1)]).tolist(),
    )
    proba = stage.predict_proba(messages(test, embed(test)))
    predicted = [stage.topics_[i] for i in proba.argmax(1)]
    return float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)])), pseudo, confidence


def pseudo_accuracy(pseudo: list[str | None], hidden: list[str]) -> float:
    """Share of unlabeled rows with the right pseudo-label (None counts as wrong); scoring only."""
    return float(np.mean([p == h for p, h in zip(pseudo, hidden, strict=True)]))


def run_seed(train: Path, test: Path, seed: int, args: argparse.Namespace) -> dict[str, object]:
    rows = load_labeled(train, "text", "intent")
    keep = sample_shots(rows.labels, args.shots, seed)
    kept = set(keep)
    shots, labels = [rows.texts[i] for i in keep], [rows.labels[i] for i in keep]
    unlabeled = [t for i, t in enumerate(rows.texts) if i not in kept]
    hidden = [y for i, y in enumerate(rows.labels) if i not in kept]  # scoring pseudo-labels only
    test_rows = load_labeled(test, "text", "intent")
    out: dict[str, object] = {"seed": seed, "n_shots": len(shots), "n_unlabeled": len(unlabeled)}
    if args.baseline:
        started = time.perf_counter()
        base = default_embedder()
        acc, pseudo, _ = fit_and_score(
            base.embed, shots, labels, unlabeled, test_rows.texts, test_rows.labels, seed
        )
        out["baseline"] = {
            "accuracy": round(acc, 4),
            "pseudo_right": round(pseudo_accuracy(pseudo, hidden), 4),
            "seconds": round(time.perf_counter() - started, 1),
        }
        print(json.dumps(out), flush=True)
    settings = AdaptSettings(
        steps=args.steps,
        classes_per_batch=args.classes_per_batch,
        per_class=args.per_class,
        lr=args.lr,
        temperature=args.temperature,
        seed=seed,
    )
    started = time.perf_counter()
    encoder = adapt_encoder(shots, labels, settings)
    tuned = time.perf_counter()
    acc, pseudo, confidence = fit_and_score(
        encoder.embed, shots, labels, unlabeled, test_rows.texts, test_rows.labels, seed
    )
    done = time.perf_counter()
    out["adapted"] = {
        "accuracy": round(acc, 4),
        "pseudo_right": round(pseudo_accuracy(pseudo, hidden), 4),
        "finetune_seconds": round(tuned - started, 1),
        "seconds": round(done - started, 1),
    }
    print(json.dumps(out), flush=True)
    if args.rounds == 2:
        chosen = [i for i, p in enumerate(pseudo) if p is not None and confidence[i] >= args.pseudo_min]
        encoder = adapt_encoder(
            [*shots, *(unlabeled[i] for i in chosen)],
            [*labels, *(str(pseudo[i]) for i in chosen)],
            AdaptSettings(**{**settings.__dict__, "steps": args.steps2 or args.steps}),
            sample_weight=[1.0] * len(shots) + [float(confidence[i]) for i in chosen],
        )
        acc2, pseudo2, _ = fit_and_score(
            encoder.embed, shots, labels, unlabeled, test_rows.texts, test_rows.labels, seed
        )
        out["adapted_round2"] = {
            "accuracy": round(acc2, 4),
            "pseudo_right": round(pseudo_accuracy(pseudo2, hidden), 4),
            "n_pseudo_in_finetune": len(chosen),
            "seconds": round(time.perf_counter() - started, 1),
        }
        print(json.dumps(out), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", choices=["tune", "last", "random"], default="tune")
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--steps", type=int, default=AdaptSettings.steps)
    parser.add_argument("--steps2", type=int, default=0, help="round-2 steps (default: --steps)")
    parser.add_argument("--lr", type=float, default=AdaptSettings.lr)
    parser.add_argument("--classes-per-batch", type=int, default=AdaptSettings.classes_per_batch)
    parser.add_argument("--per-class", type=int, default=AdaptSettings.per_class)
    parser.add_argument("--temperature", type=float, default=AdaptSettings.temperature)
    parser.add_argument("--rounds", type=int, choices=[1, 2], default=1)
    parser.add_argument("--pseudo-min", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the box is shared)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        train, test = split(args.split, Path(tmp))
        runs = [run_seed(train, test, seed, args) for seed in args.seeds]
    summary: dict[str, object] = {"split": args.split, "settings": {k: v for k, v in vars(args).items()}}
    for key in ("baseline", "adapted", "adapted_round2"):
        got = [r[key] for r in runs if key in r]
        if got:
            summary[key] = {
                "accuracy_mean": round(statistics.mean(g["accuracy"] for g in got), 4),  # type: ignore[index]
                "accuracy_per_seed": [g["accuracy"] for g in got],  # type: ignore[index]
                "seconds_mean": round(statistics.mean(g["seconds"] for g in got), 1),  # type: ignore[index]
            }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
