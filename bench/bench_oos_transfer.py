"""Cross-domain checks of out-of-scope detection: the threshold is chosen on one kind of out-of-scope
message and tested on kinds it never saw, as a proxy for real traffic.

- `hwu`: HWU64 scenarios (the intent's prefix, `general` left out) are shuffled with the seed and
  split: half are in scope, a fifth give --val's out-of-scope rows, the rest are unseen and, with
  every `general_*` chit-chat row, the test's out-of-scope rows. In-scope rows: HWU64's `train`
  split trains, its `valid` split is halved into --val and test.
- `banking`: Banking77 in scope (80% per label trains, 10% --val, 10% test); --val's out-of-scope rows
  are CLINC150's val `oos` rows; the test's are HWU64 `general_*` chit-chat and the HWU64 rows of
  scenarios no bank handles (alarm, audio, calendar, cooking, iot, lists, music, play, recommendation,
  takeaway, weather).

Neither uses `general_*` as a training negative; the negatives are the package's built-in ones and
the demo's. Reads /work/shared/data; never copies it into the project.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_oos_transfer.py [--check hwu|banking|all] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections import defaultdict
from pathlib import Path

import numpy as np

from supportcue.eval.labeled import Labeled, default_embedder
from supportcue.eval.oos import OosDetector, negative_sources

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OOS = "oos"
NOT_BANKING = (
    "alarm",
    "audio",
    "calendar",
    "cooking",
    "iot",
    "lists",
    "music",
    "play",
    "recommendation",
    "takeaway",
    "weather",
)


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def labeled(name: str, rows: list[tuple[str, str]]) -> Labeled:
    return Labeled(Path(name), [t for t, _ in rows], [label for _, label in rows])


def halves(
    rows: list[tuple[str, str]], rng: random.Random
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Rows split in two halves per label."""
    by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        by_label[row[1]].append(row)
    first, second = [], []
    for _, group in sorted(by_label.items()):
        rng.shuffle(group)
        first += group[: len(group) // 2]
        second += group[len(group) // 2 :]
    return first, second


def hwu_check(seed: int) -> tuple[Labeled, Labeled, Labeled]:
    rng = random.Random(seed)
    rows = read(DATA / "hwu64" / "hwu64.csv")
    scenarios = sorted({r["intent"].split("_")[0] for r in rows} - {"general"})
    rng.shuffle(scenarios)
    n_in, n_val = len(scenarios) // 2, len(scenarios) // 5
    inside, val_oos = set(scenarios[:n_in]), set(scenarios[n_in : n_in + n_val])
    scenario = {r["intent"]: r["intent"].split("_")[0] for r in rows}
    train = [
        (r["text"], r["intent"]) for r in rows if scenario[r["intent"]] in inside and r["split"] == "train"
    ]
    held = [
        (r["text"], r["intent"]) for r in rows if scenario[r["intent"]] in inside and r["split"] != "train"
    ]
    val_in, test_in = halves(held, rng)
    val = val_in + [
        (r["text"], OOS) for r in rows if scenario[r["intent"]] in val_oos and r["split"] != "train"
    ]
    unseen = inside | val_oos
    test = test_in + [
        (r["text"], OOS) for r in rows if scenario[r["intent"]] not in unseen and r["split"] != "train"
    ]
    return labeled("hwu train", train), labeled("hwu val", val), labeled("hwu test", test)


def banking_check(seed: int) -> tuple[Labeled, Labeled, Labeled]:
    rng = random.Random(seed)
    by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in read(DATA / "banking77" / "train.csv"):
        by_label[r["intent"] if "intent" in r else r["label"]].append(
            (r["text"], r.get("intent") or r["label"])
        )
    train, val, test = [], [], []
    for _, group in sorted(by_label.items()):
        rng.shuffle(group)
        cut = len(group) // 10
        val += group[:cut]
        test += group[cut : 2 * cut]
        train += group[2 * cut :]
    val += [(r["text"], OOS) for r in read(DATA / "clinc150" / "val.csv") if r["intent"] == OOS]
    test += [
        (r["text"], OOS)
        for r in read(DATA / "hwu64" / "hwu64.csv")
        if r["intent"].startswith("general_") or r["intent"].split("_")[0] in NOT_BANKING
    ]
    return labeled("banking77 train", train), labeled("banking77 val", val), labeled("banking77 test", test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", choices=("hwu", "banking", "all"), default="all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target-recall", type=float, default=0.9)
    args = parser.parse_args()
    embedder = default_embedder()
    sources = negative_sources(embedder)
    checks = {"hwu": hwu_check, "banking": banking_check}
    hwu = read(DATA / "hwu64" / "hwu64.csv")
    chitchat = {r["text"] for r in hwu if r["intent"].startswith("general_")}
    for name in checks if args.check == "all" else [args.check]:
        train, val, test = checks[name](args.seed)
        vectors = [embedder.embed(part.texts) for part in (train, val, test)]
        detector = OosDetector(target_recall=args.target_recall, seed=args.seed).fit(
            train, vectors[0], val, vectors[1], sources, OOS
        )
        metrics = detector.evaluate(test, vectors[2])
        rejected = detector.decide(test.texts, vectors[2]).rejected
        kinds = ["chit-chat" if t in chitchat else "other intents" for t in test.texts]
        oos_rows = [i for i, label in enumerate(test.labels) if label == OOS]
        by_kind = {
            kind: round(float(np.mean([rejected[i] for i in oos_rows if kinds[i] == kind])), 4)
            for kind in sorted({kinds[i] for i in oos_rows})
        }
        result = {
            "check": name,
            "seed": args.seed,
            "n_train": len(train.labels),
            "n_val": len(val.labels),
            "n_test": len(test.labels),
            "n_test_oos": test.labels.count(OOS),
            "threshold": round(detector.threshold, 4),
            "calibration": detector.calibration_,
            **{k: round(v, 4) for k, v in metrics.items()},
            "oos_recall_by_kind": by_kind,
        }
        print(json.dumps(result))


if __name__ == "__main__":
    main()
