"""POST /v1/messages over real HTTP: the conversation grows, follow-ups use it, replies become `sent`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from supportcue.data.store import Store
from supportcue.monitoring.metrics import compute_report
from supportcue.settings import Settings
from tests.service.conftest import authorize, case

PAUSE = "Hi Ana,\nYou can pause payouts in Settings."


def message(
    message_id: str, text: str, role: str = "customer", case_id: str = "conv-1", **kw: Any
) -> dict[str, Any]:
    return {"case_id": case_id, "message_id": message_id, "role": role, "text": text, **kw}


def test_a_customer_message_gets_its_suggestion_and_grows_the_case(api: httpx.Client, store: Store) -> None:
    r = api.post("/v1/messages", json=message("m1", "how do I pause a payout?", customer_name="Ana"))
    assert r.status_code == 200, r.text
    body = r.json()
    suggest = api.post("/v1/suggest", json={"message": "how do I pause a payout?", "customer_name": "Ana"})
    assert set(body) == set(suggest.json())  # the same answer as /v1/suggest
    assert body["text"] == PAUSE and body["case_id"] == "conv-1" and body["topic"] == "payouts"
    assert "idempotent-replayed" not in r.headers
    stored = store.cases.get("conv-1")
    assert stored is not None and (stored.message, stored.customer_name, stored.status) == (
        "how do I pause a payout?",
        "Ana",
        "open",
    )
    assert store.cases.suggestion(body["suggestion_id"]) is not None


def test_a_follow_up_uses_the_thread(api: httpx.Client, store: Store) -> None:
    api.post("/v1/messages", json=message("m1", "how do I pause a payout?", customer_name="Ana"))
    reply = message("m2", "Sure, open Settings.", role="agent", agent_id="ben")
    assert api.post("/v1/messages", json=reply).status_code == 200
    follow_up = api.post("/v1/messages", json=message("m3", "and how long does that take?"))
    body = follow_up.json()
    assert follow_up.status_code == 200 and body["text"] == PAUSE and body["topic"] == "payouts"
    embed = body["trace"][0]
    assert embed["follow_up"] is True and embed["context_turns"] == 2
    # the same words opening another conversation have no thread to lean on: no suggestion
    alone = api.post("/v1/messages", json=message("m4", "and how long does that take?", case_id="conv-2"))
    assert alone.json()["text"] is None and alone.json()["abstained_at"] == "topic"
    case_row = store.cases.get("conv-1")
    assert case_row is not None and case_row.message == "and how long does that take?"
    assert case_row.context == [
        {"role": "customer", "text": "how do I pause a payout?"},
        {"role": "agent", "text": "Sure, open Settings."},
    ]


def test_an_imported_case_brings_its_context_into_the_thread(api: httpx.Client, store: Store) -> None:
    store.cases.upsert(
        [case("imp-1", "my payout is late", "Ana", context=[{"role": "agent", "text": "Hi!"}])]
    )
    r = api.post("/v1/messages", json=message("m1", "and when will it come?", case_id="imp-1"))
    assert r.json()["topic"] == "payouts" and r.json()["trace"][0]["context_turns"] == 2
    assert [(t.role, t.text) for t in store.conversations.turns("imp-1")] == [
        ("agent", "Hi!"),
        ("customer", "my payout is late"),
        ("customer", "and when will it come?"),
    ]


def test_a_repeat_changes_nothing_and_gets_the_same_answer(api: httpx.Client, store: Store) -> None:
    first = api.post("/v1/messages", json=message("m1", "how do I pause a payout?"))
    again = api.post("/v1/messages", json=message("m1", "how do I pause a payout?"))
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert store.db.count("suggestions") == 1 and len(store.conversations.turns("conv-1")) == 1
    other = api.post("/v1/messages", json=message("m1", "something else entirely"))
    assert other.status_code == 409 and "m1" in other.json()["detail"]


def test_an_agent_reply_is_the_sent_event_of_the_latest_shown_suggestion(
    api: httpx.Client, store: Store
) -> None:
    shown = api.post(
        "/v1/messages", json=message("m1", "how do I pause a payout?", customer_name="Ana")
    ).json()
    api.post("/v1/messages", json=message("m2", "thanks", case_id="conv-1"))  # no suggestion shown for it
    reply = message("m3", PAUSE, role="agent", agent_id="ben")
    r = api.post("/v1/messages", json=reply)
    assert r.status_code == 200 and r.json()["suggestion_id"] == shown["suggestion_id"]
    assert r.json()["event_id"] is not None and r.json()["private"] is False
    again = api.post("/v1/messages", json=reply)
    assert again.json() == r.json() and again.headers["idempotent-replayed"] == "true"
    note = api.post("/v1/messages", json=message("m4", "customer sounds upset", role="agent", private=True))
    assert note.status_code == 200 and note.json()["event_id"] is None
    sent = store.events.list(kind="sent")
    assert [(e.suggestion_id, e.agent_id, e.text) for e in sent] == [(shown["suggestion_id"], "ben", PAUSE)]
    report = compute_report(store, Settings(), group_by="agent")
    assert report["match_rate"] == 1.0 and {g["key"]: g["sent_pairs"] for g in report["groups"]}["ben"] == 1


def test_an_agent_message_with_the_longest_id_is_a_sent_event(api: httpx.Client, store: Store) -> None:
    """Found by the fuzz test on PostgreSQL: "message:" + a 200-character id overflowed the event's
    200-character idempotency key (a 500); the key is then the id's hash, stable across repeats."""
    api.post("/v1/messages", json=message("m1", "how do I pause a payout?"))
    long_id = "x" * 200
    r = api.post("/v1/messages", json=message(long_id, PAUSE, role="agent", agent_id="ben"))
    assert r.status_code == 200 and r.json()["event_id"] is not None
    assert (
        api.post("/v1/messages", json=message(long_id, PAUSE, role="agent", agent_id="ben")).json()
        == r.json()
    )
    assert [len(e.idempotency_key) <= 200 for e in store.events.list(kind="sent")] == [True]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (message("m1", "hello", private=True), "only an agent's message can be private"),
        (message("m1", "   "), "text is empty"),
        (message("m1", "hi", role="bot"), "role: Input should be 'customer' or 'agent'"),
        ({"case_id": "c", "role": "customer", "text": "hi"}, "message_id: Field required"),
    ],
)
def test_bad_messages_are_422_and_store_nothing(
    api: httpx.Client, store: Store, body: dict[str, Any], says: str
) -> None:
    r = api.post("/v1/messages", json=body)
    assert r.status_code == 422 and says in r.json()["detail"]
    assert store.db.count("messages") == 0 and store.db.count("cases") == 0


