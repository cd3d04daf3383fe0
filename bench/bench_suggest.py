"""Reply suggestion on Bitext: match rate and ROUGE-L against the nearest-question baseline.

Holds out `--holdout` of train.csv per intent (seeded), writes the two files to a temporary folder,
and runs `run_suggest` (what `supportcue eval suggest` runs) on them. Embeddings are cached under
`$SUPPORTCUE_CACHE_DIR` (default ~/.cache/supportcue/embeddings), so the second run is fast.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_suggest.py [--seeds 0 1 2] [--no-labels]
        [--drafts consensus|replies]

`--drafts` sets how the library is drafted from the train replies (`eval suggest --drafts`): each
topic's consensus draft first (the default) or the train replies only.

ROUGE-L (F1, Google's `rouge-score`, `pip install -e .[bench]`) is the independent score: the mean
over test rows of the product's suggestions and of the baseline, their ratio per seed, and the mean
and spread (min-max) of the ratio over seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from supportcue.data.files import read_rows, write_rows
from supportcue.eval.suggest import run_suggest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bitext" / "train.csv"


def split(path: Path, folder: Path, holdout: float, seed: int, label_col: str) -> tuple[Path, Path]:
    """Write train/test files holding out `holdout` of the rows of each label (seeded)."""
    rows = [row for _, row in read_rows(path)]
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_label[row[label_col]].append(i)
    rng = random.Random(seed)
    held: set[int] = set()
    for label in sorted(by_label):
        ids = by_label[label]
        held.update(rng.sample(ids, round(len(ids) * holdout)))
    columns = list(rows[0])
    train, test = folder / f"train-{seed}.csv", folder / f"test-{seed}.csv"
    write_rows(train, [r for i, r in enumerate(rows) if i not in held], columns)
    write_rows(test, [r for i, r in enumerate(rows) if i in held], columns)
    return train, test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--label-col", default="intent")
    parser.add_argument("--no-labels", action="store_true", help="topics from clustering replies instead")
    parser.add_argument("--answers-per-topic", type=int, default=3)
    parser.add_argument("--drafts", choices=("consensus", "replies"), default="consensus")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    keys = ["match_rate", "mean_similarity", "coverage", "topic_accuracy", "baseline_match_rate"]
    keys += ["baseline_mean_similarity", "relative_gain", "rouge_l", "baseline_rouge_l", "rouge_l_ratio"]
    keys += ["n_test", "n_answers", "seconds"]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            train, test = split(args.data, Path(tmp), args.holdout, seed, args.label_col)
            result = run_suggest(
                train,
                test,
                label_col=None if args.no_labels else args.label_col,
                answers_per_topic=args.answers_per_topic,
                seed=seed,
                drafts=args.drafts,
            )
            results.append(result)
            shown = {k: result.get(k) for k in keys}
            print(f"seed {seed}: " + json.dumps(shown, default=str))
    if len(results) > 1:
        mean = {k: sum(r[k] for r in results) / len(results) for k in ("match_rate", "baseline_match_rate")}
        gain = mean["match_rate"] / mean["baseline_match_rate"] - 1 if mean["baseline_match_rate"] else None
        print("mean over seeds: " + json.dumps({**mean, "relative_gain": gain}))
    ratios = [r["rouge_l_ratio"] for r in results if r.get("rouge_l_ratio") is not None]
    if ratios:
        spread = {"mean": statistics.mean(ratios), "min": min(ratios), "max": max(ratios)}
        print("ROUGE-L ratio over seeds: " + json.dumps({k: round(v, 4) for k, v in spread.items()}))


if __name__ == "__main__":
    main()
