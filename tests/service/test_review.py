"""The review API over real HTTP (SQLite and PostgreSQL): the queue says why each item was chosen and
mixes in the random sample, reviews become `sme` labels, bad input is a 4xx with a message, a second
review by the same reviewer is a 409, and only reviewers (and admins) get in."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from supportcue.data.store import Store
from supportcue.security.users import add_user
from supportcue.vocab import ReviewReason
from tests.conftest import LiveServer
from tests.review.seed import seed, stats_fixture
from tests.service.conftest import authorize
from tests.service.test_auth import PASSWORD, log_in


@pytest.fixture
def reviewer(server: LiveServer, store: Store) -> Iterator[httpx.Client]:
    seed(store)
    with httpx.Client(base_url=server.url, headers=authorize(store, "reviewer"), timeout=30) as c:
        yield c


def test_queue_items_say_why_and_include_the_random_sample(reviewer: httpx.Client) -> None:
    r = reviewer.get("/v1/review/queue", params={"limit": 10})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == len(body["data"]) == 10
    assert set(body["topics"]) == {"payouts", "refunds", "login"}
    reasons = [i["reason"] for i in body["data"]]
    assert ReviewReason.RANDOM in reasons and ReviewReason.SHADOW_DISAGREEMENT in reasons
    for item in body["data"]:
        assert item["item_id"].startswith("ri_") and item["kind"] in ("suggestion", "message", "cluster")
        assert item["why"]
    shadow = next(i for i in body["data"] if i["reason"] == ReviewReason.SHADOW_DISAGREEMENT)
    assert shadow["suggestion"]["id"] == "s-shadow" and shadow["details"]["shadow_text"]
    assert shadow["message"] == "a shadow case"
    every = reviewer.get("/v1/review/queue", params={"limit": 50}).json()["data"]
    cluster = next(i for i in every if i["kind"] == "cluster")
    assert len(cluster["details"]["examples"]) == 3 and all(
        "crypto" in e for e in cluster["details"]["examples"]
    )
    unmatched = next(i for i in every if i["reason"] == ReviewReason.UNMATCHED_REPLY)
    assert "charged twice" in unmatched["details"]["sent_text"] and unmatched["details"]["similarity"] < 0.7


def test_a_review_becomes_sme_labels_and_a_second_one_is_a_409(reviewer: httpx.Client, store: Store) -> None:
    items = reviewer.get("/v1/review/queue", params={"limit": 20}).json()["data"]
    low = next(i for i in items if i["reason"] == ReviewReason.LOW_CONFIDENCE)
    body = {"item_id": low["item_id"], "verdict": "incorrect", "topic": "refunds", "flags": ["wrong_topic"]}
    r = reviewer.post("/v1/reviews", json=body)
    assert r.status_code == 201, r.text
    review = r.json()
    assert review["reviewer"].startswith("key:test-reviewer-")
    assert {(lb["task"], lb["value"], lb["source"]) for lb in review["labels"]} == {
        ("response_quality", "incorrect", "sme"),
        ("topic", "refunds", "sme"),
    }
    stored = [lb for lb in store.labels.list("topic") if lb.case_id == "c-low"]
    assert [(lb.source, lb.annotator) for lb in stored] == [("sme", review["reviewer"])]
    again = reviewer.post("/v1/reviews", json={**body, "verdict": "correct"})
    assert again.status_code == 409
    assert "reviewed item" in again.json()["detail"]
    assert low["item_id"] not in {
        i["item_id"] for i in reviewer.get("/v1/review/queue?limit=50").json()["data"]
    }


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"verdict": "maybe"}, 422, "verdict"),
        ({"flags": ["rude"]}, 422, "flags"),
        ({"topic": "no_such_topic"}, 422, "not a topic of this workspace"),
        ({"valid": True}, 422, "`valid` is for message items"),
        ({"item_id": "ri_nothing"}, 404, 'no review item with this id"'),
        ({"extra": 1}, 422, "extra"),
        ({"corrected_text": "x" * 5001}, 422, "corrected_text"),
    ],
)
def test_bad_reviews_are_4xx_with_a_message(
    reviewer: httpx.Client, store: Store, change: dict[str, object], status: int, says: str
) -> None:
    items = reviewer.get("/v1/review/queue", params={"limit": 20}).json()["data"]
    item = next(i for i in items if i["kind"] == "suggestion")
    r = reviewer.post("/v1/reviews", json={"item_id": item["item_id"], "verdict": "correct", **change})
    assert r.status_code == status, r.text
    assert says in r.text
    assert store.reviews.list() == []


def test_a_corrected_reply_keeps_its_line_breaks_as_newlines(reviewer: httpx.Client, store: Store) -> None:
    """A browser's textarea lines arrive as "\r\n": the corrected reply is stored with "\n"."""
    items = reviewer.get("/v1/review/queue", params={"limit": 20}).json()["data"]
    item = next(i for i in items if i["kind"] == "suggestion")
    body = {
        "item_id": item["item_id"],
        "verdict": "partially_correct",
        "corrected_text": "Hi,\r\n\r\nPause it.",
    }
    assert reviewer.post("/v1/reviews", json=body).status_code == 201
    assert [r.corrected_text for r, _item in store.reviews.list()] == ["Hi,\n\nPause it."]


