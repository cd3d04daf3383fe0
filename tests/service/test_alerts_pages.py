"""Drift alerts and lost coverage where people and monitors see them: /metrics gauges, the dashboard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from supportcue.data.store import Store
from supportcue.data.tables import utcnow


def _alert(kind: str, subject: str, days_ago: int, score: float) -> dict[str, Any]:
    seen = utcnow() - timedelta(days=days_ago)
    return {
        "kind": kind,
        "subject": subject,
        "first_seen": seen - timedelta(days=2),
        "last_seen": seen,
        "score": score,
        "threshold": 0.2,
        "details": {"answer_id": subject, "examples": []},
    }


def test_recent_alerts_are_prometheus_gauges(store: Store, client: TestClient) -> None:
    store.alerts.save(
        [
            _alert("answer_match_drop", "ans-1", 1, 0.4),
            _alert("topic_volume", "refunds", 2, 0.3),
            _alert("topic_volume", "old-news", 90, 0.9),  # last seen long ago: not paged on
        ]
    )
    text = client.get("/metrics").text
    assert 'supportcue_drift_alert_score{kind="answer_match_drop",subject="ans-1"} 0.4' in text
    assert 'supportcue_drift_alerts{kind="topic_volume"} 1.0' in text
    assert 'supportcue_drift_alerts{kind="new_topic_cluster"} 0.0' in text
    assert "old-news" not in text
