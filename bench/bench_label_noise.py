"""Label issues on Banking77 with planted noise: are the flipped labels found, and does dropping them help?

The pool (all rows but the last 20% of each intent, which are the test set) gets `--noise` of its
labels flipped at random to another intent. `out_of_sample_probs` (5-fold LR on MiniLM vectors) and
`find_label_issues` (cleanlab) flag rows; we report recall and precision on the flips, and the test
accuracy of LR trained on clean, noisy, and noisy-minus-flagged labels ("recovered" = the share of
the accuracy lost to noise that dropping the flagged rows wins back).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_label_noise.py [--seeds 0 1 2] [--noise 0.05]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from bench_weak import OUT, Banking77, load_banking77
from supportcue.review import find_label_issues, out_of_sample_probs


def _accuracy(data: Banking77, rows: np.ndarray, labels: np.ndarray, seed: int) -> float:
    # Fitted to convergence: an early stop moves test accuracy by as much as the noise does.
    model = LogisticRegression(C=10.0, max_iter=2000, tol=1e-5, random_state=seed).fit(data.X[rows], labels)
    return float(np.mean(model.predict(data.X[data.test]) == data.labels[data.test]))


def bench_noise(data: Banking77, noise: float, seed: int, filter_by: str) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    pool = data.pool
    clean = data.labels[pool]
    classes = np.array(sorted(set(clean)))
    flipped = np.sort(rng.choice(len(pool), size=round(noise * len(pool)), replace=False))
    noisy = clean.copy()
    for i in flipped:
        noisy[i] = rng.choice(classes[classes != clean[i]])
    start = time.perf_counter()
    probs, names = out_of_sample_probs(data.X[pool], noisy, n_splits=5, seed=seed)
    index = {name: k for k, name in enumerate(names)}
    issues = find_label_issues(np.array([index[v] for v in noisy]), probs, filter_by=filter_by)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    flagged = issues.indices
    hits = np.intersect1d(flagged, flipped).size
    keep = np.setdiff1d(np.arange(len(pool)), flagged)
    acc_clean = _accuracy(data, pool, clean, seed)
    acc_noisy = _accuracy(data, pool, noisy, seed)
    acc_cleaned = _accuracy(data, pool[keep], noisy[keep], seed)
    lost = acc_clean - acc_noisy
    return {
        "seed": seed,
        "filter_by": filter_by,
        "n_pool": len(pool),
        "n_flipped": len(flipped),
        "n_flagged": len(flagged),
        "recall": round(hits / len(flipped), 4),
        "precision": round(hits / max(1, len(flagged)), 4),
        "acc_clean": round(acc_clean, 4),
        "acc_noisy": round(acc_noisy, 4),
        "acc_without_flagged": round(acc_cleaned, 4),
        "recovered": round((acc_cleaned - acc_noisy) / lost, 3) if lost > 0 else None,
        "find_seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--filter-by", nargs="+", default=["low_self_confidence"])
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    data = load_banking77()
    results = []
    for filter_by in args.filter_by:
        for seed in args.seeds:
            row = bench_noise(data, args.noise, seed, filter_by)
            results.append(row)
            print(json.dumps(row), flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_label_noise.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
