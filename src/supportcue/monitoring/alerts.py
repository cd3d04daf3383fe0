"""The stored drift alerts (monitoring/drift.py) as people and monitors see them: Prometheus gauges
read at each scrape, and `describe` for /library, the dashboard and GET /v1/alerts.

Only the alerts still raised recently count (`last_seen` within `RECENT`): a monitor should page on
what is drifting now, not on last quarter's launch.

`describe` shows an alert with the review items it created (`review/alert_items.py`; the queue
filtered to them is `/review?alert=ID`), a candidate new topic's top terms, and a few example
messages read from their cases (so a purge empties them) with personal data replaced by placeholders
(`llm/privacy.py`'s `Masker`: emails, card numbers, IBANs, phone numbers, order-like ids and the
customer's name, as the LLM modes mask what they send).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from supportcue.data.store import Store
from supportcue.data.tables import DriftAlert, utcnow
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


def _example_cases(a: DriftAlert) -> list[str]:
    d = a.details or {}
    listed = d.get("examples") or d.get("cases") or []
    return [str(e["case_id"]) for e in listed if isinstance(e, dict) and e.get("case_id")][:EXAMPLES]


def describe(store: Store, alerts: Sequence[DriftAlert]) -> list[dict[str, Any]]:
    """Each alert as /library, the dashboard and GET /v1/alerts show it: kind, subject, score against
    threshold, first and last seen, the answer (an `answer_match_drop`), top terms (a
    `new_topic_cluster`), a few example messages (redacted), and its review items (ids, how many
    reviewed, the queue's URL)."""
    ids = [a.id for a in alerts]
    items = store.reviews.alert_item_ids(ids)
    counts = store.reviews.alert_item_counts(ids)
    wanted = {a.id: _example_cases(a) for a in alerts}
    cases = store.reviews.cases(sorted({c for cs in wanted.values() for c in cs}))
    out = []
    for a in alerts:
        d = a.details or {}
        examples = [
            Masker(customer_name=cases[c].customer_name).mask(cases[c].message)[:EXAMPLE_CHARS]
            for c in wanted.get(a.id, [])
            if c in cases and cases[c].purged_at is None and cases[c].message
        ]
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
