"""Simulated subject-matter experts for the demo: they work the review queue at the demo's end, so
`supportcue review stats` and the dashboard have an online precision estimate to show.

The queue is refreshed as of the demo's last day (`[review] window_days` back), then two simulated
reviewers (`simulated:sme-1`, `simulated:sme-2`) review every random-sample item and the most
informative active-learning ones; the second one only the blind-overlap items. A reviewer judges from
the demo's truth: `incorrect` when the suggestion's topic is wrong, `partially_correct` when the
topic is right but the answer is not the one the agent started from (or is the outdated answer after
the policy change), `correct` otherwise; a message's validity and topic are the truth; each reviewer errs on
`ERROR_RATE` of items (a random verdict), so their agreement is high but not perfect. Their reviews
become `sme` labels like any reviewer's.
"""

from __future__ import annotations

import random
from typing import Any

from supportcue.data.store import Store
from supportcue.demo.model import DemoCase, DemoData
from supportcue.errors import ReviewError
from supportcue.review.queue import refresh
from supportcue.review.record import ReviewInput, submit
from supportcue.settings import Settings
from supportcue.vocab import ReviewKind, ReviewReason, Verdict

REVIEWERS = ("simulated:sme-1", "simulated:sme-2")
ERROR_RATE = 0.05
ACTIVE_ITEMS = 30


def _verdict(c: DemoCase, suggestion: Any, data: DemoData) -> Verdict:
    outdated = suggestion.answer_id == data.outdated_answer_id and c.created_at >= data.policy_change_at
    if c.topic is None or suggestion.topic != c.topic:
        return Verdict.INCORRECT
    if outdated or (c.sent_answer_id is not None and suggestion.answer_id != c.sent_answer_id):
        return Verdict.PARTIALLY_CORRECT
    return Verdict.CORRECT


def _review(item: Any, store: Store, data: DemoData, cases: dict[str, DemoCase]) -> ReviewInput | None:
    c = cases.get(item.case_id or "")
    if c is None:
        return None
    if item.kind == ReviewKind.SUGGESTION:
        s = store.cases.suggestion(item.suggestion_id)
        if s is None or not s.text:
            return ReviewInput(item.id, Verdict.INCORRECT if c.valid else Verdict.CORRECT, topic=c.topic)
        return ReviewInput(item.id, _verdict(c, s, data), topic=c.topic)
    if item.kind == ReviewKind.MESSAGE:
        right = c.topic is not None and item.topic == c.topic
        return ReviewInput(
            item.id, Verdict.CORRECT if right else Verdict.INCORRECT, topic=c.topic, valid=c.valid
        )
    topics = [cases[i].topic for i in item.details.get("case_ids", []) if i in cases]
    main = max(set(topics), key=topics.count) if topics else None
    if main is None or topics.count(main) < 0.8 * len(topics):
        return ReviewInput(item.id, Verdict.INCORRECT)
    return ReviewInput(item.id, Verdict.CORRECT, topic=main)


def simulate_reviews(store: Store, settings: Settings, data: DemoData, seed: int = 0) -> dict[str, int]:
    """Queue the demo's last `window_days` and review it as described above; returns counts."""
    rng = random.Random(seed)
    refresh(store, settings, data.end)
    cases = {c.id: c for c in data.cases}
    items = [i for kind in ReviewKind for i in store.reviews.items_of_kind(kind)]
    randoms = [i for i in items if i.reason == ReviewReason.RANDOM]
    active = sorted((i for i in items if i.reason != ReviewReason.RANDOM), key=lambda i: -i.score)
    chosen = randoms + active[:ACTIVE_ITEMS]
    done = 0
    for item in chosen:
        for reviewer in REVIEWERS[: item.reviews_wanted]:
            review = _review(item, store, data, cases)
            if review is None:
                continue
            if rng.random() < ERROR_RATE:
                review.verdict = rng.choice(list(Verdict))
            try:
                submit(store, settings, review, reviewer, now=data.end)
            except ReviewError:  # a topic the workspace lacks (the launched product's, say)
                review.topic = None
                submit(store, settings, review, reviewer, now=data.end)
            done += 1
    return {"items": len(chosen), "random": len(randoms), "reviews": done}