def test_roles_agent_and_integration_may_post_others_may_not(server: Any, store: Store) -> None:
    for role, status in (("agent", 200), ("integration", 200), ("metrics", 403)):
        headers = authorize(store, role)
        r = httpx.post(
            f"{server.url}/v1/messages", json=message(f"m-{role}", "my payout?"), headers=headers, timeout=30
        )
        assert r.status_code == status, (role, r.text)
    assert httpx.post(f"{server.url}/v1/messages", json=message("m9", "x"), timeout=30).status_code == 401


def test_message_ids_are_per_caller(server: Any, store: Store) -> None:
    one, two = authorize(store, "integration"), authorize(store, "integration")
    for headers in (one, two):
        r = httpx.post(
            f"{server.url}/v1/messages", json=message("m1", "my payout?"), headers=headers, timeout=30
        )
        assert r.status_code == 200 and "idempotent-replayed" not in r.headers
    assert store.db.count("messages") == 2


def test_a_sent_event_key_of_a_message_is_reserved(api: httpx.Client) -> None:
    body = {"idempotency_key": "message:m1", "case_id": "c1", "kind": "shown"}
    r = api.post("/v1/events", json=body)
    assert r.status_code == 422 and "reserved" in r.json()["detail"]


def test_concurrent_first_messages_of_a_conversation_make_one_case(api: httpx.Client, store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def send(i: int) -> int:
        return api.post("/v1/messages", json=message(f"m{i}", f"my payout {i}?", case_id="burst")).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(send, range(8))) == [200] * 8
    turns = store.conversations.turns("burst")
    case_row = store.cases.get("burst")
    assert len(turns) == 8 and case_row is not None
    assert case_row.message == turns[-1].text and len(case_row.context) == 7


def test_a_late_older_message_leaves_a_resolved_case_closed_a_newer_one_reopens_it(
    api: httpx.Client, store: Store
) -> None:
    """A case resolved in the console (its `resolved` event, then its Resolve) came back open when a
    customer message older than the resolution arrived late (a redelivery, a slow integration): the
    message reopened the case whatever its time. Now only a message after the resolution reopens,
    as a help desk's reopening does (cases.status_changed_at)."""
    api.post("/v1/messages", json=message("m1", "how do I pause a payout?", ts="2026-10-01T09:00:00Z"))
    resolved = {
        "idempotency_key": "r1",
        "case_id": "conv-1",
        "kind": "resolved",
        "ts": "2026-10-01T10:00:00Z",
    }
    assert api.post("/v1/events", json=resolved).status_code == 202
    late = api.post("/v1/messages", json=message("m2", "one more thing", ts="2026-10-01T09:30:00Z"))
    assert late.status_code == 200
    stored = store.cases.get("conv-1")
    assert stored is not None and stored.status == "resolved"
    assert stored.message == "one more thing"  # the turn is kept: the case shows its latest customer turn
    newer = api.post("/v1/messages", json=message("m3", "are you there?", ts="2026-10-01T10:30:00Z"))
    assert newer.status_code == 200
    stored = store.cases.get("conv-1")
    assert stored is not None and stored.status == "open" and stored.message == "are you there?"
    # the console's Resolve (now): a message dated before it leaves it closed, one sent now reopens it
    store.cases.set_status("conv-1", "resolved")
    api.post("/v1/messages", json=message("m4", "still there?", ts="2026-10-01T11:00:00Z"))
    assert store.cases.get("conv-1").status == "resolved"  # type: ignore[union-attr]
    api.post("/v1/messages", json=message("m5", "hello again"))
    assert store.cases.get("conv-1").status == "open"  # type: ignore[union-attr]


def test_a_time_more_than_a_day_ahead_is_a_422_as_for_events(api: httpx.Client, store: Store) -> None:
    """`POST /v1/events` refused a `ts` more than a day ahead of the server's clock, `/v1/messages`
    took it: the turn (and an agent's `sent` event) sat in every metrics window until then, and a
    customer turn dated ahead kept the case open against every later resolution."""
    now = datetime.now(UTC)
    for role in ("customer", "agent"):
        for ts in ("2199-12-31T23:59:59Z", (now + timedelta(days=2)).isoformat()):
            r = api.post("/v1/messages", json=message(f"far-{role}", "my payout?", role=role, ts=ts))
            assert r.status_code == 422, r.text
            assert "ts: " in r.json()["detail"] and "more than a day ahead" in r.json()["detail"]
    assert store.db.count("messages") == 0 and store.db.count("cases") == 0
    for i, ahead in enumerate((timedelta(minutes=5), timedelta(hours=20))):  # a clock a little fast
        r = api.post("/v1/messages", json=message(f"m{i}", "my payout?", ts=(now + ahead).isoformat()))
        assert r.status_code == 200, r.text
