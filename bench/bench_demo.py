"""The demo workspace, held out in time: train every stage on the labels of cases before the cut, then
run the pipeline on the cases after it and compare each suggestion with the reply the agent really sent.

    .venv/bin/python bench/bench_demo.py [--cut 2026-10-19] [--workspace /tmp/demo-bench]

Reports the validation and topic accuracy on the held-out cases (against the generator's truth), the
coverage (share of held-out actionable cases with a suggestion) and the match rate of those
suggestions (the product's match definition, monitoring/match.py).
"""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, select

from supportcue.data.store import open_store
from supportcue.data.tables import Case, Label
from supportcue.demo.generator import generate
from supportcue.demo.workspace import build_demo_workspace
from supportcue.monitoring.match import similarity
from supportcue.pipeline import SuggestRequest
from supportcue.settings import load_settings
from supportcue.training.loader import load_pipeline, workspace_embedder
from supportcue.training.trainer import Trainer
from supportcue.weak.workspace import apply_to_cases, label_cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cut", default="2026-10-19")
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/demo-bench"))
    parser.add_argument("--no-weak", action="store_true", help="train on expert labels only")
    args = parser.parse_args()
    cut = datetime.fromisoformat(args.cut).replace(tzinfo=UTC)
    shutil.rmtree(args.workspace, ignore_errors=True)
    build_demo_workspace(args.workspace, train=False)
    settings = load_settings(args.workspace)
    store = open_store(settings.database_url)
    with store.db.session() as s:  # the future is unknown at training time: drop its labels
        later = select(Case.id).where(Case.created_at >= cut)
        s.execute(delete(Label).where(Label.case_id.in_(later)))
    start = time.perf_counter()
    if not args.no_weak:
        label_cases(store, settings, apply_to_cases(store, settings, "topic", progress=False))
        with store.db.session() as s:  # weak labels only for the past, too
            s.execute(delete(Label).where(Label.case_id.in_(select(Case.id).where(Case.created_at >= cut))))
    embedder = workspace_embedder(settings)
    Trainer(store, settings, embedder).train()
    train_s = time.perf_counter() - start
    pipeline = load_pipeline(store, settings, embedder)
    truth = {c.id: c for c in generate(7).cases}
    held = [c for c in store.cases.list(since=cut) if truth[c.id].sent_reply is not None]
    results = pipeline.suggest_batch(
        [
            SuggestRequest(message=c.message, case_id=c.id, customer_name=c.customer_name, fields=c.fields)
            for c in held
        ]
    )
    valid_ok = topic_ok = topic_n = shown = matched = actionable = 0
    for case, r in zip(held, results, strict=True):
        t = truth[case.id]
        said_valid = r.abstained_at != "validation"
        valid_ok += said_valid == t.valid
        if t.valid:
            actionable += 1
            if r.topic is not None:
                topic_n += 1
                topic_ok += r.topic == t.topic
            if r.text is not None:
                shown += 1
                matched += similarity(r.text, t.sent_reply or "", t.customer_name) >= settings.match.threshold
    print(
        f"held out: {len(held)} cases from {args.cut} on ({actionable} actionable); training {train_s:.0f} s"
        f"{' (expert labels only)' if args.no_weak else ' (expert + weak labels)'}"
    )
    print(
        f"validation accuracy {valid_ok / len(held):.3f}; topic accuracy where it answered "
        f"{topic_ok / max(1, topic_n):.3f} ({topic_n} answered)"
    )
    print(
        f"coverage {shown / actionable:.1%} of actionable held-out cases get a suggestion; "
        f"{matched / max(1, shown):.1%} of those match what the agent sent "
        f"(match rate over all actionable: {matched / actionable:.1%})"
    )


if __name__ == "__main__":
    main()
