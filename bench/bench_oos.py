"""Benchmark out-of-scope detection on CLINC150 with a threshold that never sees the test rows.

Protocol (splits per label, seeded):
- train.csv minus a held-out 15% slice ("train slice", test only) is the training file; the detector
  holds out its own calibration slice of it (`OosDetector.calibration_share`);
- val.csv is split in halves: half A is --val (calibration), half B is a test set;
- negatives: the package's built-in non-questions, the demo's, and HWU64 `general_*` chit-chat;
- the test figures (val half B, train slice) are computed once, after everything is chosen.

Reads /work/shared/data; never copies it into the project.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_oos.py [--seed 0] [--target-recall 0.9]
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

import joblib

from splits import split_per_label
from supportcue.eval.labeled import default_embedder, load_labeled
from supportcue.eval.oos import OosDetector, negative_sources

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def hwu_chitchat(out: Path) -> Path:
    """HWU64 `general_*` rows (both splits) as a one-column CSV in `out` (a temporary folder)."""
    with (DATA / "hwu64" / "hwu64.csv").open(encoding="utf-8") as handle:
        texts = [r["text"] for r in csv.DictReader(handle) if r["intent"].startswith("general_")]
    path = out / "hwu64_general.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text"])
        writer.writerows([t] for t in texts)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target-recall", type=float, default=0.9)
    parser.add_argument("--save", type=Path, help="keep the fitted detector here (joblib), to inspect")
    args = parser.parse_args()
    embedder = default_embedder()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        slice_, train = split_per_label(
            DATA / "clinc150" / "train.csv",
            "intent",
            out,
            ("slice", "fit"),
            lambda n: round(0.15 * n),
            shuffle=True,
            seed=args.seed,
        )
        val_a, val_b = split_per_label(
            DATA / "clinc150" / "val.csv",
            "intent",
            out,
            ("a", "b"),
            lambda n: n // 2,
            shuffle=True,
            seed=args.seed,
        )
        rows = {
            name: load_labeled(p, "text", "intent")
            for name, p in [("train", train), ("val_a", val_a), ("val_b", val_b), ("train_slice", slice_)]
        }
        sources = negative_sources(embedder, hwu_chitchat(out))
    vectors = {name: embedder.embed(r.texts) for name, r in rows.items()}
    started = time.perf_counter()
    detector = OosDetector(target_recall=args.target_recall, seed=args.seed).fit(
        rows["train"], vectors["train"], rows["val_a"], vectors["val_a"], sources, "oos"
    )
    seconds = time.perf_counter() - started
    if args.save:
        joblib.dump(detector, args.save)
    result = {
        "seed": args.seed,
        "target_recall": args.target_recall,
        "threshold": round(detector.threshold, 4),
        "calibration": detector.calibration_,
        "fit_seconds": round(seconds, 1),
        "n": {name: len(r.labels) for name, r in rows.items()},
    }
    for name in ("val_b", "train_slice"):
        result[f"test_{name}"] = {
            k: None if v is None else round(v, 4)
            for k, v in detector.evaluate(rows[name], vectors[name]).items()
        }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
