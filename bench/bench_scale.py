"""Benchmark topic training at scale (issue 15, part 2): time, peak memory and accuracy vs rows.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_scale.py [--sizes 10000 40000 160000 200000]
        [--solver default|exact|nystrom] [--landmarks 3000]

Topics: Banking77's 77 intents and CLINC150's 150 in-scope intents (227 in all; `oos` rows left out).
The last 20% of each intent's rows (file order) is the test set: real texts, never trained on, nor
any variant of them. The training set of N rows is drawn from the other 80% (about 19,900 real rows):
a random N of them, or, above that, all of them plus N - 19,900 programmatic variants of random real
rows. Embedding 200,000 new texts with MiniLM takes hours on 2 busy cores, so a variant's vector is
derived from its source's cached MiniLM vector, and its text from the source's text:

- text: each word dropped with probability 0.2 (at least one kept), one random adjacent pair swapped;
- vector: the source vector plus Gaussian noise (sigma 0.02 per dimension, cosine about 0.93 with the
  source), renormalised.

`--write-eval-files DIR --sizes 200000` writes such a training file (CLINC150's `oos` rows included),
the real test file and an embedding cache with every vector, for `supportcue eval classify|oos`.

`train_cpu_seconds` (user + system time of all threads) says how much of a slow wall time was a
busy machine. Each size is fitted in its own process (`--one N`), so its peak RSS (`ru_maxrss`,
which includes the loaded data and the Message objects, as `eval classify` would hold them) is its
own. Vectors come
from the embedding cache (`~/.cache/supportcue/embeddings`); a real text missing there is embedded.
Reads /work/shared/data (never copied into the project).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from supportcue.embeddings import MiniLMEmbedder, text_key
from supportcue.eval.labeled import default_embedder, messages
from supportcue.stages.topic import TopicStage

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCES = (("b77", DATA / "banking77" / "train.csv"), ("clinc", DATA / "clinc150" / "train.csv"))
SIGMA = 0.02


def real_rows(oos: bool = False) -> tuple[list[str], list[str], list[str], list[str]]:
    """(train texts, train labels, test texts, test labels): the first 80% / last 20% per label
    (with CLINC150's out-of-scope rows, labeled `oos`, when `oos`)."""
    train_t: list[str] = []
    train_l: list[str] = []
    test_t: list[str] = []
    test_l: list[str] = []
    for prefix, path in SOURCES:
        by_label: dict[str, list[str]] = defaultdict(list)
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["intent"] != "oos":
                    by_label[f"{prefix}:{row['intent']}"].append(row["text"])
                elif oos:
                    by_label["oos"].append(row["text"])
        for label, texts in sorted(by_label.items()):
            cut = max(1, int(len(texts) * 0.8))
            train_t += texts[:cut]
            train_l += [label] * cut
            test_t += texts[cut:]
            test_l += [label] * (len(texts) - cut)
    return train_t, train_l, test_t, test_l


def variant_text(text: str, rng: np.random.Generator) -> str:
    words = text.split()
    kept = [w for w in words if rng.random() >= 0.2] or [words[int(rng.integers(len(words)))]]
    if len(kept) > 1:
        i = int(rng.integers(len(kept) - 1))
        kept[i], kept[i + 1] = kept[i + 1], kept[i]
    return " ".join(kept)


def training_set(
    n: int, texts: list[str], labels: list[str], vectors: np.ndarray, seed: int = 0
) -> tuple[list[str], list[str], np.ndarray]:
    """N rows: real ones first (a random subset when N is smaller), then derived variants."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(texts))
    if n <= len(texts):
        keep = np.sort(order[:n])
        return [texts[i] for i in keep], [labels[i] for i in keep], vectors[keep]
    sources = rng.integers(len(texts), size=n - len(texts))
    noise = rng.normal(0.0, SIGMA, size=(len(sources), vectors.shape[1])).astype(np.float32)
    noisy = vectors[sources] + noise
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    out_t = texts + [variant_text(texts[i], rng) for i in sources]
    out_l = labels + [labels[i] for i in sources]
    return out_t, out_l, np.vstack([vectors, noisy]).astype(np.float32)


def one(n: int, solver: str, landmarks: int) -> dict[str, object]:
    train_t, train_l, test_t, test_l = real_rows()
    embedder = default_embedder()
    vectors = embedder.embed(train_t)
    test_vectors = embedder.embed(test_t)
    texts, labels, train_vectors = training_set(n, train_t, train_l, vectors)
    del vectors
    batch = messages(texts, train_vectors)
    threshold = {"default": TopicStage().max_exact_rows, "exact": 10**9, "nystrom": 0}[solver]
    stage = TopicStage(max_exact_rows=threshold, landmarks=landmarks)
    started, cpu = time.perf_counter(), time.process_time()
    stage.fit(batch, labels)
    train_seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    proba = stage.predict_proba(messages(test_t, test_vectors))
    predicted = [stage.topics_[i] for i in proba.argmax(1)]
    scores = stage.decision_scores(messages(test_t, test_vectors))
    described = stage.describe()
    return {
        "rows": n,
        "solver": described["solver"],
        "kernel_rows": described["kernel_rows"],
        "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(cpu_seconds, 1),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "test_accuracy": round(float(np.mean([p == t for p, t in zip(predicted, test_l, strict=True)])), 4),
        "held_out_accuracy": described["cv_accuracy"],
        "mean_top_score": round(float(scores.max(1).mean()), 3),
        "n_test": len(test_l),
        "topics": described["topics"],
    }


def write_eval_files(n: int, out: Path) -> None:
    """`out/train.csv` (n rows, with the out-of-scope rows), `out/test.csv` (real held-out rows) and
    `out/cache/`, an embedding cache holding every vector (the variants' derived ones), so that
    `SUPPORTCUE_CACHE_DIR=out/cache supportcue eval classify|oos` run on them without embedding."""
    train_t, train_l, test_t, test_l = real_rows(oos=True)
    embedder = default_embedder()
    vectors = embedder.embed(train_t)
    test_vectors = embedder.embed(test_t)
    texts, labels, train_vectors = training_set(n, train_t, train_l, vectors)
    out.mkdir(parents=True, exist_ok=True)
    for name, (t, lab) in {"train": (texts, labels), "test": (test_t, test_l)}.items():
        with (out / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "intent"])
            writer.writerows(zip(t, lab, strict=True))
    (out / "cache").mkdir(exist_ok=True)
    db = sqlite3.connect(out / "cache" / f"embeddings-{MiniLMEmbedder.name}.sqlite")
    db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, v BLOB NOT NULL)")
    pairs = [*zip(texts, train_vectors, strict=True), *zip(test_t, test_vectors, strict=True)]
    db.executemany(
        "INSERT OR REPLACE INTO vec (key, v) VALUES (?, ?)",
        ((text_key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in pairs),
    )
    db.commit()
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 40_000, 160_000, 200_000])
    parser.add_argument("--solver", choices=["default", "exact", "nystrom"], default="default")
    parser.add_argument("--landmarks", type=int, default=TopicStage().landmarks)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--write-eval-files", type=Path, metavar="DIR", help="files for eval (first size)")
    args = parser.parse_args()
    if args.write_eval_files is not None:
        write_eval_files(args.sizes[0], args.write_eval_files)
        return
    if args.one is not None:
        print(json.dumps(one(args.one, args.solver, args.landmarks)), flush=True)
        return
    for n in args.sizes:
        command = [sys.executable, __file__, "--one", str(n), "--solver", args.solver]
        command += ["--landmarks", str(args.landmarks)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        print(done.stdout.strip() or json.dumps({"rows": n, "error": done.stderr[-2000:]}), flush=True)


if __name__ == "__main__":
    main()
