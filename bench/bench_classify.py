"""Benchmark the topic stage on Banking77 (hold-out 20% per label): full data, 10-shot, latency.

    .venv/bin/python bench/bench_classify.py [--split last|random] [--shots 10] [--seeds 0 1 2]

Reads /work/shared/data (never copied into the project). `--split last` holds out the last 20% of
each label in file order, like the contract check; `random` a seeded random 20% per label.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from supportcue.eval.classify import messages, run_classify
from supportcue.eval.labeled import default_embedder, load_labeled
from supportcue.stages.topic import TopicStage
from supportcue.stages.validation import ValidationStage

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def split(src: Path, label_col: str, out: Path, how: str, seed: int = 0) -> tuple[Path, Path]:
    with src.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_label: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_label[row[label_col]].append(row)
    rng = random.Random(seed)
    train: list[dict[str, str]] = []
    test: list[dict[str, str]] = []
    for _, group in sorted(by_label.items()):
        if how == "random":
            rng.shuffle(group)
        cut = max(1, int(len(group) * 0.8))
        train += group[:cut]
        test += group[cut:]
    paths = []
    for name, part in (("train", train), ("test", test)):
        path = out / f"{src.parent.name}_{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(part)
        paths.append(path)
    return paths[0], paths[1]


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
            run_classify(train, test, label_col="intent", shots_per_label=args.shots, seed=seed)
            for seed in args.seeds
        ]
        report[f"{args.shots}_shot"] = {
            "accuracy_mean": round(statistics.mean(r["accuracy"] for r in shots), 4),
            "accuracy_per_seed": [round(r["accuracy"], 4) for r in shots],
            "train_seconds_mean": round(statistics.mean(r["train_seconds"] for r in shots), 2),
        }
        print(json.dumps(report))


if __name__ == "__main__":
    main()
