"""Per-label splits of a labeled CSV file for the benchmarks, written as two CSV files."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path


def split_per_label(
    src: Path,
    label_col: str,
    out: Path,
    names: tuple[str, str],
    cut: Callable[[int], int],
    shuffle: bool,
    seed: int = 0,
) -> tuple[Path, Path]:
    """For each label (in sorted order), its first `cut(n)` rows go to the first file and the rest to
    the second; with `shuffle`, each label's rows are shuffled first (seeded)."""
    with src.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_label: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_label[row[label_col]].append(row)
    rng = random.Random(seed)
    first: list[dict[str, str]] = []
    second: list[dict[str, str]] = []
    for _, group in sorted(by_label.items()):
        if shuffle:
            rng.shuffle(group)
        k = cut(len(group))
        first += group[:k]
        second += group[k:]
    paths = []
    for name, part in zip(names, (first, second), strict=True):
        path = out / f"{src.parent.name}_{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(part)
        paths.append(path)
    return paths[0], paths[1]