def test_queue_limit_is_checked(reviewer: httpx.Client) -> None:
    assert reviewer.get("/v1/review/queue", params={"limit": 0}).status_code == 422
    assert reviewer.get("/v1/review/queue", params={"limit": 51}).status_code == 422


def test_agents_and_other_roles_get_403(server: LiveServer, store: Store) -> None:
    seed(store)
    for role in ("agent", "integration", "metrics", "embed"):
        with httpx.Client(base_url=server.url, headers=authorize(store, role), timeout=30) as c:
            assert c.get("/v1/review/queue").status_code == 403
            r = c.post("/v1/reviews", json={"item_id": "ri_x", "verdict": "correct"})
            assert r.status_code == 403 and "reviewer" in r.json()["detail"]
            assert c.get("/review", headers={"accept": "text/html"}).status_code == 403
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        assert anonymous.get("/v1/review/queue").status_code == 401
    assert store.reviews.list() == []


def test_the_dashboard_shows_the_match_rate_and_the_reviewers_estimate(
    api: httpx.Client, store: Store
) -> None:
    empty = api.get("/dashboard", headers={"accept": "text/html"})
    assert empty.status_code == 200
    assert "Judged correct by reviewers: <strong>–</strong>" in empty.text
    stats_fixture(store)
    page = api.get("/dashboard", headers={"accept": "text/html"}).text
    assert "Matched what the agent sent" in page and "a lower bound" in page
    assert "Judged correct by reviewers: <strong>80%</strong>" in page
    assert "95% CI 58%–92%, 20 reviews of a random sample" in page


