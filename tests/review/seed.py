"""A small store for the review tests: three topics, shown live suggestions, and one of each kind of
item active learning looks for (low confidence, near threshold, shadow disagreement, dismissed, a sent
reply that matched nothing, messages no topic claims)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from supportcue.data.store import Store
from supportcue.review.record import ReviewInput, submit
from supportcue.settings import Settings
from supportcue.vocab import Verdict

NOW = datetime.now(UTC).replace(microsecond=0)
TOPICS = {"payouts": 20, "refunds": 12, "login": 8}
"""Shown live suggestions per topic (confident, not otherwise doubtful)."""
PAUSE = "You can pause payouts in Settings > Payouts at any time."
NO_TOPIC = [
    "my crypto wallet transfer is stuck",
    "how do I connect a crypto wallet",
    "crypto wallet shows zero balance",
    "can I withdraw to my crypto wallet",
    "crypto wallet address rejected",
    "crypto wallet not supported?",
    "is the crypto wallet feature live",
    "crypto wallet fees question",
]


def _s(sid: str, case_id: str, minutes: float, **kw: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "case_id": case_id,
        "created_at": NOW - timedelta(days=2) + timedelta(minutes=minutes),
        "pipeline_version": "v1",
        "topic": None,
        "text": None,
        "confidence": 0.95,
        "abstained_at": None,
        "mode": "live",
        "shadow": {},
        "latency_ms": 1.0,
        **kw,
    }


def _e(key: str, case_id: str, kind: str, sid: str | None, minutes: float, **kw: Any) -> dict[str, Any]:
    ts = NOW - timedelta(days=2) + timedelta(minutes=minutes)
    return {
        "idempotency_key": key,
        "case_id": case_id,
        "kind": kind,
        "suggestion_id": sid,
        "ts": ts,
        "received_at": ts,
        **kw,
    }


def seed(store: Store) -> dict[str, Any]:
    """Load the store; returns what the tests look for."""
    store.library.upsert_topics([{"key": t, "name": t.title()} for t in TOPICS])
    cases: list[dict[str, Any]] = []
    suggestions: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    n = 0
    for topic, count in TOPICS.items():
        for i in range(count):
            n += 1
            cid, sid = f"{topic}-{i}", f"s-{topic}-{i}"
            cases.append({"id": cid, "message": f"question about {topic} number {i}", "customer_name": "Ana"})
            suggestions.append(
                _s(sid, cid, n, topic=topic, text=f"{PAUSE} ({topic})", answer_id=f"a-{topic}")
            )
            events.append(_e(f"shown-{sid}", cid, "shown", sid, n))
    special = {
        "low": _s("s-low", "c-low", 100, topic="payouts", text=PAUSE, confidence=0.3),
        "near": _s("s-near", "c-near", 101, topic="refunds", abstained_at="response", confidence=0.5),
        "shadow": _s(
            "s-shadow", "c-shadow", 102, topic="payouts", text=PAUSE, shadow={"text": "Refunds take 5 days."}
        ),
        "dismissed": _s(
            "s-dis", "c-dis", 103, topic="login", text="Reset your password from the login page."
        ),
        "unmatched": _s("s-unm", "c-unm", 104, topic="refunds", text="Refunds take five to seven days."),
    }
    for key, row in special.items():
        cases.append({"id": row["case_id"], "message": f"a {key} case", "customer_name": "Bo"})
        suggestions.append(row)
        if row["text"]:
            events.append(_e(f"shown-{row['id']}", row["case_id"], "shown", row["id"], 110))
    events.append(_e("dis", "c-dis", "dismissed", "s-dis", 111, reason="wrong_topic"))
    events.append(
        _e("sent-unm", "c-unm", "sent", "s-unm", 112, text="Your card was charged twice; I voided one.")
    )
    for i, text in enumerate(NO_TOPIC):
        cid = f"c-new-{i}"
        cases.append({"id": cid, "message": text, "customer_name": "Cy"})
        suggestions.append(_s(f"s-new-{i}", cid, 120 + i, abstained_at="topic", mode="none", confidence=0.2))
    store.cases.upsert(cases)
    store.cases.add_suggestions(suggestions)
    store.events.add_many(events)
    return {"special": special, "no_topic": [f"c-new-{i}" for i in range(len(NO_TOPIC))]}


VERDICTS_RANDOM = ["correct"] * 16 + ["partially_correct"] * 2 + ["incorrect"] * 2
"""20 random-sample items, first reviews: 16 correct."""


def stats_fixture(store: Store) -> tuple[list[str], np.ndarray]:
    """20 random items (14 payouts, 6 refunds), 5 active-learning ones (all incorrect: must not count),
    and a blind overlap of rita and sam on 6 items; returns the random items and the verdict matrix
    (reviewers x items, ordinal codes) of every review."""
    store.library.upsert_topics([{"key": "payouts", "name": "P"}, {"key": "refunds", "name": "R"}])
    rows = []
    for n in range(20):
        rows.append(
            {
                "id": f"ri_r{n:02}",
                "key": f"suggestion:r{n}",
                "kind": "suggestion",
                "reason": "random",
                "topic": "payouts" if n < 14 else "refunds",
                "created_at": NOW,
            }
        )
    for n in range(5):
        rows.append(
            {
                "id": f"ri_a{n}",
                "key": f"suggestion:a{n}",
                "kind": "suggestion",
                "reason": "low_confidence",
                "created_at": NOW,
            }
        )
    store.reviews.add_items(rows)
    s = Settings()
    for n, verdict in enumerate(VERDICTS_RANDOM):
        submit(store, s, ReviewInput(f"ri_r{n:02}", Verdict(verdict)), "user:rita", now=NOW)
    for n in range(5):
        submit(store, s, ReviewInput(f"ri_a{n}", Verdict.INCORRECT), "user:rita", now=NOW)
    # sam reviews 6 of rita's random items (second reviews: agreement only, not precision)
    sam = {
        0: "correct",
        1: "partially_correct",
        16: "correct",
        17: "partially_correct",
        18: "incorrect",
        19: "correct",
    }
    for n, verdict in sam.items():
        submit(store, s, ReviewInput(f"ri_r{n:02}", Verdict(verdict)), "user:sam", now=NOW)
    code = {"incorrect": 0, "partially_correct": 1, "correct": 2}
    items = [f"ri_r{n:02}" for n in range(20)] + [f"ri_a{n}" for n in range(5)]
    matrix = np.full((2, len(items)), np.nan)
    for n, verdict in enumerate(VERDICTS_RANDOM):
        matrix[0, n] = code[verdict]
    matrix[0, 20:] = 0
    for n, verdict in sam.items():
        matrix[1, n] = code[verdict]
    return items, matrix
