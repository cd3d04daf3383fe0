"""Drift for a team that integrates through the API only: no `import cases`, no help desk webhook,
only `POST /v1/suggest` (a message, a case id of its own or none) and `POST /v1/events`.

Drift read the message of each suggestion from its case, so a suggestion on a case supportcue never
stored (or on no case) was left out: for such a team `supportcue drift` compared nothing, and a new
topic went unflagged. The suggestions are made over the API, then dated over three weeks (the API
dates them now), the last week bringing a new cluster of questions no topic claims."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from supportcue.cli import app as cli_app
from supportcue.data.store import Store
from supportcue.data.tables import Suggestion
from supportcue.settings import get_settings

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
PAYOUTS = [
    "how do I pause a payout",
    "when does my payout arrive",
    "can I change the payout day",
    "my payout is late",
]
USUAL = ["where is my invoice", "how do I reset my password"]
NEW = [
    "is there a fee for an instant transfer to my debit card",
    "instant transfer to debit card failed",
    "how long does an instant transfer to my card take",
]


@pytest.fixture
def extra_environ() -> dict[str, str]:
    # one caller sends all the requests back to back: the rate limit is not what is tested
    return {"SUPPORTCUE_SECURITY__RATE_PER_MINUTE": "10000000", "SUPPORTCUE_SECURITY__BURST": "1000000"}


def _traffic() -> list[tuple[datetime, str]]:
    """Three weeks, 10 messages a day: payouts and a few usual unclaimed questions; from day 14 on,
    half the messages are about instant transfers, which no topic claims."""
    out = []
    for day in range(21):
        for i in range(10):
            at = START + timedelta(days=day, minutes=30 * i)
            if day >= 14 and i % 2:
                out.append((at, NEW[(day + i) % len(NEW)]))
            elif i == 8:
                out.append((at, USUAL[day % len(USUAL)]))
            else:
                out.append((at, PAYOUTS[(day + i) % len(PAYOUTS)]))
    return out


def _suggest_over_three_weeks(client: TestClient, store: Store) -> list[str]:
    """Each message suggested over the API (every other one on a case id of the team's own, the
    others without one), then dated by the traffic's clock; returns the suggestion ids."""
    dates: dict[str, datetime] = {}
    for n, (at, message) in enumerate(_traffic()):
        body: dict[str, Any] = {"message": message, "customer_name": "Ana Lopez"}
        if n % 2:
            body["case_id"] = f"team-{n}"
        r = client.post("/v1/suggest", json=body)
        assert r.status_code == 200, r.text
        dates[r.json()["suggestion_id"]] = at
    with store.db.session() as s:
        for sid, at in dates.items():
            s.execute(update(Suggestion).where(Suggestion.id == sid).values(created_at=at))
    return list(dates)


def drift_json(folder: Path, database_url: str) -> dict[str, Any]:
    env = {
        "SUPPORTCUE_DATABASE_URL": database_url,
        "SUPPORTCUE_EMBEDDING__MODEL": "tfidf",
        "SUPPORTCUE_DRIFT__WEBHOOK_URL": "",
    }
    get_settings.cache_clear()
    out = CliRunner().invoke(cli_app, ["--workspace", str(folder), "drift", "--json"], env=env)
    get_settings.cache_clear()
    assert out.exit_code == 0, out.output + repr(out.exception)
    parsed: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return parsed


def test_drift_sees_the_suggestions_of_an_api_only_team(
    client: TestClient, store: Store, tmp_path: Path, database_url: str
) -> None:
    ids = _suggest_over_three_weeks(client, store)
    rows = store.alerts.rows(None, None)
    assert sorted(r.suggestion_id for r in rows) == sorted(ids)  # each suggestion, whatever its case
    assert {r.message for r in rows} == {m for _, m in _traffic()}
    result = drift_json(tmp_path, database_url)
    assert result["windows"] == 1 and result["note"] is None
    clusters = sorted(
        (a for a in result["alerts"] if a["kind"] == "new_topic_cluster"), key=lambda a: -a["score"]
    )
    new = clusters[0]  # the launch's questions: half the window
    assert {"instant", "transfer"} <= set(new["details"]["top_terms"]) and new["score"] == 0.5
    assert new["first_seen"].startswith("2026-09-22")  # the first window that holds the new week
    assert new["details"]["examples"] and all(
        "instant transfer" in e["message"] for e in new["details"]["examples"]
    )
    # the dashboard and GET /v1/alerts show its examples, read from the suggestions (no case to read)
    listed = {a["id"]: a for a in client.get("/v1/alerts", params={"days": 30}).json()["data"]}
    shown = listed[new["id"]]["examples"]
    assert shown and all("instant transfer" in e for e in shown)
    assert all(a["examples"] for a in listed.values())  # every kind's, not only the new topic's


