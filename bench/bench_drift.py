"""Detection delays of `supportcue drift` on the demo: its week-5 launch (instant payouts) and week-6
policy change (ans-payout_schedule-1 outdated), and any alert raised in weeks 1-4 (false alarms).

    .venv/bin/python bench/bench_drift.py [--embedding tfidf|minilm] [--workspace DIR]

Without --workspace, the demo is built the cheap way the tests use (the generated history replayed
through a pipeline that knows the truth, tests/demo/oracle.py) in a temporary folder; with it, the
alerts of an existing demo workspace (`supportcue demo --no-serve`, trained models) are measured.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from supportcue.data.store import open_store  # noqa: E402
from supportcue.demo import generate  # noqa: E402
from supportcue.demo.simulate import EXPERIMENT_WEEKS, simulate_history  # noqa: E402
from supportcue.demo.workspace import load_demo  # noqa: E402
from supportcue.monitoring.drift import detect  # noqa: E402
from supportcue.settings import init_workspace, load_settings  # noqa: E402
from supportcue.training.loader import workspace_embedder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--embedding", choices=("tfidf", "minilm"), default="tfidf")
    parser.add_argument("--workspace", type=Path)
    args = parser.parse_args()
    data = generate(seed=7)
    folder = args.workspace or Path(tempfile.mkdtemp()) / "demo"
    if args.workspace is None:
        from tests.demo.oracle import oracle_pipeline

        init_workspace(folder)
        store = open_store(load_settings(folder, environ={}).database_url)
        load_demo(store, data)
        simulate_history(store, oracle_pipeline(data), data, seed=7, experiment_weeks=EXPERIMENT_WEEKS)
    settings = load_settings(folder, environ={"SUPPORTCUE_EMBEDDING__MODEL": args.embedding})
    store = open_store(settings.database_url)
    started = time.perf_counter()
    rows = store.alerts.rows(None, None)
    alerts = detect(rows, workspace_embedder(settings, cache=False), settings.drift, settings.match.threshold)
    seconds = time.perf_counter() - started
    launch = min(c.created_at for c in data.cases if c.topic == data.new_topic_key)
    week5 = data.start + timedelta(weeks=4)
    print(f"{len(rows):,} suggestions, embedding {args.embedding}, {seconds:.1f} s")
    change = data.policy_change_at
    print(f"launch: first {data.new_topic_key} message {launch:%Y-%m-%d %H:%M}; change {change:%Y-%m-%d}")
    for a in alerts:
        after = None
        if a.kind == "new_topic_cluster" or (a.kind == "topic_volume" and a.subject == data.new_topic_key):
            after = a.first_seen - launch
        elif a.subject == data.outdated_answer_id:
            after = a.first_seen - data.policy_change_at
        delay = f"{after.total_seconds() / 86400:.1f} days after" if after is not None else ""
        false = " FALSE ALARM (weeks 1-4)" if a.first_seen <= week5 else ""
        seen = f"first {a.first_seen:%Y-%m-%d} last {a.last_seen or a.first_seen:%Y-%m-%d}"
        print(f"{a.kind:18} {a.subject[:40]:40} {seen} score {a.score:.3f} >= {a.threshold}  {delay}{false}")


if __name__ == "__main__":
    main()
