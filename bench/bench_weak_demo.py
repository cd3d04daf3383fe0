"""Weak supervision on the demo workspace: how many unlabeled cases the labeling functions' label model
labels, and how accurately, against the generator's ground truth (which the functions never see).

    .venv/bin/python bench/bench_weak_demo.py [--workspace /tmp/demo-weak]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from supportcue.data.store import open_store
from supportcue.demo.generator import generate
from supportcue.demo.workspace import build_demo_workspace
from supportcue.settings import load_settings
from supportcue.weak.apply import ABSTAIN_INDEX
from supportcue.weak.label_model import choose_label_model
from supportcue.weak.workspace import apply_to_cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/demo-weak"))
    args = parser.parse_args()
    if not (args.workspace / "supportcue.toml").exists():
        build_demo_workspace(args.workspace, train=False)
    settings = load_settings(args.workspace)
    store = open_store(settings.database_url)
    truth = {c.id: c for c in generate(7).cases}
    for task in ("topic", "validity"):
        start = time.perf_counter()
        run = apply_to_cases(store, settings, task, progress=False)
        L = run.applied.matrix
        gold_rows = np.where(run.gold != ABSTAIN_INDEX)[0]
        choice = choose_label_model(
            L, gold_rows, run.gold[gold_rows], cardinality=len(run.applied.label_names)
        )
        probs = choice.model.predict_proba(L)
        seconds = time.perf_counter() - start
        predicted = [run.applied.label_names[i] for i in probs.argmax(axis=1)]
        confidence = probs.max(axis=1)
        voted = (L != ABSTAIN_INDEX).any(axis=1)
        unlabeled = [i for i, g in enumerate(run.gold) if g == ABSTAIN_INDEX]
        if task == "topic":
            unlabeled = [i for i in unlabeled if truth[run.cases[i]].valid]
            right = {i: predicted[i] == truth[run.cases[i]].topic for i in unlabeled}
        else:
            right = {
                i: predicted[i] == ("valid" if truth[run.cases[i]].valid else "invalid") for i in unlabeled
            }
        print(
            f"{task}: {len(run.applied.lf_names)} functions, "
            f"model {choice.name} {choice.scores}, {seconds:.1f} s"
        )
        for bar in (0.0, 0.5, 0.7, 0.9):
            chosen = [i for i in unlabeled if voted[i] and confidence[i] >= bar]
            acc = np.mean([right[i] for i in chosen]) if chosen else float("nan")
            print(
                f"  confidence >= {bar:.1f}: labels {len(chosen) / len(unlabeled):.1%} of unlabeled cases, "
                f"accuracy {acc:.3f}"
            )


if __name__ == "__main__":
    main()
