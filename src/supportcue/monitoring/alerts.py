"""The stored drift alerts (monitoring/drift.py) as Prometheus gauges, read at each scrape.

Only the alerts still raised recently count (`last_seen` within `RECENT` of the scrape): a monitor
should page on what is drifting now, not on last quarter's launch.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from supportcue.data.store import Store
from supportcue.data.tables import utcnow

RECENT = timedelta(days=30)
KINDS = ("new_topic_cluster", "topic_volume", "embedding_shift", "answer_match_drop")

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
