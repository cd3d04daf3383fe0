"""The library's "rewritten" proposal on Bitext: the medoid rewrite (what it was) against the
rewrites' consensus draft (`monitoring.library.common_edit`, what it is).

Per intent, a seeded shuffle of its replies: the first `--rewrites` play the agents' rewrites of an
answer, the next 60 are held out. Each proposal is scored against the held-out replies of its intent
(mean ROUGE-L F, rouge-score, no stemming; mean product `similarity`), and its length, the intents
whose proposal holds a run of 5 or more digits (an order or account number of one case: neither
method removes those, the reviewer does), and the consensus draft's time per answer are printed.

    PYTHONPATH=$PWD/src:$PWD/bench HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 nice .venv/bin/python \\
        bench/bench_library_proposal.py --seed 10 --rewrites 30
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from rouge_score import rouge_scorer

from supportcue.monitoring.library import MAX_REWRITES_COMPARED, common_edit
from supportcue.monitoring.match import similarity

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bitext" / "train.csv"
HELD_OUT = 60


def medoid(texts: Sequence[str]) -> str:
    """The proposal before: the rewrite most similar, on average, to the others."""
    return max(texts, key=lambda t: sum(similarity(t, o) for o in texts if o is not t))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--rewrites", type=int, default=30)
    args = parser.parse_args()
    by_intent: dict[str, list[str]] = defaultdict(list)
    with args.data.open(newline="") as f:
        for row in csv.DictReader(f):
            by_intent[row["intent"]].append(row["reply"])
    rng = random.Random(args.seed)
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    totals: dict[tuple[str, str], float] = defaultdict(float)
    digits: dict[str, int] = defaultdict(int)
    seconds = 0.0
    for _intent, replies in sorted(by_intent.items()):
        rng.shuffle(replies)
        rewrites, held_out = replies[: args.rewrites], replies[args.rewrites : args.rewrites + HELD_OUT]
        started = time.perf_counter()
        consensus = common_edit(rewrites) or ""
        seconds += time.perf_counter() - started
        for name, draft in (("medoid", medoid(rewrites[:MAX_REWRITES_COMPARED])), ("consensus", consensus)):
            rouge = [scorer.score(t, draft)["rougeL"].fmeasure for t in held_out]
            totals[name, "rougeL"] += sum(rouge) / len(rouge)
            totals[name, "similarity"] += sum(similarity(draft, t) for t in held_out) / len(held_out)
            totals[name, "words"] += len(draft.split())
            digits[name] += bool(re.search(r"\d{5,}", draft))
    n = len(by_intent)
    print(f"seed {args.seed}, {args.rewrites} rewrites per answer, {n} intents")
    for name in ("medoid", "consensus"):
        print(
            f"  {name:<9} ROUGE-L {totals[name, 'rougeL'] / n:.4f}  similarity "
            f"{totals[name, 'similarity'] / n:.4f}  words {totals[name, 'words'] / n:.0f}  "
            f"with a 5+ digit run {digits[name]}/{n}"
        )
    print(f"  consensus draft: {1000 * seconds / n:.0f} ms an answer")


if __name__ == "__main__":
    main()
