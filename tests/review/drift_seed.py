"""A small history on which `supportcue drift` raises alerts (for the alert review-item tests): three
weeks of payouts and refunds questions; in the last week the payouts answer stops matching what
agents send (a policy change), and messages about a crypto wallet no topic claims arrive (a launch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.review.seed import NO_TOPIC

from supportcue.data.store import Store

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
START = TODAY - timedelta(days=21)
CHANGE = START + timedelta(days=14)
PAUSE = "You can pause payouts in Settings > Payouts at any time."
NOW_SENT = "Payouts can no longer be paused; write to us and we change the schedule for you."
REFUND = "Refunds reach your account within five business days."


def seed_drift(store: Store) -> dict[str, Any]:
    """Load the history; returns the ids the tests look for (`unmatched`: the payouts suggestions whose
    sent reply did not match, `wallet`: the unclaimed wallet cases)."""
    store.library.upsert_topics(
        [{"key": "payouts", "name": "Payouts"}, {"key": "refunds", "name": "Refunds"}]
    )
    store.library.upsert_answers(
        [
            {
                "id": "a-pay",
                "topic": "payouts",
                "title": "Pause payouts",
                "body": PAUSE,
                "status": "approved",
            },
            {
                "id": "a-ref",
                "topic": "refunds",
                "title": "Refund timing",
                "body": REFUND,
                "status": "approved",
            },
        ]
    )
    cases, suggestions, events = [], [], []
    unmatched, wallet = [], []
    for day in range(21):
        at = START + timedelta(days=day, hours=9)
        rows: list[tuple[str, str | None, str | None, str | None, str | None]] = []
        for i in range(4):
            late = day >= 14
            rows.append(
                (
                    f"how do I pause my payouts, question {day}-{i}",
                    "payouts",
                    "a-pay",
                    PAUSE,
                    NOW_SENT if late else PAUSE,
                )
            )
            rows.append(
                (f"when will my refund arrive, question {day}-{i}", "refunds", "a-ref", REFUND, REFUND)
            )
        if day >= 14:
            rows += [(NO_TOPIC[(day * 3 + i) % len(NO_TOPIC)], None, None, None, None) for i in range(3)]
        for n, (message, topic, answer, text, sent) in enumerate(rows):
            cid, sid = f"d{day}-{n}", f"sd{day}-{n}"
            ts = at + timedelta(minutes=5 * n)
            cases.append({"id": cid, "message": message, "customer_name": "Ana", "created_at": ts})
            suggestions.append(
                {
                    "id": sid,
                    "case_id": cid,
                    "created_at": ts,
                    "pipeline_version": "v1",
                    "topic": topic,
                    "answer_id": answer,
                    "text": text,
                    "confidence": 0.9 if topic else 0.2,
                    "abstained_at": None if topic else "topic",
                    "mode": "live" if topic else "none",
                    "shadow": {},
                    "latency_ms": 1.0,
                }
            )
            if topic is None:
                wallet.append(cid)
                continue
            sent_at = ts + timedelta(minutes=2)
            events.append(
                {
                    "idempotency_key": f"shown-{sid}",
                    "case_id": cid,
                    "kind": "shown",
                    "suggestion_id": sid,
                    "ts": ts,
                    "received_at": ts,
                }
            )
            events.append(
                {
                    "idempotency_key": f"sent-{sid}",
                    "case_id": cid,
                    "kind": "sent",
                    "suggestion_id": sid,
                    "text": sent,
                    "ts": sent_at,
                    "received_at": sent_at,
                }
            )
            if sent != text:
                unmatched.append(sid)
    store.cases.upsert(cases)
    store.cases.add_suggestions(suggestions)
    store.events.add_many(events)
    return {"unmatched": unmatched, "wallet": wallet}
