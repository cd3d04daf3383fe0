"""Import 100,000 cases into a fresh SQLite workspace and time it (target: under a minute).

.venv/bin/python bench/bench_import.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from pathlib import Path

from supportcue.data.importer import import_file
from supportcue.data.store import open_store

WORDS = [
    "payout",
    "refund",
    "card",
    "declined",
    "webhook",
    "invoice",
    "fee",
    "account",
    "verify",
    "dispute",
    "bank",
    "transfer",
    "api",
    "key",
]


def make_file(path: Path, rows: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "message", "customer_name", "created_at", "channel", "order_id", "reply"])
        for i in range(rows):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 40))) + "?"
            writer.writerow(
                [
                    f"case-{i:07d}",
                    text,
                    f"Customer {i % 997}",
                    f"2026-10-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                    rng.choice(["email", "chat"]),
                    f"ord_{i:08d}",
                    "Hi! " + text,
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "cases.csv"
        make_file(src, args.rows)
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        start = time.perf_counter()
        report = import_file(store, "cases", src)
        first = time.perf_counter() - start
        start = time.perf_counter()
        import_file(store, "cases", src)
        again = time.perf_counter() - start
        assert store.db.count("cases") == args.rows
        print(
            f"import {args.rows:,} cases (+ {store.db.count('events'):,} sent events) into SQLite: "
            f"{first:.1f} s "
            f"({args.rows / first:,.0f} rows/s); re-import of the same file: {again:.1f} s, "
            f"stored {report.stored:,}, duplicates created: {store.db.count('cases') - args.rows}"
        )


if __name__ == "__main__":
    main()
