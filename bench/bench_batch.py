"""`supportcue batch` throughput: cases per second in this process vs on Ray's local mode.

A workspace (MiniLM) is trained on `--train` Banking77 rows (topic and response stages; validation
off, Banking77 has no non-questions), one approved answer per intent. Then, over `--rows` other
Banking77 texts as a cases file:

- `suggest`: `batch suggest` with the texts' vectors already in the workspace's embedding cache
  (copied from the shared cache, so the figure is the pipeline's own cost, not MiniLM's);
- `embed`: `batch embed` over `--embed-rows` texts into an empty cache (MiniLM's cost: what a
  back-fill of new history spends most of its time on).

Each runs in process, then on a local Ray cluster with `--workers` actors (a fresh copy of the
workspace each time, so nothing is skipped). Ray's start (~10 s) is timed apart from the job. Vectors
come from `$SUPPORTCUE_CACHE_DIR` (default ~/.cache/supportcue/embeddings), read only.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_batch.py [--rows 4000] [--embed-rows 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from supportcue.batch import run_batch
from supportcue.data.importer import import_file
from supportcue.data.store import open_store
from supportcue.embeddings import CachedEmbedder, MiniLMEmbedder
from supportcue.settings import get_settings, init_workspace, load_settings

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77" / "train.csv"
SHARED_CACHE = Path(
    os.environ.get("SUPPORTCUE_CACHE_DIR", Path.home() / ".cache" / "supportcue" / "embeddings")
)


def _rows() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def build_workspace(folder: Path, train: list[dict[str, str]], texts: list[str]) -> Path:
    """A trained workspace whose cache holds the vectors of `texts` and of the training rows."""
    from supportcue.training.loader import workspace_embedder
    from supportcue.training.trainer import Trainer

    ws = folder / "ws"
    init_workspace(ws)
    config = ws / "supportcue.toml"
    config.write_text(config.read_text().replace('validation = "live"', 'validation = "off"'))
    settings = load_settings(ws, environ={})
    shared = CachedEmbedder(MiniLMEmbedder(), SHARED_CACHE)
    own = CachedEmbedder(MiniLMEmbedder(), settings.cache_dir)
    wanted = texts + [r["text"] for r in train]
    own.put(wanted, shared.embed(wanted))  # all cached already: a lookup, no model
    shared.close()
    own.close()
    store = open_store(settings.database_url)
    cases = [
        {"id": f"t{i}", "message": r["text"], "created_at": f"2026-01-{1 + i % 28:02d}"}
        for i, r in enumerate(train)
    ]
    labels = [{"case_id": f"t{i}", "task": "topic", "value": r["intent"]} for i, r in enumerate(train)]
    intents = sorted({r["intent"] for r in train})
    answers = [
        {
            "id": f"a-{k}",
            "topic": k,
            "title": k,
            "body": f"Hi {{customer_name}}, about {k}: here is how.",
            "status": "approved",
        }
        for k in intents
    ]
    for kind, rows in (("cases", cases), ("labels", labels), ("answers", answers)):
        report = import_file(store, kind, _write(folder / f"{kind}.csv", rows))
        assert report.committed, report.as_dict()
    Trainer(store, settings, workspace_embedder(settings)).train(["topic", "response"])
    store.close()
    return ws


def timed_run(kind: str, ws: Path, file: Path, ray_address: str | None, workers: int) -> dict[str, Any]:
    get_settings.cache_clear()
    settings = load_settings(ws, environ={})
    store = open_store(settings.database_url)
    try:
        summary, _ = run_batch(kind, file, settings, store, ray_address=ray_address, workers=workers)
    finally:
        store.close()
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", type=int, default=3000)
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--embed-rows", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--jobs", nargs="+", choices=("suggest", "embed"), default=["suggest", "embed"])
    args = parser.parse_args()
    rows = _rows()
    train, rest = rows[: args.train], rows[args.train :]
    suggest_rows = rest[: args.rows]
    embed_rows = rest[args.rows : args.rows + args.embed_rows]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        base = build_workspace(folder, train, [r["text"] for r in suggest_rows])
        print(f"workspace trained on {len(train)} rows in {time.perf_counter() - t0:.1f} s", flush=True)
        files = {
            "suggest": _write(
                folder / "suggest.csv",
                [
                    {"id": f"s{i}", "message": r["text"], "customer_name": "Bo"}
                    for i, r in enumerate(suggest_rows)
                ],
            ),
            "embed": _write(
                folder / "embed.csv",
                [{"id": f"e{i}", "message": r["text"]} for i, r in enumerate(embed_rows)],
            ),
        }
        import ray

        results: dict[str, dict[str, Any]] = {}
        files = {kind: file for kind, file in files.items() if kind in args.jobs}
        for kind, file in files.items():
            for engine in ("in-process", "ray"):
                ws = folder / f"{kind}-{engine}"
                shutil.copytree(base, ws)
                if kind == "embed":
                    shutil.rmtree(ws / "cache")  # cold: every text goes through MiniLM
                started = 0.0
                if engine == "ray":
                    t0 = time.perf_counter()
                    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
                    started = time.perf_counter() - t0
                summary = timed_run(kind, ws, file, "local" if engine == "ray" else None, args.workers)
                if engine == "ray":
                    ray.shutdown()
                results[f"{kind}/{engine}"] = {
                    "cases": summary["processed"],
                    "seconds": summary["seconds"],
                    "cases_per_second": summary["cases_per_second"],
                    "ray_start_seconds": round(started, 1) if engine == "ray" else None,
                    "workers": summary.get("workers"),
                    "worker_seconds": summary.get("worker_seconds"),
                }
                print(json.dumps({"run": f"{kind}/{engine}", **results[f"{kind}/{engine}"]}), flush=True)
        for kind in files:
            here, there = results[f"{kind}/in-process"], results[f"{kind}/ray"]
            ratio = there["cases_per_second"] / here["cases_per_second"]
            print(
                f"{kind}: in-process {here['cases_per_second']:.0f}/s, ray local x{args.workers} "
                f"{there['cases_per_second']:.0f}/s (ratio {ratio:.2f})"
            )


if __name__ == "__main__":
    main()
