"""Review items for drift alerts: what a reviewer is asked when `supportcue drift` raises an alert.

`queue_alert_items(store, settings, alerts)` turns each stored alert's examples (`details`, see
`monitoring/drift.py`) into review items of reason `drift_alert` that name the alert (`alert_id`):

* `new_topic_cluster`: the cluster as a `cluster` item (is it one topic, and which?), and its example
  messages as `message` items (valid? which topic?);
* `answer_match_drop`: recent suggestions of the answer whose sent reply did not match them, as
  `suggestion` items (is the answer still right? the reply the agent sent beside it);
* `topic_volume`, `embedding_shift`: a few messages of the shifted window (spread over it), as
  `message` items with the topic the pipeline gave them.

At most `[drift] review_items` items per alert, counted over every run: an alert raised again on later
days adds items only while it has fewer, and an item's key (`alert:<id>:<subject>`) makes a re-run
add nothing twice. Cases gone (purged) are skipped.

A team that uses only the API (`POST /v1/suggest` on case ids supportcue never stored, or on none)
has no case to read: its examples' items read the message their suggestion kept, masked
(`pipeline.masked_message`; `details.message_from` names that suggestion), never the raw one, and are
skipped once it is purged. A review of such an item becomes labels on that masked text.

These are active-learning items, chosen because something drifted: like the queue's other
non-random reasons they are biased, so they never enter the random sample behind the online precision
estimate (`review/stats.py` reads `reason = random` only). Their keys are their own, so an alert never
takes over an item the random sample drew (which stays `random`); the same case may then be asked
about twice, once for each reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from supportcue.data.store import Store
from supportcue.data.tables import DriftAlert, utcnow
from supportcue.review.queue import item_row
from supportcue.settings import Settings
from supportcue.vocab import ReviewKind, ReviewReason

SCORE = 0.85
"""Queue order within the `drift_alert` reason (the reasons take turns; higher first)."""


def _wanted(alert: DriftAlert) -> list[dict[str, Any]]:
    """The items an alert asks for, most useful first, as {key, kind, case_id, message_from?,
    suggestion_id?, topic?, details?} (keys without the `alert:<id>:` prefix); `message_from` is the
    suggestion whose kept message stands in for a case supportcue never stored."""
    d = alert.details or {}
    out: list[dict[str, Any]] = []
    if alert.kind == "new_topic_cluster":
        case_ids = [str(c) for c in d.get("case_ids", []) if c]
        suggestion_ids = [str(s) for s in d.get("suggestion_ids", []) if s]
        if case_ids or suggestion_ids:
            terms = list(d.get("top_terms") or [])
            details = {"case_ids": case_ids, "terms": terms, "suggestion_ids": suggestion_ids}
            first = {
                "case_id": case_ids[0] if case_ids else None,
                "message_from": suggestion_ids[0] if suggestion_ids else None,
            }
            out.append({"key": "cluster", "kind": ReviewKind.CLUSTER, **first, "details": details})
        out += [_message(e) for e in d.get("examples", []) if e.get("case_id") or e.get("suggestion_id")]
    elif alert.kind == "answer_match_drop":
        out += [
            {
                "key": f"suggestion:{u['suggestion_id']}",
                "kind": ReviewKind.SUGGESTION,
                "case_id": str(u["case_id"]) if u.get("case_id") else None,
                "suggestion_id": str(u["suggestion_id"]),
                "message_from": str(u["suggestion_id"]),
            }
            for u in reversed(d.get("unmatched", []))  # the newest first
            if u.get("suggestion_id")
        ]
    else:  # topic_volume, embedding_shift
        out += [
            {**_message(c), "topic": c.get("topic")}
            for c in d.get("cases", [])
            if c.get("case_id") or c.get("suggestion_id")
        ]
    return out


def _message(example: dict[str, Any]) -> dict[str, Any]:
    """A `message` item of an example {case_id?, suggestion_id?}: its case's message, or else (no case
    stored) the one its suggestion kept (`message_from`)."""
    case_id = str(example["case_id"]) if example.get("case_id") else None
    sid = str(example["suggestion_id"]) if example.get("suggestion_id") else None
    key = f"message:{case_id}" if case_id else f"message:suggestion:{sid}"
    return {"key": key, "kind": ReviewKind.MESSAGE, "case_id": case_id, "message_from": sid}


def queue_alert_items(
    store: Store, settings: Settings, alerts: Sequence[DriftAlert], now: datetime | None = None
) -> int:
    """Queue the review items of stored alerts (see the module docstring); returns how many were added."""
    cap = settings.drift.review_items
    if cap <= 0 or not alerts:
        return 0
    now = now or utcnow()
    have = store.reviews.alert_item_ids([a.id for a in alerts])
    wanted = {a.id: _wanted(a) for a in alerts}
    keys = [f"alert:{a.id}:{w['key']}" for a in alerts for w in wanted[a.id]]
    known = store.reviews.known_keys(keys)
    case_ids = sorted({w["case_id"] for ws in wanted.values() for w in ws if w.get("case_id")})
    cases = store.reviews.cases(case_ids)
    kept = store.cases.suggestion_messages(
        sorted({w["message_from"] for ws in wanted.values() for w in ws if w.get("message_from")})
    )
    sent = store.reviews.sent_events(
        [
            w["case_id"]
            for ws in wanted.values()
            for w in ws
            if w["kind"] == ReviewKind.SUGGESTION and w.get("case_id")
        ]
    )
    rows: list[dict[str, Any]] = []
    for a in alerts:
        room = cap - len(have.get(a.id, []))
        for w in wanted[a.id]:
            key = f"alert:{a.id}:{w['key']}"
            case = cases.get(w["case_id"]) if w.get("case_id") else None
            if room <= 0:
                break
            if key in known or (case is not None and case.purged_at is not None):
                continue
            details = dict(w.get("details") or {})
            if case is None:  # no case stored (an API-only team): the message its suggestion kept
                if w.get("message_from") not in kept:
                    continue
                details["message_from"] = w["message_from"]
            topic = w.get("topic")
            simulated = bool(case.simulated) if case is not None else False
            if w["kind"] == ReviewKind.SUGGESTION:
                suggestion = store.cases.suggestion(w["suggestion_id"])
                if suggestion is None or suggestion.purged_at is not None:
                    continue
                topic = suggestion.topic
                simulated = simulated or bool(suggestion.simulated)
                if w.get("case_id") in sent:
                    details["event_id"] = sent[w["case_id"]]
            rows.append(
                item_row(
                    settings,
                    key,
                    w["kind"],
                    ReviewReason.DRIFT_ALERT,
                    SCORE,
                    now,
                    case_id=w.get("case_id"),
                    suggestion_id=w.get("suggestion_id"),
                    topic=topic,
                    details=details,
                    simulated=simulated,
                    alert_id=a.id,
                )
            )
            room -= 1
    store.reviews.add_items(rows)
    return len(rows)
