"""Simulated history for the demo: what the dashboard would have shown had the assistant been live.

`simulate_history` replays the demo's resolved cases through the pipeline (in batches, so messages
are embedded together), stores each suggestion at its case's time, and simulates what the agent did
with it as events, all marked `simulated`:

- `shown` when the pipeline made a live suggestion;
- `inserted` with a probability that depends on the topic, and mostly when the suggestion really is
  the reply the agent sent (agents use good suggestions; they rarely insert a wrong one);
- the outdated answer (`data.outdated_answer_id`) is dismissed as "outdated" after
  `data.policy_change_at`; other unused suggestions are sometimes dismissed (wrong topic / tone /
  not needed);
- the new topic (`data.new_topic_key`) gets no suggestion until the first retraining a week after
  its launch (the model could not have known it);
- `sent` is the reply the agent really sent (`DemoCase.sent_reply`), so the match rate compares
  suggestions with real replies; `resolved` carries the handle time, shorter when inserted.

The demo loader's own `sent` / `resolved` events are updated in place (same idempotency keys), so
each case still has one of each. Deterministic for a seed; re-running changes nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from supportcue.data.store import Store
from supportcue.demo.model import DemoCase, DemoData
from supportcue.monitoring.match import DEFAULT_THRESHOLD, similarity
from supportcue.pipeline import Pipeline, SuggestRequest
from supportcue.vocab import CaseStatus, EventKind, SuggestionMode

RETRAIN_AFTER = timedelta(days=7)
"""A topic launched mid-demo is unknown to the models until this long after its launch."""
OUTDATED_DISMISS = 0.85
INSERT_WRONG = 0.04
DISMISS_UNUSED = 0.3


def _topic_rates(data: DemoData, seed: int) -> dict[str, float]:
    """Each topic's insert probability for a good suggestion, between 0.3 and 0.9."""
    return {t.key: 0.3 + 0.6 * random.Random(f"{seed}:{t.key}").random() for t in data.topics}


def _uncovered(row: dict[str, Any], until: datetime) -> None:
    row.update(
        text=None,
        topic=None,
        confidence=None,
        answer_id=None,
        mode=SuggestionMode.NONE,
        abstained_at="topic",
        reason=f"simulated: the topic model did not know this topic before {until:%Y-%m-%d}",
    )


def _agent(
    c: DemoCase, row: dict[str, Any], rng: random.Random, data: DemoData, rate: float, threshold: float
) -> list[dict[str, Any]]:
    """What the agent did with the suggestion on this case, as event rows."""
    sid, t = row["id"], c.created_at
    done = c.created_at + timedelta(seconds=c.handle_seconds)
    events: list[dict[str, Any]] = []
    inserted = False

    def add(kind: str, key: str, ts: datetime, **fields: Any) -> None:
        events.append(
            {
                "idempotency_key": key,
                "case_id": c.id,
                "suggestion_id": sid,
                "kind": kind,
                "text": fields.get("text"),
                "reason": fields.get("reason"),
                "agent_id": c.agent_id,
                "handle_seconds": fields.get("handle_seconds"),
                "ts": ts,
                "simulated": True,
            }
        )

    if row["text"] is not None:
        add(EventKind.SHOWN, f"sim:{c.id}:shown", t + timedelta(seconds=3))
        score = similarity(row["text"], c.sent_reply, c.customer_name) if c.sent_reply else 0.0
        outdated = row["answer_id"] == data.outdated_answer_id and c.created_at >= data.policy_change_at
        reason: str | None = None
        if outdated:
            reason = "outdated" if rng.random() < OUTDATED_DISMISS else None
        elif rng.random() < (rate if score >= threshold else INSERT_WRONG):
            inserted = True
            add(EventKind.INSERTED, f"sim:{c.id}:inserted", t + timedelta(seconds=rng.randint(8, 40)))
        elif rng.random() < DISMISS_UNUSED:
            wrong = row["topic"] != c.topic
            reason = "wrong_topic" if wrong else rng.choice(("tone", "not_needed", "not_needed"))
        if reason:
            add(
                EventKind.DISMISSED,
                f"sim:{c.id}:dismissed",
                t + timedelta(seconds=rng.randint(5, 30)),
                reason=reason,
            )
    handle = round(c.handle_seconds * (rng.uniform(0.55, 0.8) if inserted else 1.0))
    if c.sent_reply:
        add(EventKind.SENT, f"demo:{c.id}:sent", done - timedelta(seconds=5), text=c.sent_reply)
    add(
        EventKind.RESOLVED,
        f"demo:{c.id}:resolved",
        c.created_at + timedelta(seconds=handle),
        handle_seconds=float(handle),
    )
    return events


def simulate_history(
    store: Store,
    pipeline: Pipeline,
    data: DemoData,
    seed: int = 0,
    batch_size: int = 64,
    threshold: float = DEFAULT_THRESHOLD,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Replay the resolved demo cases through `pipeline` and store suggestions and agent events."""
    started = time.perf_counter()
    rng = random.Random(seed)
    rates = _topic_rates(data, seed)
    open_ids = {c.id for c in store.cases.list(status=CaseStatus.OPEN)}
    cases = sorted((c for c in data.cases if c.id not in open_ids), key=lambda c: (c.created_at, c.id))
    launch = {t.key: t.launched_at for t in data.topics if t.launched_at is not None}
    agents = {a.id: a.name for a in data.agents}
    suggestions: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for start in range(0, len(cases), batch_size):
        batch: Sequence[DemoCase] = cases[start : start + batch_size]
        requests = [
            SuggestRequest(
                message=c.message,
                case_id=c.id,
                customer_name=c.customer_name,
                agent_name=agents.get(c.agent_id),
                fields=dict(c.fields),
            )
            for c in batch
        ]
        for c, result in zip(batch, pipeline.suggest_batch(requests), strict=True):
            row = {**result.row(), "id": f"sim-{c.id}", "created_at": c.created_at, "simulated": True}
            known_from = launch.get(c.topic or "")
            if known_from is not None and c.created_at < known_from + RETRAIN_AFTER and row["text"]:
                _uncovered(row, known_from + RETRAIN_AFTER)
            suggestions.append(row)
            events += _agent(c, row, rng, data, rates.get(c.topic or "", 0.5), threshold)
        if progress and (start // batch_size) % 10 == 0:
            progress(f"simulated {min(start + batch_size, len(cases)):,} / {len(cases):,} cases")
    with store.db.session() as session:
        store.cases.add_suggestions(suggestions, session=session)
        update = ["suggestion_id", "simulated", "handle_seconds", "ts"]
        store.events.add_many(events, update, session=session)
    kinds: dict[str, int] = {}
    for e in events:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    return {
        "cases": len(cases),
        "suggestions": len(suggestions),
        "live": sum(1 for s in suggestions if s["text"] is not None),
        "events": kinds,
        "seconds": round(time.perf_counter() - started, 2),
    }
