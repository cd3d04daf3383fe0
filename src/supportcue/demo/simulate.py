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
  suggestions with real replies; `resolved` carries the handle time, shorter when inserted (by a
  factor drawn from `SPEEDUP`).

With `experiment_weeks`, the last weeks of the history are a controlled experiment (`EXPERIMENT`,
stopped when the open cases begin): each case's arm comes from the experiment's hash, the control
arm's suggestions are computed in shadow and never shown (so never inserted, and never faster), and
the summary gives the effect built in: the expected treatment-over-control change in mean handle
time over the experiment's cases (`true_lift`), which `supportcue experiment analyze` should find.

The demo loader's own `sent` / `resolved` events are updated in place (same idempotency keys), so
each case still has one of each. Deterministic for a seed; re-running changes nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from supportcue.data.store import Store
from supportcue.demo.model import DemoCase, DemoData
from supportcue.experiments import Assignment, Design, choose_arm, with_assignment
from supportcue.monitoring.match import DEFAULT_THRESHOLD, similarity
from supportcue.pipeline import Pipeline, SuggestRequest
from supportcue.vocab import HOLDOUT, CaseStatus, EventKind, ExperimentStatus, SuggestionMode

RETRAIN_AFTER = timedelta(days=7)
"""A topic launched mid-demo is unknown to the models until this long after its launch."""
OUTDATED_DISMISS = 0.85
INSERT_WRONG = 0.04
DISMISS_UNUSED = 0.3
SPEEDUP = (0.55, 0.8)
"""A case whose suggestion the agent inserted takes this share of its usual handle time (uniform)."""
EXPERIMENT = "suggestions-holdout"
EXPERIMENT_WEEKS = 3
"""The demo's experiment covers the history's last weeks (`supportcue demo` runs it)."""


def demo_experiment(data: DemoData, stop: datetime, weeks: int = EXPERIMENT_WEEKS) -> Design:
    """The demo's experiment: half the cases of the last `weeks` before `stop` see no suggestion.
    (Every simulated case is resolved, so resolution is not among its metrics.)"""
    design = Design.create(
        EXPERIMENT,
        ["control", "treatment"],
        [50, 50],
        metrics=["handle_seconds", "first_reply_seconds", "match_rate"],
        started_at=max(data.start, stop - timedelta(weeks=weeks)),
        simulated=True,
    )
    return replace(design, status=ExperimentStatus.STOPPED, ended_at=stop)


def _topic_rates(data: DemoData, seed: int) -> dict[str, float]:
    """Each topic's insert probability for a good suggestion, between 0.3 and 0.9."""
    return {t.key: 0.3 + 0.6 * random.Random(f"{seed}:{t.key}").random() for t in data.topics}


def _uncovered(row: dict[str, Any], until: datetime) -> None:
    if row["abstained_at"] == HOLDOUT:  # the control arm's shadow suggestion could not exist either
        row["shadow"] = {
            **row["shadow"],
            "text": None,
            "topic": None,
            "answer_id": None,
            "abstained_at": "topic",
        }
        return
    row.update(
        text=None,
        topic=None,
        confidence=None,
        answer_id=None,
        mode=SuggestionMode.NONE,
        abstained_at="topic",
        reason=f"simulated: the topic model did not know this topic before {until:%Y-%m-%d}",
    )


def _would_be_text(row: dict[str, Any]) -> str | None:
    """The suggestion's text: shown, or computed in shadow for the control arm."""
    if row["text"] is not None:
        return str(row["text"])
    shadow = row.get("shadow") or {}
    return shadow.get("text") if row["abstained_at"] == HOLDOUT else None


def _insert_chance(c: DemoCase, text: str | None, rate: float, threshold: float) -> float:
    """The chance that the agent inserts `text` once shown (0 without one): agents use good
    suggestions, rarely a wrong one, and never the outdated answer after the policy change."""
    if text is None:
        return 0.0
    score = similarity(text, c.sent_reply, c.customer_name) if c.sent_reply else 0.0
    return rate if score >= threshold else INSERT_WRONG


def _agent(
    c: DemoCase, row: dict[str, Any], rng: random.Random, data: DemoData, rate: float, threshold: float
) -> list[dict[str, Any]]:
    """What the agent did with the suggestion on this case, as event rows."""
    sid, t = row["id"], c.created_at
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
        reason: str | None = None
        if _outdated(c, row, data):
            reason = "outdated" if rng.random() < OUTDATED_DISMISS else None
        elif rng.random() < _insert_chance(c, row["text"], rate, threshold):
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
    handle = round(c.handle_seconds * (rng.uniform(*SPEEDUP) if inserted else 1.0))
    if c.sent_reply:  # sent just before the case is resolved (sooner when the suggestion was used)
        sent_at = c.created_at + timedelta(seconds=max(1, handle - 5))
        add(EventKind.SENT, f"demo:{c.id}:sent", sent_at, text=c.sent_reply)
    add(
        EventKind.RESOLVED,
        f"demo:{c.id}:resolved",
        c.created_at + timedelta(seconds=handle),
        handle_seconds=float(handle),
    )
    return events


