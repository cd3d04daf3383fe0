"""The stored drift alerts (monitoring/drift.py) as people and monitors see them: Prometheus gauges
read at each scrape, and `describe` for /library, the dashboard and GET /v1/alerts.

Only the alerts still raised recently count (`last_seen` within `RECENT`): a monitor should page on
what is drifting now, not on last quarter's launch.

`describe` shows an alert with the review items it created (`review/alert_items.py`; the queue
filtered to them is `/review?alert=ID`), a candidate new topic's top terms, and a few example
messages read from their cases (so a purge empties them), or from the suggestions when their case is
not stored (an API-only team's: kept masked, and emptied by the purge too), with personal data
replaced by placeholders (`llm/privacy.py`'s `Masker`: emails, card numbers, IBANs, phone numbers,
order-like ids and the customer's name, as the LLM modes mask what they send).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from supportcue.data.store import Store
from supportcue.data.tables import Case, DriftAlert, utcnow
from supportcue.llm.privacy import Masker

RECENT = timedelta(days=30)
KINDS = ("new_topic_cluster", "topic_volume", "embedding_shift", "answer_match_drop")
EXAMPLES = 3
"""An alert's example messages shown."""
EXAMPLE_CHARS = 200

log = logging.getLogger("supportcue.monitoring")


class AlertCollector(Collector):
    """`supportcue_drift_alerts{kind}` (how many), `supportcue_drift_alert_score{kind,subject}` and
    `supportcue_drift_alert_threshold{kind,subject}` of the alerts seen in the last 30 days."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        count = GaugeMetricFamily(
            "supportcue_drift_alerts", "Drift alerts seen in the last 30 days", labels=["kind"]
        )
        score = GaugeMetricFamily(
            "supportcue_drift_alert_score", "A recent drift alert's score", labels=["kind", "subject"]
        )
        threshold = GaugeMetricFamily(
            "supportcue_drift_alert_threshold", "The threshold its score crossed", labels=["kind", "subject"]
        )
        try:
            now = utcnow()
            alerts = [a for a in self.store.alerts.list() if a.last_seen >= now - RECENT]
        except Exception as exc:  # a scrape must not fail because the database is down
            log.warning("drift alerts: %s", type(exc).__name__)
            return
        kinds = Counter(a.kind for a in alerts)
        for kind in KINDS:
            count.add_metric([kind], kinds[kind])
        for a in alerts:
            score.add_metric([a.kind, a.subject], a.score)
            threshold.add_metric([a.kind, a.subject], a.threshold)
        yield from (count, score, threshold)


def _example_refs(a: DriftAlert) -> list[tuple[str | None, str | None]]:
    """(case id, suggestion id) of the alert's first examples: the message is read from the case,
    or, for a suggestion whose case is not stored (an API-only team's), from the suggestion."""
    d = a.details or {}
    listed = d.get("examples") or d.get("cases") or []
    refs = [
        (
            str(e["case_id"]) if e.get("case_id") else None,
            str(e["suggestion_id"]) if e.get("suggestion_id") else None,
        )
        for e in listed
        if isinstance(e, dict)
    ]
    return [r for r in refs if r != (None, None)][:EXAMPLES]


def _example(
    cases: Mapping[str, Case], kept: Mapping[str, str], case_id: str | None, sid: str | None
) -> str | None:
    """One example message, personal data masked; None when it is gone (purged)."""
    case = cases.get(case_id) if case_id else None
    if case is not None:
        if case.purged_at is None and case.message:
            return Masker(customer_name=case.customer_name).mask(case.message)[:EXAMPLE_CHARS]
        return None
    message = kept.get(sid) if sid else None
    return Masker().mask(message)[:EXAMPLE_CHARS] if message else None


def describe(store: Store, alerts: Sequence[DriftAlert]) -> list[dict[str, Any]]:
    """Each alert as /library, the dashboard and GET /v1/alerts show it: kind, subject, score against
    threshold, first and last seen, the answer (an `answer_match_drop`), top terms (a
    `new_topic_cluster`), a few example messages (redacted), and its review items (ids, how many
    reviewed, the queue's URL)."""
    ids = [a.id for a in alerts]
    items = store.reviews.alert_item_ids(ids)
    counts = store.reviews.alert_item_counts(ids)
    wanted = {a.id: _example_refs(a) for a in alerts}
    cases = store.reviews.cases(sorted({c for rs in wanted.values() for c, _ in rs if c}))
    kept = store.cases.suggestion_messages(
        sorted({sid for rs in wanted.values() for c, sid in rs if sid and (c is None or c not in cases)})
    )
    out = []
    for a in alerts:
        d = a.details or {}
        found = (_example(cases, kept, c, sid) for c, sid in wanted.get(a.id, []))
        examples = [e for e in found if e]
        out.append(
            {
                "id": a.id,
                "kind": a.kind,
                "subject": a.subject,
                "first_seen": a.first_seen,
                "last_seen": a.last_seen,
                "score": a.score,
                "threshold": a.threshold,
                "answer_id": d.get("answer_id") if a.kind == "answer_match_drop" else None,
                "top_terms": list(d.get("top_terms") or []) if a.kind == "new_topic_cluster" else [],
                "examples": examples,
                "review_item_ids": items.get(a.id, []),
                "reviewed_items": counts.get(a.id, (0, 0))[1],
                "review_url": f"/review?alert={a.id}",
            }
        )
    return out
