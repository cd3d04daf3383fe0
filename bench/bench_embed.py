"""Embedding throughput and single-message latency: sentence-transformers (torch) vs ONNX Runtime
fp32 and int8, on Banking77 texts, measured in the same run with the backends alternating.

    PYTHONPATH=src .venv/bin/python bench/bench_embed.py [--texts 2048] [--rounds 3] [--batch 64]

Bulk: each round embeds the same `--texts` Banking77 messages once per backend (batch `--batch`,
no cache), in turn, so a busy machine slows all of them alike; the figure is texts/s per round and
the median ratio to sentence-transformers. Single: p50 of embedding one message at a time (what
serving does), `--single` messages per backend. Also checks the vectors: fp32 cosine to
sentence-transformers' (should be 1 within 1e-4), int8 mean and minimum cosine.

Reads /work/shared/data (never copied into the project). The ONNX files are exported on first use
(see src/supportcue/onnx_embedder.py); that time is reported apart and not counted.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import time
from pathlib import Path

import numpy as np

from supportcue.embeddings import Embedder, MiniLMEmbedder
from supportcue.onnx_embedder import OnnxMiniLMEmbedder, cpu_threads

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def banking77(n: int, seed: int = 0) -> list[str]:
    with (DATA / "banking77" / "train.csv").open(encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    return random.Random(seed).sample(texts, min(n, len(texts)))


def single_p50(embedder: Embedder, texts: list[str]) -> float:
    times = []
    for text in texts:
        started = time.perf_counter()
        embedder.embed([text])
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--single", type=int, default=200)
    args = parser.parse_args()
    import torch

    print(f"cores {cpu_threads()}, torch threads {torch.get_num_threads()}")
    texts = banking77(args.texts)
    backends: dict[str, Embedder] = {
        "sentence-transformers": MiniLMEmbedder(batch_size=args.batch, device="cpu"),
        "onnx fp32": OnnxMiniLMEmbedder(batch_size=args.batch, device="cpu"),
        "onnx int8": OnnxMiniLMEmbedder(batch_size=args.batch, int8=True, device="cpu"),
    }
    vectors = {}
    for name, embedder in backends.items():
        started = time.perf_counter()
        vectors[name] = embedder.embed(texts[:256])  # loads (and on first use exports) the model
        print(f"{name}: loaded in {time.perf_counter() - started:.1f} s (with 256 texts)")
    reference = vectors["sentence-transformers"]
    for name in ("onnx fp32", "onnx int8"):
        cosine = np.sum(vectors[name] * reference, axis=1)
        print(f"{name}: cosine to sentence-transformers mean {cosine.mean():.6f}, min {cosine.min():.6f}")

    rates: dict[str, list[float]] = {name: [] for name in backends}
    for round_ in range(args.rounds):
        for name, embedder in backends.items():
            started = time.perf_counter()
            embedder.embed(texts)
            rates[name].append(len(texts) / (time.perf_counter() - started))
        print(f"round {round_ + 1}: " + ", ".join(f"{n} {r[-1]:.0f}/s" for n, r in rates.items()), flush=True)
    base = rates["sentence-transformers"]
    print(f"\nbulk, {len(texts)} Banking77 texts at batch {args.batch}, median of {args.rounds} rounds:")
    for name, rate in rates.items():
        ratios = [r / b for r, b in zip(rate, base, strict=True)]
        print(f"  {name}: {statistics.median(rate):.0f} texts/s ({statistics.median(ratios):.2f}x)")

    single = texts[: args.single]
    print(f"\nsingle message, p50 of {len(single)} (alternating):")
    p50s: dict[str, list[float]] = {name: [] for name in backends}
    for part in range(4):
        chunk = single[part::4]
        for name, embedder in backends.items():
            p50s[name].append(single_p50(embedder, chunk))
    for name, values in p50s.items():
        print(f"  {name}: {statistics.median(values):.2f} ms")


if __name__ == "__main__":
    main()
