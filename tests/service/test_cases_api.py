"""GET /v1/cases/{case_id} over real HTTP on both databases: an integrator reads a case back (its
status, its fields without personal data, its conversation page by page, the suggestions made for it
with their events and outcome), as an agent reads it in the console."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from supportcue.data.store import Store
from tests.conftest import LiveServer
from tests.service.conftest import authorize, case

PAUSE = "Hi Ana Lima,\nYou can pause payouts in Settings."
FIELDS = {"plan": "Pro", "email": "ana.lima@example.com", "order_id": 88213, "phone": "+44 20 7946 0958"}


@pytest.fixture
def agent(server: LiveServer, store: Store) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=authorize(store, "agent"), timeout=30) as c:
        yield c


@pytest.fixture(autouse=True)
def _imported(store: Store) -> None:
    context = [{"role": "customer", "text": "Hello?"}, {"role": "agent", "text": "Hi, how can I help?"}]
    store.cases.upsert(
        [case("imp/1", "how do I pause a payout", "Ana Lima", fields=FIELDS, context=context, channel="chat")]
    )


def test_an_agent_reads_an_imported_case_its_suggestion_and_what_became_of_it(
    agent: httpx.Client, store: Store
) -> None:
    made = agent.post("/v1/suggest", json={"message": "how do I pause a payout", "case_id": "imp/1"}).json()
    sid = made["suggestion_id"]
    now = datetime.now(UTC)
    for i, (kind, extra) in enumerate(
        [("shown", {}), ("inserted", {}), ("sent", {"text": PAUSE}), ("resolved", {"handle_seconds": 60})]
    ):
        event = {"idempotency_key": f"k{i}", "case_id": "imp/1", "kind": kind, **extra}
        event |= {"suggestion_id": sid} if kind != "resolved" else {}
        r = agent.post("/v1/events", json={**event, "ts": (now + timedelta(seconds=i)).isoformat()})
        assert r.status_code == 202, r.text
    r = agent.get("/v1/cases/imp/1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["case_id"] == "imp/1" and body["status"] == "resolved" and body["channel"] == "chat"
    # personal data is left out: the emails and phone numbers among its fields, and the customer's name
    assert body["fields"] == {"plan": "Pro", "order_id": "88213"}
    assert sorted(body["withheld"]) == ["customer_name", "email", "phone"]
    assert "ana.lima@example.com" not in r.text and "7946" not in r.text
    # an imported case's conversation: its context, then its message
    assert [(m["role"], m["text"]) for m in body["messages"]] == [
        ("customer", "Hello?"),
        ("agent", "Hi, how can I help?"),
        ("customer", "how do I pause a payout"),
    ]
    assert body["next_offset"] is None
    (suggestion,) = body["suggestions"]
    assert suggestion["suggestion_id"] == sid and suggestion["text"] == made["text"]
    assert [e["kind"] for e in suggestion["events"]] == ["shown", "inserted", "sent"]
    assert suggestion["outcome"] == "sent" and suggestion["match"] is True
    assert body["more_suggestions"] is False


def test_a_conversation_is_read_page_by_page(agent: httpx.Client) -> None:
    t0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    for i in range(5):
        turn = {
            "case_id": "conv",
            "message_id": f"m{i}",
            "role": "customer" if i % 2 == 0 else "agent",
            "text": f"payout question {i}" if i % 2 == 0 else f"answer {i}",
            "ts": (t0 + timedelta(minutes=i)).isoformat(),
        }
        assert agent.post("/v1/messages", json=turn).status_code == 200
    texts: list[str] = []
    offset: int | None = 0
    while offset is not None:
        body = agent.get("/v1/cases/conv", params={"limit": 2, "offset": offset}).json()
        assert len(body["messages"]) <= 2
        texts += [m["text"] for m in body["messages"]]
        offset = body["next_offset"]
    assert texts == ["payout question 0", "answer 1", "payout question 2", "answer 3", "payout question 4"]
    body = agent.get("/v1/cases/conv").json()
    assert [m["message_id"] for m in body["messages"]] == [f"m{i}" for i in range(5)]
    assert len(body["suggestions"]) == 3  # one per customer message, newest first
    assert body["suggestions"][0]["message_id"] == "m4"
    answered = body["suggestions"][-1]  # m0's, answered by the agent's m1 (its `sent` event)
    assert answered["outcome"] == "sent" and [e["kind"] for e in answered["events"]] == ["sent"]
    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}):
        assert agent.get("/v1/cases/conv", params=bad).status_code == 422


def test_an_unknown_case_is_a_404_that_does_not_echo_the_id(agent: httpx.Client) -> None:
    r = agent.get("/v1/cases/ana.lima@example.com")
    assert r.status_code == 404
    assert r.json() == {"detail": "no case with this id"}


def test_agents_read_cases_narrow_roles_do_not(server: LiveServer, store: Store) -> None:
    for role, status in (("agent", 200), ("reviewer", 200), ("admin", 200), ("integration", 403)):
        r = httpx.get(f"{server.url}/v1/cases/imp/1", headers=authorize(store, role), timeout=30)
        assert r.status_code == status, (role, r.text)
    for role in ("metrics", "embed"):
        r = httpx.get(f"{server.url}/v1/cases/imp/1", headers=authorize(store, role), timeout=30)
        assert r.status_code == 403, role
    assert httpx.get(f"{server.url}/v1/cases/imp/1", timeout=30).status_code == 401


def test_the_route_is_documented_with_its_errors(api: httpx.Client) -> None:
    operation = api.get("/openapi.json").json()["paths"]["/v1/cases/{case_id}"]["get"]
    assert {"401", "403", "404", "422", "429"} <= set(operation["responses"])
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CasePublic"
    }


def test_resolving_an_unknown_case_is_a_404_that_does_not_echo_the_id(api: httpx.Client) -> None:
    """The console's Resolve (`POST /cases/{case_id}/resolve`, also called with a key) answered
    `no case 'ana.lima@example.com'`: an error body echoed the input, which may be personal data."""
    r = api.post("/cases/ana.lima@example.com/resolve", headers={"accept": "application/json"})
    assert r.status_code == 404
    assert r.json() == {"detail": "no case with this id"}


def test_an_imported_cases_bot_turn_reads_back_as_the_bots(agent: httpx.Client, store: Store) -> None:
    context = [{"role": "customer", "text": "Hello?"}, {"role": "bot", "text": "I am the bot. Ask away."}]
    store.cases.upsert([case("imp/bot", "how do I pause a payout", "Ana Lima", context=context)])
    body = agent.get("/v1/cases/imp/bot").json()
    assert [(m["role"], m["text"]) for m in body["messages"]] == [
        ("customer", "Hello?"),
        ("bot", "I am the bot. Ask away."),
        ("customer", "how do I pause a payout"),
    ]