def test_the_dashboards_reviewer_estimate_follows_its_period(api: httpx.Client, store: Store) -> None:
    """With dates chosen, "judged correct by reviewers" counted the reviews MADE since the start
    (until ignored): beside the period's match rate stood reviews of other weeks' suggestions. It
    counts the sampled suggestions made in the period now, whenever they were reviewed."""
    from datetime import UTC, datetime

    from supportcue.review.record import ReviewInput, submit
    from supportcue.settings import Settings
    from supportcue.vocab import Verdict

    made = {"old": datetime(2026, 10, 1, 9, tzinfo=UTC), "new": datetime(2026, 10, 20, 9, tzinfo=UTC)}
    store.library.upsert_topics([{"key": "payouts", "name": "P"}])
    store.cases.upsert([{"id": f"c-{k}", "message": "pause?", "created_at": t} for k, t in made.items()])
    store.cases.add_suggestions(
        [
            {
                "id": f"s-{k}",
                "case_id": f"c-{k}",
                "created_at": t,
                "pipeline_version": "v1",
                "topic": "payouts",
            }
            | {"text": "Pause it.", "confidence": 0.9, "mode": "live", "latency_ms": 1.0}
            for k, t in made.items()
        ]
    )
    store.reviews.add_items(
        [
            {"id": f"ri_{k}", "key": f"suggestion:s-{k}", "kind": "suggestion", "reason": "random"}
            | {"topic": "payouts", "suggestion_id": f"s-{k}", "case_id": f"c-{k}", "created_at": t}
            for k, t in made.items()
        ]
    )
    for k, verdict in (("old", Verdict.INCORRECT), ("new", Verdict.CORRECT)):
        submit(store, Settings(), ReviewInput(f"ri_{k}", verdict), "user:rita")  # both reviewed today

    def estimate(query: str) -> str:
        page = api.get(f"/dashboard?{query}", headers={"accept": "text/html"}).text
        return re.sub(r"<[^>]+>", "", page.split('id="online-accuracy"')[1].split("</ul>")[0])

    assert "Judged correct by reviewers: 50%" in estimate("")
    late = estimate("since=2026-10-15")
    assert "Judged correct by reviewers: 100%" in late and "1 reviews of a random sample" in late
    assert "made in this period" in late
    assert "Judged correct by reviewers: 0%" in estimate("since=2026-09-25&until=2026-10-10")
    assert "no review of the random sample of this period yet" in estimate("since=2026-11-01")


def test_a_reviewers_session_needs_the_pages_csrf_token(server: LiveServer, store: Store) -> None:
    seed(store)
    add_user(store, "vera", "reviewer", PASSWORD)
    client, answer = log_in(server.url, "vera")
    try:
        assert answer.status_code in (200, 303)
        page = client.get("/review", headers={"accept": "text/html"})
        token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
        assert page.status_code == 200 and token
        assert f'name="csrf_token" value="{token[1]}"' in page.text  # the form carries it too
        item = client.get("/v1/review/queue").json()["data"][0]
        body = {"item_id": item["item_id"], "verdict": "correct"}
        if item["kind"] == "cluster":
            body["topic"] = "crypto_wallet"
        assert client.post("/v1/reviews", json=body).status_code == 403
        assert client.post("/v1/reviews", json=body, headers={"x-csrf-token": "0" * 64}).status_code == 403
        assert store.reviews.list() == []
        made = client.post("/v1/reviews", json=body, headers={"x-csrf-token": token[1]})
        assert made.status_code == 201, made.text
        assert made.json()["reviewer"] == "user:vera"
    finally:
        client.close()


def test_a_review_that_finds_an_answer_wrong_reaches_its_library_page(
    reviewer: httpx.Client, store: Store
) -> None:
    """A suggestion judged incorrect and outdated, with a corrected reply, in /review: the answer it
    came from is listed under "Needs attention" on /library and its own page, with the reply."""
    items = reviewer.get("/v1/review/queue", params={"limit": 50}).json()["data"]
    item = next(i for i in items if i["kind"] == "suggestion" and (i["suggestion"] or {}).get("answer_id"))
    answer_id = item["suggestion"]["answer_id"]
    store.library.upsert_answers(
        [
            {
                "id": answer_id,
                "topic": item["proposed_topic"],
                "title": "T",
                "body": "Old text.",
                "status": "approved",
            }
        ]
    )
    html = {"accept": "text/html"}
    assert "judged wrong" not in reviewer.get("/library", headers=html).text
    body = {
        "item_id": item["item_id"],
        "verdict": "incorrect",
        "flags": ["outdated"],
        "corrected_text": "The new <policy> text.",
    }
    assert reviewer.post("/v1/reviews", json=body).status_code == 201
    for page in ("/library", f"/library/{answer_id}"):
        text = reviewer.get(page, headers=html).text
        assert (
            "judged wrong" in text
            and "reviewers judged 1 of 1 reviewed suggestion not correct (outdated 1)" in text
        )
        assert "The new &lt;policy&gt; text." in text  # escaped