def _outdated(c: DemoCase, row: dict[str, Any], data: DemoData) -> bool:
    return bool(row["answer_id"] == data.outdated_answer_id and c.created_at >= data.policy_change_at)


def _expected_handle(
    c: DemoCase, row: dict[str, Any], data: DemoData, rate: float, threshold: float
) -> float:
    """The case's expected handle time had its suggestion been shown (the treatment arm's)."""
    chance = 0.0 if _outdated(c, row, data) else _insert_chance(c, _would_be_text(row), rate, threshold)
    return c.handle_seconds * (1 - chance * (1 - sum(SPEEDUP) / 2))


def simulate_history(
    store: Store,
    pipeline: Pipeline,
    data: DemoData,
    seed: int = 0,
    batch_size: int = 64,
    threshold: float = DEFAULT_THRESHOLD,
    progress: Callable[[str], None] | None = None,
    experiment_weeks: int = 0,
) -> dict[str, Any]:
    """Replay the resolved demo cases through `pipeline` and store suggestions and agent events;
    with `experiment_weeks`, the last weeks are the demo's experiment (see the module's docstring)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    rates = _topic_rates(data, seed)
    open_cases = store.cases.list(status=CaseStatus.OPEN)
    open_ids = {c.id for c in open_cases}
    cases = sorted((c for c in data.cases if c.id not in open_ids), key=lambda c: (c.created_at, c.id))
    stop = min((c.created_at for c in open_cases), default=data.end)
    design = demo_experiment(data, stop, experiment_weeks) if experiment_weeks else None
    launch = {t.key: t.launched_at for t in data.topics if t.launched_at is not None}
    agents = {a.id: a.name for a in data.agents}
    suggestions: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    assigned: list[dict[str, Any]] = []
    expected: list[tuple[float, float]] = []
    # The stages read the replay's time, not today's: an answer is overdue for review from its due
    # date in the history (before it, it is suggested as it would have been).
    now = [cases[0].created_at if cases else data.start]
    for stage in pipeline.stages.values():
        if stage is not None and "clock" in stage.services:
            stage.clock = lambda: now[0]  # type: ignore[attr-defined]
    for start in range(0, len(cases), batch_size):
        batch: Sequence[DemoCase] = cases[start : start + batch_size]
        now[0] = batch[0].created_at
        arms = [_arm(design, c) for c in batch]
        requests = [
            with_assignment(
                SuggestRequest(
                    message=c.message,
                    case_id=c.id,
                    customer_name=c.customer_name,
                    agent_name=agents.get(c.agent_id),
                    fields=dict(c.fields),
                ),
                arm,
            )
            for c, arm in zip(batch, arms, strict=True)
        ]
        for c, arm, result in zip(batch, arms, pipeline.suggest_batch(requests), strict=True):
            row = {**result.row(), "id": f"sim-{c.id}", "created_at": c.created_at, "simulated": True}
            known_from = launch.get(c.topic or "")
            if known_from is not None and c.created_at < known_from + RETRAIN_AFTER and _would_be_text(row):
                _uncovered(row, known_from + RETRAIN_AFTER)
            suggestions.append(row)
            rate = rates.get(c.topic or "", 0.5)
            events += _agent(c, row, rng, data, rate, threshold)
            if arm is not None:
                assigned.append({"case_id": c.id, "arm": arm.arm, "assigned_at": c.created_at})
                expected.append((_expected_handle(c, row, data, rate, threshold), float(c.handle_seconds)))
        if progress and (start // batch_size) % 10 == 0:
            progress(f"simulated {min(start + batch_size, len(cases)):,} / {len(cases):,} cases")
    with store.db.session() as session:
        store.cases.add_suggestions(suggestions, session=session)
        update = ["suggestion_id", "simulated", "handle_seconds", "ts"]
        store.events.add_many(events, update, session=session)
        if design is not None and store.experiments.get(design.key) is None:
            store.experiments.create(design.row(), session=session)
        if design is not None:
            store.experiments.record(design.key, assigned, session=session)
    kinds: dict[str, int] = {}
    for e in events:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    summary: dict[str, Any] = {
        "cases": len(cases),
        "suggestions": len(suggestions),
        "live": sum(1 for s in suggestions if s["text"] is not None),
        "events": kinds,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if design is not None:
        treated, usual = (sum(x) for x in zip(*expected, strict=True)) if expected else (0.0, 0.0)
        summary["experiment"] = {
            "name": design.key,
            "cases": len(assigned),
            "start": design.started_at,
            "stop": design.ended_at,
            "true_lift": treated / usual - 1 if usual else None,
        }
    return summary


def _arm(design: Design | None, c: DemoCase) -> Assignment | None:
    """The case's arm in the demo's experiment, for a case created while it ran."""
    if design is None or design.started_at is None or design.ended_at is None:
        return None
    if not design.started_at <= c.created_at < design.ended_at:
        return None
    arm = choose_arm(design, c.id)
    return None if arm is None else Assignment(design.key, arm, arm == design.control)
