"""Time the online metrics (GET /v1/metrics, the dashboard) over 1,000,000 events and their suggestions,
on a temporary SQLite file and on PostgreSQL (a schema of its own, dropped after).

.venv/bin/python bench/bench_metrics.py [--events 1000000] [--pg postgresql://postgres@127.0.0.1:5432/test]
                                        [--no-pg]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from supportcue.data.database import normalise_url
from supportcue.data.store import Store, open_store
from supportcue.data.tables import Event, Suggestion
from supportcue.monitoring import metrics
from supportcue.monitoring.metrics import compute_dashboard, compute_report
from supportcue.settings import Settings

T0 = datetime(2026, 9, 7, tzinfo=UTC)
TOPICS = [f"topic_{i:02d}" for i in range(20)]
ANSWERS = [
    f"You can {verb} your {thing} from the Dashboard under Settings, and it takes effect {when}."
    for verb in ("pause", "update", "close", "verify", "export")
    for thing in ("payouts", "bank account", "invoices", "webhooks")
    for when in ("at once", "the next business day")
]
REASONS = ["wrong_topic", "outdated", "tone", "not_needed"]


def generate(n_events: int, seed: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Suggestions and their events (shown, inserted or dismissed, sent, resolved) up to `n_events`."""
    rng = random.Random(seed)
    suggestions: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    i = 0
    while len(events) < n_events:
        case_id, sid = f"case-{i:07d}", f"sug-{i:07d}"
        at = T0 + timedelta(seconds=i * 19 + rng.randint(0, 18))
        stop = rng.choices([None, "validation", "topic", "response"], [0.7, 0.12, 0.12, 0.06])[0]
        answer = rng.choice(ANSWERS)
        suggestions.append(
            {
                "id": sid,
                "case_id": case_id,
                "created_at": at,
                "pipeline_version": rng.choice(["p:v1", "p:v2"]),
                "topic": None if stop == "validation" else rng.choice(TOPICS),
                "text": None if stop else answer,
                "abstained_at": stop,
                "mode": "none" if stop else "live",
                "shadow": {},
                "latency_ms": rng.lognormvariate(3.0, 0.5),
                "arm": rng.choice(["control", "treatment"]),
                "simulated": False,
            }
        )

        def add(kind: str, case_id: str = case_id, sid: str = sid, at: datetime = at, **kw: Any) -> None:
            key = uuid.UUID(int=rng.getrandbits(128)).hex
            row = {"caller": "key:bench", "idempotency_key": key, "case_id": case_id, "suggestion_id": sid}
            row["kind"] = kind
            events.append({**row, "ts": at, "text": None, "reason": None, **kw})

        if not stop:
            add("shown")
            roll = rng.random()
            if roll < 0.45:
                add("inserted")
            elif roll < 0.6:
                add("dismissed", reason=rng.choice(REASONS))
        sent = answer if rng.random() < 0.5 else rng.choice(ANSWERS) + " Let me know if anything is unclear."
        add("sent", text=f"Hi there,\n{sent}\nBest,\nSam")
        add("resolved", handle_seconds=float(rng.randint(60, 900)))
        i += 1
    return suggestions, events[:n_events]


def load(store: Store, suggestions: list[dict[str, Any]], events: list[dict[str, Any]]) -> float:
    start = time.perf_counter()
    store.db.upsert(Suggestion, suggestions, ["id"])
    store.db.upsert(Event, events, ["caller", "idempotency_key"])
    return time.perf_counter() - start


def timed(label: str, fn: Any) -> dict[str, Any]:
    start = time.perf_counter()
    result: dict[str, Any] = fn()
    print(f"  {label:<44} {time.perf_counter() - start:6.2f} s")
    return result


def bench(name: str, store: Store, suggestions: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    print(f"{name}: loading {len(suggestions):,} suggestions and {len(events):,} events ...")
    print(f"  {'load':<44} {load(store, suggestions, events):6.2f} s")
    settings = Settings()
    metrics._CACHE.clear()  # each backend starts cold
    r = timed("compute_report (cold: similarities computed)", lambda: compute_report(store, settings))
    timed("compute_report (warm: similarity cache)", lambda: compute_report(store, settings))
    timed("compute_report group_by=topic", lambda: compute_report(store, settings, group_by="topic"))
    timed(
        "compute_report since=last 7 days",
        lambda: compute_report(store, settings, since=T0 + timedelta(days=50)),
    )
    timed("compute_dashboard (the /dashboard page's query)", lambda: compute_dashboard(store, settings))
    print(
        f"  -> match rate {r['match_rate']} over {r['sent_pairs']:,} scored of {r['sent_pairs_total']:,} sent"
        f" (sampled: {r['match_sampled']}), adoption {r['adoption']}, coverage {r['coverage']},"
        f" p50 {r['latency_ms']['p50']} ms, p99 {r['latency_ms']['p99']} ms"
    )


@contextmanager
def pg_schema(url: str) -> Iterator[str]:
    schema = "bench_" + uuid.uuid4().hex[:10]
    admin = create_engine(normalise_url(url))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    suggestions, events = generate(args.events)
    print(
        f"generated {len(suggestions):,} suggestions, {len(events):,} events"
        f" in {time.perf_counter() - start:.1f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        try:
            bench("SQLite", store, suggestions, events)
        finally:
            store.close()
    if not args.no_pg:
        with pg_schema(args.pg) as url:
            store = open_store(url)
            try:
                bench("PostgreSQL", store, suggestions, events)
            finally:
                store.close()


if __name__ == "__main__":
    main()
