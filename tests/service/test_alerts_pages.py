"""Drift alerts and lost coverage where people and monitors see them: /metrics gauges, the dashboard."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from supportcue.data.store import Store
from supportcue.data.tables import utcnow
from tests.service.conftest import T0


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


def _suggestion(sid: str, topic: str | None, day: int, **kw: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "case_id": f"case-{sid}",
        "created_at": T0 + timedelta(days=day, minutes=int(sid.split("-")[-1])),
        "pipeline_version": "p1",
        "topic": topic,
        "latency_ms": 5.0,
        **kw,
    }


def seed_silenced_topic(store: Store) -> None:
    """The demo's failed_payouts story: its only answer went overdue, so its 122 suggestions showed
    nothing, while refunds is shown and little used (what the old dashboard named the weak spot)."""
    store.library.upsert_answers(
        [
            {
                "id": "ans-failed-1",
                "topic": "failed_payouts",
                "title": "Failed payout",
                "body": "b",
                "status": "approved",
                "owner": "maria",
                "review_due_at": T0 - timedelta(days=10),
            },
            {
                "id": "ans-refund-1",
                "topic": "refunds",
                "title": "Refund",
                "body": "b",
                "status": "approved",
                "owner": "li",
                "review_due_at": utcnow() + timedelta(days=3),
            },
            {"id": "ans-old-1", "topic": "disputes", "title": "Disputes", "body": "b", "status": "retired"},
        ]
    )
    rows = [
        _suggestion(
            f"f-{i}",
            "failed_payouts",
            i % 3,
            abstained_at="response",
            reason="answer ans-failed-1 overdue for review since 2026-09-21",
        )
        for i in range(122)
    ]
    rows += [
        _suggestion(f"r-{i}", "refunds", i % 3, text="Refunds take a week.", answer_id="ans-refund-1")
        for i in range(30)
    ]
    rows += [
        _suggestion(
            f"d-{i}", "disputes", 0, abstained_at="response", reason="no approved answer for topic 'disputes'"
        )
        for i in range(4)
    ]
    rows += [
        _suggestion(f"v-{i}", None, 1, abstained_at="validation", reason="greeting only") for i in range(6)
    ]
    rows += [_suggestion(f"t-{i}", None, 2, abstained_at="topic", reason="low confidence") for i in range(5)]
    rows += [
        _suggestion(f"s-{i}", "refunds", 6, text="x", simulated=True, latency_ms=900.0) for i in range(3)
    ]
    rows += [_suggestion(f"c-{i}", "refunds", 6, text="x", origin="cli", latency_ms=4000.0) for i in range(3)]
    store.cases.add_suggestions(rows)
    store.events.add_many(
        [
            {
                "idempotency_key": f"shown-{i}",
                "case_id": f"case-r-{i}",
                "suggestion_id": f"r-{i}",
                "kind": "shown",
                "ts": T0,
            }
            for i in range(30)
        ]
        + [
            {
                "idempotency_key": f"dis-{i}",
                "case_id": f"case-r-{i}",
                "suggestion_id": f"r-{i}",
                "kind": "dismissed",
                "reason": "tone",
                "ts": T0,
            }
            for i in range(25)
        ]
    )


def test_the_dashboard_names_the_topic_an_overdue_answer_silenced(store: Store, client: TestClient) -> None:
    seed_silenced_topic(store)
    page = client.get("/dashboard").text
    findings = page[page.index('aria-label="Findings"') :][:1500]
    first = findings[findings.index("<li>") + 4 : findings.index("</li>")]
    assert first.startswith("failed_payouts: 122 suggestions, none shown; 122 lost, mostly answer overdue")
    assert "ans-failed-1" in first and "owner maria" in first
    panel = page[page.index('id="coverage-lost"') : page.index('id="due-for-review"')]
    assert panel.index("failed_payouts") < panel.index("disputes") < panel.index("(no topic)")
    assert (
        "no approved answer 4" in panel and "stopped by validation 6" in panel and "low confidence 5" in panel
    )
    assert "refunds" not in panel  # every refunds suggestion was shown


def test_answers_due_for_review_are_flagged_with_their_owner_before_they_go_overdue(
    store: Store, client: TestClient
) -> None:
    seed_silenced_topic(store)
    page = client.get("/dashboard").text
    panel = page[page.index('id="due-for-review"') : page.index('id="drift-alerts"')]
    assert "ans-failed-1" in panel and "maria" in panel and "(overdue)" in panel
    assert "ans-refund-1" in panel and "li" in panel and "(in 2 days)" in panel
    assert panel.index("ans-failed-1") < panel.index("ans-refund-1")  # overdue first
    assert "ans-old-1" not in panel  # retired: not due


def test_latency_counts_live_requests_only(store: Store, client: TestClient) -> None:
    seed_silenced_topic(store)
    lat = client.get("/v1/metrics").json()["latency_ms"]
    assert lat["n"] == 122 + 30 + 4 + 6 + 5 and lat["p99"] < 10  # not the simulated 900, not the CLI's 4000
    tile = client.get("/dashboard").text
    assert "167 live requests" in tile[tile.index('id="tile-latency"') :][:400]


def test_one_live_request_is_one_request(store: Store, client: TestClient) -> None:
    """The latency tile said "1 live requests"."""
    store.cases.add_suggestions([_suggestion("one-1", "refunds", 0, text="Refunds take a week.")])
    tile = client.get("/dashboard").text
    tile = tile[tile.index('id="tile-latency"') :][:400]
    assert "1 live request<" in tile and "live requests" not in tile


def test_the_date_axis_is_to_scale(store: Store, client: TestClient) -> None:
    from supportcue.service.views import line_chart

    days = [
        {"key": "2026-10-01", "rate": 0.5, "num": 1, "den": 2},
        {"key": "2026-10-02", "rate": 0.5, "num": 1, "den": 2},
        {"key": "2026-10-10", "rate": 1.0, "num": 2, "den": 2},  # a week without data before it
    ]
    chart = line_chart(days, "rate", "num", "den", "Rate", "things")
    xs = [d["x"] for d in chart["dots"]]
    assert (xs[2] - xs[1]) == pytest.approx(8 * (xs[1] - xs[0]))
    assert len(chart["lines"]) == 1  # the line is broken across the gap (a lone point has no line)
    assert [t["label"] for t in chart["ticks"]] == ["10-01", "10-05", "10-10"]


def test_the_dashboard_lists_drift_alerts_with_examples(store: Store, client: TestClient) -> None:
    alert = _alert("new_topic_cluster", "instant / payout", 1, 0.05)
    alert["details"] = {
        "examples": [{"case_id": "c1", "message": "Is instant payout live?"}],
        "top_terms": [],
    }
    # the examples are read from the cases (a purge empties them), personal data replaced
    store.cases.upsert([{"id": "c1", "message": "Is instant payout live? Write to bo@example.com"}])
    store.alerts.save([alert])
    panel = client.get("/dashboard").text
    panel = panel[panel.index('id="drift-alerts"') :][:2500]
    assert "new topic cluster" in panel and "instant / payout" in panel and "Is instant payout live?" in panel
    assert "bo@example.com" not in panel


def test_the_coverage_lost_row_of_messages_without_a_topic_asks_for_no_answer(
    store: Store, client: TestClient
) -> None:
    """The row of the suggestions that found no topic (stopped by validation, or no topic confident
    enough) said "Act on: no approved answer", as if a reviewer were to approve an answer of the
    topic "(no topic)"; no answer can be approved for it, and the row says nothing to act on there."""
    seed_silenced_topic(store)
    page = client.get("/dashboard").text
    panel = page[page.index('id="coverage-lost"') : page.index('id="due-for-review"')]
    rows = {re.sub(r"<[^>]+>", "", r.split("</th>")[0]).strip(): r for r in panel.split("<tr>")[2:]}
    no_topic = rows["(no topic)"]
    assert "stopped by validation 6" in no_topic
    assert "no approved answer" not in re.findall(r'data-label="Act on"[^>]*>(.*?)</td>', no_topic)[0]
    assert "no approved answer" in re.findall(r'data-label="Act on"[^>]*>(.*?)</td>', rows["disputes"])[0]