def test_a_case_both_imported_and_suggested_counts_once_and_back_fills_stay_out(
    client: TestClient, store: Store
) -> None:
    from tests.service.conftest import case

    store.cases.upsert([case("c-imported", "how do I pause a payout", "Ana Lopez")])
    r = client.post("/v1/suggest", json={"message": "how do I pause a payout", "case_id": "c-imported"})
    api_only = client.post("/v1/suggest", json={"message": "instant transfer fee", "case_id": "team-1"})
    store.cases.add_suggestions(
        [
            {
                "id": "backfill-1",
                "case_id": "c-imported",
                "message": "how do I pause a payout",
                "pipeline_version": "v",
                "origin": "batch",
            }
        ]
    )
    rows = store.alerts.rows(None, None)
    assert sorted(r.suggestion_id for r in rows) == sorted(
        [r.json()["suggestion_id"], api_only.json()["suggestion_id"]]
    )
    by_case = {row.case_id: row for row in rows}
    assert by_case["c-imported"].message == "how do I pause a payout"
    assert by_case["c-imported"].customer_name == "Ana Lopez"  # read from the case, as before
    assert by_case["team-1"].message == "instant transfer fee" and by_case["team-1"].customer_name is None


def test_a_suggested_message_is_kept_masked_and_purged_with_the_rest(
    client: TestClient, store: Store
) -> None:
    """The message drift reads from a suggestion is stored with personal data masked (the customer's
    name, emails, card numbers...), and the retention purge empties it with the suggestion's texts."""
    from supportcue.monitoring.retention import purge

    said = (
        "Ana Lopez here, ana@example.com: is there a fee for an instant transfer to card 4111 1111 1111 1111?"
    )
    caseless = client.post("/v1/suggest", json={"message": said, "customer_name": "Ana Lopez"}).json()
    on_case = client.post(
        "/v1/suggest", json={"message": said, "customer_name": "Ana Lopez", "case_id": "team-x"}
    ).json()
    with store.db.session() as s:
        stored = {sid: m for sid, m in s.execute(select(Suggestion.id, Suggestion.message))}
    for r in (caseless, on_case):
        kept = stored[r["suggestion_id"]]
        assert kept is not None and "instant transfer" in kept
        assert "Ana" not in kept and "ana@example.com" not in kept and "4111" not in kept
    purge(store, 0, now=datetime.now(UTC) + timedelta(days=1))
    with store.db.session() as s:
        after = set(s.scalars(select(Suggestion.message)))
    assert after == {"[purged]"}


def test_an_api_only_teams_alerts_queue_review_items_read_from_the_masked_messages(
    client: TestClient, store: Store, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review items of a drift alert were made from its examples' cases: for a team whose cases
    supportcue never stored, no item was queued ("no review items" on the library and the dashboard).
    Each example is now an item read from the message its suggestion kept, masked (never the raw one):
    the queue shows it, and a review of it becomes labels on that masked text."""
    said = [f"{m}, write to ana.lopez@example.com" for m in NEW]  # personal data the suggestion masks
    monkeypatch.setattr(sys.modules[__name__], "NEW", said)
    ids = _suggest_over_three_weeks(client, store)
    result = drift_json(tmp_path, database_url)
    new = next(a for a in result["alerts"] if a["kind"] == "new_topic_cluster" and a["score"] == 0.5)
    listed = {a["id"]: a for a in client.get("/v1/alerts", params={"days": 30}).json()["data"]}
    assert listed[new["id"]]["review_item_ids"]  # it queued review items
    queue = client.get("/v1/review/queue", params={"alert": new["id"], "limit": 50}).json()["data"]
    kept = store.cases.suggestion_messages(ids)
    masked = set(kept.values())
    messages = [i for i in queue if i["kind"] == "message"]
    assert messages and all(i["message"] in masked for i in messages)
    assert all(
        "instant transfer" in i["message"] and "ana.lopez@example.com" not in i["message"] for i in messages
    )
    cluster = next(i for i in queue if i["kind"] == "cluster")
    assert cluster["message"] in masked and cluster["details"]["examples"]
    assert all(e in masked for e in cluster["details"]["examples"])
    # a review of a message item becomes labels on its masked text (no case to label)
    item = messages[0]
    topics = client.get("/v1/review/queue").json()["topics"]
    review = {"item_id": item["item_id"], "verdict": "incorrect", "valid": True}
    r = client.post("/v1/reviews", json={**review, **({"topic": topics[0]} if topics else {})})
    assert r.status_code == 201, r.text
    labels = r.json()["labels"]
    assert labels and all(lb["case_id"] is None and lb["subject"].startswith("text:") for lb in labels)
    # the cluster judged one (new) topic: a topic label on each masked message of its suggestions
    r = client.post(
        "/v1/reviews", json={"item_id": cluster["item_id"], "verdict": "correct", "topic": "instant"}
    )
    assert r.status_code == 201, r.text
    labels = r.json()["labels"]
    assert {lb["value"] for lb in labels} == {"instant"} and all(lb["case_id"] is None for lb in labels)
    assert len(labels) == len({kept[s] for s in new["details"]["suggestion_ids"] if s in kept}) > 1
    # the retention purge empties the kept messages: the items no longer show one
    from supportcue.monitoring.retention import purge

    purge(store, 0, now=datetime.now(UTC) + timedelta(days=1))
    after = client.get("/v1/review/queue", params={"alert": new["id"], "limit": 50}).json()["data"]
    assert after and all(i["message"] is None for i in after)
    assert all(not i["details"].get("examples") for i in after)
