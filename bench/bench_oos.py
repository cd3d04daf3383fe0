"""Benchmark `eval oos` on CLINC150: train on train.csv, choose the threshold on half of val.csv, test on the
other half (split per label with a seed). Reads /work/shared/data; never copies it into the project.

    .venv/bin/python bench/bench_oos.py [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import tempfile
from collections import defaultdict
from pathlib import Path

from supportcue.eval.oos import run_oos

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def halves(src: Path, label_col: str, out: Path, seed: int) -> tuple[Path, Path]:
    """Split a file in two halves per label (seeded), written as CSV in `out`."""
    with src.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_label: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_label[row[label_col]].append(row)
    rng = random.Random(seed)
    first: list[dict[str, str]] = []
    second: list[dict[str, str]] = []
    for _, group in sorted(by_label.items()):
        rng.shuffle(group)
        cut = len(group) // 2
        first += group[:cut]
        second += group[cut:]
    paths = []
    for name, part in (("val", first), ("test", second)):
        path = out / f"{src.parent.name}_{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(part)
        paths.append(path)
    return paths[0], paths[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        val, test = halves(DATA / "clinc150" / "val.csv", "intent", Path(tmp), args.seed)
        result = run_oos(DATA / "clinc150" / "train.csv", val, test, label_col="intent", oos_label="oos")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
