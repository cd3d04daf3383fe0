"""Benchmark `eval oos` on CLINC150: train on train.csv, choose the threshold on half of val.csv, test on the
other half (split per label with a seed). Reads /work/shared/data; never copies it into the project.

    .venv/bin/python bench/bench_oos.py [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from splits import split_per_label
from supportcue.eval.oos import run_oos

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def halves(src: Path, label_col: str, out: Path, seed: int) -> tuple[Path, Path]:
    """Split a file in two halves per label (seeded), written as CSV in `out`."""
    return split_per_label(src, label_col, out, ("val", "test"), lambda n: n // 2, shuffle=True, seed=seed)


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
