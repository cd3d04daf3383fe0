"""Drift alerts where reviewers act on them, over real HTTP (SQLite and PostgreSQL): /library lists
each recent alert with its figures and a link to the review items it created, GET /v1/alerts gives
their ids, /review?alert=ID works exactly those items (each says which alert made it), and agents
are refused as before."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from supportcue.data.store import Store
from supportcue.embeddings import HashingEmbedder
from supportcue.monitoring.drift import run_drift
from supportcue.settings import Settings
from supportcue.vocab import ReviewReason
from tests.conftest import LiveServer
from tests.review.drift_seed import seed_drift
from tests.service.conftest import authorize


@pytest.fixture
def drifted(store: Store) -> dict[str, Any]:
    seed_drift(store)
    result = run_drift(store, Settings(), HashingEmbedder())
    # personal data in an example of the launched product (read from its case when shown)
    new = next(a for a in result["alerts"] if a["kind"] == "new_topic_cluster")
    example = new["details"]["examples"][0]["case_id"]
    message = "crypto wallet for ana.lopez@example.com is stuck. Thanks, Ana Lopez"
    store.cases.upsert([{"id": example, "message": message, "customer_name": "Ana Lopez"}])
    return {**{a["kind"]: a for a in result["alerts"]}, "all": result["alerts"]}


@pytest.fixture
def reviewer(server: LiveServer, store: Store) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=authorize(store, "reviewer"), timeout=30) as c:
        yield c


def test_library_shows_each_alert_with_a_link_to_its_review_items(
    drifted: dict[str, Any], reviewer: httpx.Client
) -> None:
    page = reviewer.get("/library")
    assert page.status_code == 200, page.text
    text = page.text
    assert text.index('id="attention"') < text.index('id="alerts-h"') < text.index('id="answer-a-pay"')
    drop, new = drifted["answer_match_drop"], drifted["new_topic_cluster"]
    item = text[text.index(f'id="alert-{drop["id"]}"') :][:1500]
    assert 'href="/library/a-pay"' in item and "answer match drop" in item
    assert f'href="/review?alert={drop["id"]}"' in item
    assert f"Review its {len(drop['review_item_ids'])} items" in item
    assert "first seen" in item and "threshold 0.2" in item
    item = text[text.index(f'id="alert-{new["id"]}"') :][:3000]
    assert "Top terms:" in item and "crypto" in item and f'href="/review?alert={new["id"]}"' in item
    assert "crypto wallet for [EMAIL_1] is stuck. Thanks, [NAME_1]" in text  # personal data replaced
    assert "example.com" not in text and "Lopez" not in text
    dashboard = reviewer.get("/dashboard").text
    assert f'href="/review?alert={drop["id"]}"' in dashboard and "example.com" not in dashboard


def test_an_alert_s_json_and_its_queue_name_exactly_its_items(
    drifted: dict[str, Any], reviewer: httpx.Client
) -> None:
    drop = drifted["answer_match_drop"]
    listed = reviewer.get("/v1/alerts")
    assert listed.status_code == 200, listed.text
    assert {a["id"]: a["review_item_ids"] for a in listed.json()["data"]} == {
        a["id"]: a["review_item_ids"] for a in drifted["all"]
    }
    one = reviewer.get(f"/v1/alerts/{drop['id']}").json()
    assert one["kind"] == "answer_match_drop" and one["answer_id"] == "a-pay"
    assert sorted(one["review_item_ids"]) == sorted(drop["review_item_ids"]) and one["reviewed_items"] == 0
    assert reviewer.get("/v1/alerts/999999").status_code == 404
    queue = reviewer.get("/v1/review/queue", params={"alert": drop["id"], "limit": 50})
    assert queue.status_code == 200, queue.text
    items = queue.json()["data"]
    assert sorted(i["item_id"] for i in items) == sorted(drop["review_item_ids"])
    for i in items:  # why this item: the alert that made it
        assert i["reason"] == ReviewReason.DRIFT_ALERT
        assert i["alert"] == {"id": drop["id"], "kind": "answer_match_drop", "subject": "a-pay"}
        assert i["suggestion"]["answer_id"] == "a-pay" and i["details"]["sent_text"]
    assert reviewer.get("/v1/review/queue", params={"alert": 999999}).status_code == 404
    page = reviewer.get("/review", params={"alert": drop["id"]}).text
    assert re.search(rf'id="alert-filter"[^>]*data-alert="{drop["id"]}"', page) and "a-pay" in page
    # reviewing one counts on the alert, and takes it out of the reviewer's filtered queue
    first = items[0]["item_id"]
    assert reviewer.post("/v1/reviews", json={"item_id": first, "verdict": "incorrect"}).status_code == 201
    assert reviewer.get(f"/v1/alerts/{drop['id']}").json()["reviewed_items"] == 1
    left = reviewer.get("/v1/review/queue", params={"alert": drop["id"], "limit": 50}).json()["data"]
    assert first not in {i["item_id"] for i in left} and len(left) == len(items) - 1


def test_the_alerts_are_listed_page_by_page(drifted: dict[str, Any], reviewer: httpx.Client) -> None:
    """GET /v1/alerts had no `offset` and no `next_offset` (GET /v1/answers has both): past `limit`,
    the older alerts could not be read."""
    every = reviewer.get("/v1/alerts", params={"limit": 100}).json()
    assert every["next_offset"] is None and len(every["data"]) == len(drifted["all"]) >= 3
    seen: list[int] = []
    offset: int | None = 0
    while offset is not None:
        page = reviewer.get("/v1/alerts", params={"limit": 2, "offset": offset})
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["count"] == len(body["data"]) <= 2
        seen += [a["id"] for a in body["data"]]
        offset = body["next_offset"]
    assert seen == [a["id"] for a in every["data"]]
    assert reviewer.get("/v1/alerts", params={"offset": len(seen)}).json() == {
        "data": [],
        "count": 0,
        "next_offset": None,
    }
    for bad in ("-1", "1000001", "x"):
        r = reviewer.get("/v1/alerts", params={"offset": bad})
        assert r.status_code == 422 and "offset" in r.json()["detail"], r.text


def test_agents_may_not_see_alerts_or_their_queue(server: LiveServer, store: Store) -> None:
    with httpx.Client(base_url=server.url, headers=authorize(store, "agent"), timeout=30) as agent:
        refused = [
            agent.get("/library"),
            agent.get("/v1/alerts"),
            agent.get("/v1/alerts/1"),
            agent.get("/v1/review/queue", params={"alert": 1}),
            agent.get("/review", params={"alert": 1}),
        ]
    assert [r.status_code for r in refused] == [403] * len(refused)


@pytest.mark.parametrize("alert", ["\u00b2", "0x1", "-1", "99999999999"])
def test_a_review_page_alert_that_is_no_alert_id_shows_the_whole_queue(
    reviewer: httpx.Client, alert: str
) -> None:
    page = reviewer.get("/review", params={"alert": alert})  # "²" passes str.isdigit, not int()
    assert page.status_code == 200, page.text
    assert 'id="alert-filter"' not in page.text
