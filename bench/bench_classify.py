"""Benchmark the topic stage on Banking77 (hold-out 20% per label): full data, 10-shot, latency.

    .venv/bin/python bench/bench_classify.py [--split last|random] [--shots 10] [--seeds 0 1 2]
        [--use-unlabeled] [--skip-full]

`--use-unlabeled` trains the few-shot runs on the shots plus the rest of the train split as
unlabeled text (what `eval classify --use-unlabeled` does: `weak.propagation` pseudo-labels).

Reads /work/shared/data (never copied into the project). `--split last` holds out the last 20% of
each label in file order, like the contract check; `random` a seeded random 20% per label.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from splits import split_per_label
from supportcue.eval.classify import run_classify
from supportcue.eval.labeled import default_embedder, load_labeled, messages
from supportcue.stages.topic import TopicStage
from supportcue.stages.validation import ValidationStage

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def split(src: Path, label_col: str, out: Path, how: str, seed: int = 0) -> tuple[Path, Path]:
    """80% of each label to train, 20% to test: the last rows in file order, or random ones."""
    cut = lambda n: max(1, int(n * 0.8))  # noqa: E731
    return split_per_label(src, label_col, out, ("train", "test"), cut, shuffle=how == "random", seed=seed)


def latency(train: Path, test: Path, topic: TopicStage, n: int = 30) -> dict[str, float]:
    """ms per single message: embedding (uncached MiniLM), then validation and topic stages."""
    embedder = default_embedder()
    rows = load_labeled(train, "text", "intent")
    validation = ValidationStage().fit(messages(rows.texts, embedder.embed(rows.texts)))
    live = getattr(embedder, "inner", embedder)
    texts = load_labeled(test, "text", "intent").texts[:n]
    live.embed(texts[:1])  # load the model outside the timing
    embed_s = stages_s = 0.0
    for text in texts:
        started = time.perf_counter()
        batch = messages([text], live.embed([text]))
        embedded = time.perf_counter()
        validation.predict(batch)
        topic.predict(batch)
        embed_s += embedded - started
        stages_s += time.perf_counter() - embedded
    return {
        "embed_ms": round(1000 * embed_s / len(texts), 2),
        "both_stages_ms": round(1000 * stages_s / len(texts), 2),
        "total_ms": round(1000 * (embed_s + stages_s) / len(texts), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", choices=["last", "random"], default="last")
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--use-unlabeled", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        train, test = split(DATA / "banking77" / "train.csv", "intent", Path(tmp), args.split)
        report: dict[str, object] = {"split": args.split}
        if not args.skip_full:
            stage = TopicStage()
            full = run_classify(train, test, label_col="intent", stage=stage)
            report["full"] = full
            report["latency_per_message"] = latency(train, test, stage)
            print(json.dumps(report), flush=True)
        shots = [
            run_classify(
                train,
                test,
                label_col="intent",
                shots_per_label=args.shots,
                seed=seed,
                use_unlabeled=args.use_unlabeled,
            )
            for seed in args.seeds
        ]
        report[f"{args.shots}_shot" + ("_unlabeled" if args.use_unlabeled else "")] = {
            "accuracy_mean": round(statistics.mean(r["accuracy"] for r in shots), 4),
            "accuracy_per_seed": [round(r["accuracy"], 4) for r in shots],
            "train_seconds_mean": round(statistics.mean(r["train_seconds"] for r in shots), 2),
        }
        print(json.dumps(report))


if __name__ == "__main__":
    main()
