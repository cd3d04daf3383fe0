"""POST /v1/events over real HTTP: committed before 202, idempotent, clear 4xx, nothing lost in a burst."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete

from supportcue.data.importer import import_file
from supportcue.data.store import open_store
from supportcue.data.tables import Suggestion
from supportcue.monitoring.events import DISMISS_REASONS
from supportcue.service.schemas import EventCreate
from tests.conftest import LiveServer


@pytest.fixture
def service_settings() -> dict[str, Any]:
    return {"max_event_bytes": 4096}


def event(kind: str = "shown", **kw: Any) -> dict[str, Any]:
    return {"idempotency_key": str(uuid.uuid4()), "case_id": "c1", "kind": kind, **kw}


def test_202_means_committed(api: httpx.Client, database_url: str) -> None:
    body = event("sent", text="Hi Ana, done.", agent_id="a7")
    r = api.post("/v1/events", json=body)
    assert r.status_code == 202 and r.json()["duplicate"] is False
    other = open_store(database_url)  # another connection sees it at once: it was committed before the answer
    stored = other.events.list(case_id="c1")
    other.close()
    assert [(e.idempotency_key, e.kind, e.text, e.agent_id) for e in stored] == [
        (body["idempotency_key"], "sent", "Hi Ana, done.", "a7")
    ]


def test_a_repeated_key_is_acknowledged_and_stored_once(api: httpx.Client, database_url: str) -> None:
    body = event("dismissed", reason="outdated")
    first = api.post("/v1/events", json=body)
    again = api.post("/v1/events", json=body)  # a retry (another body: 409, below)
    assert first.status_code == again.status_code == 202
    assert again.json()["duplicate"] is True and again.json()["id"] == first.json()["id"]
    store = open_store(database_url)
    assert [(e.kind, e.reason) for e in store.events.list()] == [("dismissed", "outdated")]
    store.close()


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"case_id": "c1", "kind": "shown"}, 422, "idempotency_key: Field required"),
        (event("clicked"), 422, "kind: Input should be 'shown', 'inserted'"),
        (event("sent"), 422, "a `sent` event needs the sent `text`"),
        (event("dismissed"), 422, "a `dismissed` event needs a `reason`"),
        (event("dismissed", reason="boring"), 422, "reason: Input should be 'wrong_topic'"),
        (event(colour="red"), 422, "colour: Extra inputs are not permitted"),
        (event(ts="yesterday"), 422, "ts:"),
        (event(handle_seconds=-1), 422, "handle_seconds: Input should be greater than or equal to 0"),
        (event("sent", text="x" * 5000), 413, "the limit is 4,096"),
    ],
)
def test_malformed_and_oversized_events_are_clear_4xx(
    api: httpx.Client, database_url: str, body: dict[str, Any], status: int, says: str
) -> None:
    r = api.post("/v1/events", json=body)
    assert r.status_code == status and says in r.json()["detail"]
    store = open_store(database_url)
    assert store.db.count("events") == 0
    store.close()


def test_the_same_key_with_a_different_body_is_a_409_that_says_so(
    api: httpx.Client, database_url: str
) -> None:
    body = event("dismissed", reason="outdated", ts="2026-10-01T09:00:00Z")
    first = api.post("/v1/events", json=body)
    respelt = {**dict(reversed(list(body.items()))), "ts": "2026-10-01T11:00:00+02:00", "text": None}
    again = api.post("/v1/events", json=respelt)  # the same request, spelt otherwise
    changed = api.post("/v1/events", json={**body, "reason": "tone"})
    assert (first.status_code, again.status_code, changed.status_code) == (202, 202, 409)
    assert again.json()["duplicate"] is True and again.json()["id"] == first.json()["id"]
    assert changed.json()["detail"].startswith(
        f"idempotency_key {body['idempotency_key']!r} was already used with a different request"
    )
    store = open_store(database_url)
    stored = [(e.caller, e.kind, e.reason, len(e.fingerprint or "")) for e in store.events.list()]
    assert stored == [(stored[0][0], "dismissed", "outdated", 64)]
    assert stored[0][0].startswith("key:test-admin-")  # the admin key's caller id
    store.close()


@pytest.mark.parametrize("key", ["import:c1:sent", "demo:c1:sent"])
def test_the_importers_keys_are_reserved(
    api: httpx.Client, database_url: str, tmp_path: Path, key: str
) -> None:
    """The pre-emption attack of issue 9 over HTTP: the caller cannot post the importer's key, and a
    later import stores the case's reply."""
    r = api.post("/v1/events", json=event("sent", idempotency_key=key, text="pre-empted"))
    assert r.status_code == 422 and "idempotency_key: Value error, keys starting with" in r.json()["detail"]
    store = open_store(database_url)
    path = tmp_path / "cases.csv"
    path.write_text("id,message,reply\nc1,How do I pause payouts?,Go to Settings > Payouts.\n")
    import_file(store, "cases", path)
    assert [e.text for e in store.events.list(case_id="c1", kind="sent")] == ["Go to Settings > Payouts."]
    store.close()


def test_a_time_more_than_a_day_ahead_is_a_422_and_a_clock_a_little_ahead_is_not(
    api: httpx.Client, database_url: str
) -> None:
    """An event dated years ahead would sit in every future metrics window; a client's clock a few
    minutes or hours fast is common, and is taken."""
    now = datetime.now(UTC)
    for ts in ("2199-12-31T23:59:59Z", (now + timedelta(days=2)).isoformat()):
        r = api.post("/v1/events", json=event(ts=ts))
        assert r.status_code == 422, r.text
        assert "ts: " in r.json()["detail"] and "more than a day ahead" in r.json()["detail"]
    for ahead in (timedelta(minutes=5), timedelta(hours=20)):
        r = api.post("/v1/events", json=event(ts=(now + ahead).isoformat()))
        assert r.status_code == 202, r.text
    store = open_store(database_url)
    assert store.db.count("events") == 2
    store.close()


def test_bad_json_is_a_clear_422(api: httpx.Client) -> None:
    r = api.post("/v1/events", content=b"{", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "not valid JSON" in r.json()["detail"]


def test_a_burst_of_concurrent_events_loses_nothing(
    server: LiveServer, admin_key: dict[str, str], database_url: str
) -> None:
    bodies = [event(("shown", "inserted")[i % 2], case_id=f"c{i % 17}") for i in range(200)]
    retries = bodies[:40]  # the console retrying with the same key, concurrently with the first try
    limits = httpx.Limits(max_connections=64)
    with (
        httpx.Client(base_url=server.url, headers=admin_key, timeout=30, limits=limits) as client,
        ThreadPoolExecutor(max_workers=32) as pool,
    ):
        codes = list(pool.map(lambda b: client.post("/v1/events", json=b).status_code, bodies + retries))
    assert codes == [202] * 240
    store = open_store(database_url)
    keys = sorted(e.idempotency_key for e in store.events.list())
    store.close()
    assert keys == sorted(b["idempotency_key"] for b in bodies)


def test_the_schema_offers_the_dismiss_reasons_the_rules_accept() -> None:
    schema = EventCreate.model_json_schema()
    assert schema["properties"]["reason"]["anyOf"][0] == {"$ref": "#/$defs/DismissReason"}
    assert tuple(schema["$defs"]["DismissReason"]["enum"]) == DISMISS_REASONS


def test_a_resolved_event_closes_its_case_in_the_order_the_changes_happened(
    api: httpx.Client, database_url: str
) -> None:
    """API teams whose help desk is not Chatwoot: a `resolved` event closes the case (it leaves the
    console's inbox) at the event's `ts`, through the same ordered path as Chatwoot's webhooks."""
    from datetime import UTC, datetime

    resolved_at, reopened_at = datetime(2026, 10, 1, 9, tzinfo=UTC), datetime(2026, 10, 1, 10, tzinfo=UTC)
    store = open_store(database_url)
    store.cases.upsert([{"id": "c1", "message": "hi"}, {"id": "c2", "message": "hello"}])
    store.cases.follow_status("c2", "open", reopened_at)  # c2 changed after the resolution below
    body = event("resolved", case_id="c1", suggestion_id=None, ts="2026-10-01T09:00:00Z")
    assert api.post("/v1/events", json=body).status_code == 202
    case = store.cases.get("c1")
    assert case is not None and (case.status, case.status_changed_at) == ("resolved", resolved_at)
    store.cases.follow_status("c1", "open", reopened_at)  # the customer wrote again: open
    again = api.post("/v1/events", json=body)  # redelivered: changes nothing
    assert again.status_code == 202 and again.json()["duplicate"] is True
    late = event("resolved", case_id="c2", suggestion_id=None, ts="2026-10-01T09:00:00Z")
    assert api.post("/v1/events", json=late).status_code == 202  # older than c2's last change
    unknown = event("resolved", case_id="nowhere", suggestion_id=None, ts="2026-10-01T09:00:00Z")
    assert api.post("/v1/events", json=unknown).status_code == 202  # no case: stored, nothing else
    assert [(c.id, c.status) for c in sorted(store.cases.list(), key=lambda c: c.id)] == [
        ("c1", "open"),
        ("c2", "open"),
    ]
    store.close()


def test_an_event_naming_a_suggestion_not_stored_is_a_422_that_says_so(
    api: httpx.Client, database_url: str
) -> None:
    """A help desk's connector that sends a reply with a mistyped (or another system's) suggestion id
    learns so at once: before, the event was stored (202) and the reply silently paired with nothing,
    so the match rate it was meant to feed never saw it. An id of another case is refused alike; one
    made without a case may be given any case id (an API team that numbers its cases later)."""
    made = api.post("/v1/suggest", json={"message": "How do I pause payouts?", "case_id": "c1"}).json()
    loose = api.post("/v1/suggest", json={"message": "How do I pause payouts?"}).json()
    reply = {"text": "You can pause payouts in Settings."}
    unknown = api.post("/v1/events", json=event("sent", suggestion_id="s-nowhere", **reply))
    assert unknown.status_code == 422
    assert unknown.json()["detail"].startswith("suggestion_id: no suggestion with this id is stored")
    elsewhere = api.post(
        "/v1/events", json=event("sent", case_id="c2", suggestion_id=made["suggestion_id"], **reply)
    )
    assert elsewhere.status_code == 422
    assert elsewhere.json()["detail"].startswith("suggestion_id: this suggestion was made for another case")
    store = open_store(database_url)
    assert store.db.count("events") == 0
    store.close()
    body = event("sent", suggestion_id=made["suggestion_id"], **reply)
    assert api.post("/v1/events", json=body).status_code == 202
    assert api.post("/v1/events", json=body).json()["duplicate"] is True
    assert (
        api.post(
            "/v1/events", json=event("shown", case_id="c9", suggestion_id=loose["suggestion_id"])
        ).status_code
        == 202
    )


def test_a_retry_gets_the_first_answer_after_its_suggestion_is_gone(
    api: httpx.Client, database_url: str
) -> None:
    """A retry of an accepted event was checked like a new one: once the suggestion it names was no
    longer stored, the help desk's retry got a 422 instead of the `duplicate` it got before (and, with
    its key reused for another request, a 422 instead of the 409 that says so)."""
    made = api.post("/v1/suggest", json={"message": "How do I pause payouts?", "case_id": "c1"}).json()
    body = event("sent", suggestion_id=made["suggestion_id"], text="You can pause payouts in Settings.")
    first = api.post("/v1/events", json=body)
    assert first.status_code == 202, first.text
    store = open_store(database_url)
    with store.db.session() as s:
        s.execute(delete(Suggestion).where(Suggestion.id == made["suggestion_id"]))
    again = api.post("/v1/events", json=body)
    assert again.status_code == 202, again.text
    assert again.json() == {**first.json(), "duplicate": True}
    changed = api.post("/v1/events", json={**body, "text": "Pause them in Settings."})
    assert changed.status_code == 409 and "already used with a different request" in changed.json()["detail"]
    new = api.post("/v1/events", json=event("sent", suggestion_id=made["suggestion_id"], text="Done."))
    assert new.status_code == 422  # a new event is still checked
    assert [e.text for e in store.events.list()] == ["You can pause payouts in Settings."]
    store.close()


def test_metrics_take_a_time_with_its_offset_as_curl_sends_it(api: httpx.Client) -> None:
    """`curl '.../v1/metrics?since=2026-10-01T11:00:00+02:00'` sends the `+` unescaped, which a query
    string reads as a space: the zone the events were posted with was refused (422, "not an ISO date")
    though it can mean nothing else. Now it is read as the offset it is, as `%2B02:00` is."""
    from datetime import UTC, datetime, timedelta, timezone

    assert api.post("/v1/suggest", json={"message": "How do I pause payouts?"}).status_code == 200
    cest = timezone(timedelta(hours=2))
    before = (datetime.now(UTC) - timedelta(minutes=30)).astimezone(cest).strftime("%Y-%m-%dT%H:%M:%S")
    spelt = api.get(f"/v1/metrics?since={before}+02:00")
    escaped = api.get(f"/v1/metrics?since={before}%2B02:00")
    assert spelt.status_code == escaped.status_code == 200
    assert spelt.json()["suggestions"] == escaped.json()["suggestions"] == 1  # not read as UTC: 0
    assert api.get("/v1/metrics?since=2026-10-01 09:00:00").status_code == 200  # a space, no zone: UTC
    bad = api.get("/v1/metrics?since=2026-10-01T09:00 0200x")
    assert bad.status_code == 422 and "is not an ISO date" in bad.json()["detail"]


def test_metrics_read_a_lowercase_z_as_an_event_does(api: httpx.Client) -> None:
    """RFC 3339 allows `z`: `POST /v1/events` took `ts: 2026-10-01T09:00:00z` (202), but the same time
    as `/v1/metrics?since=` was a 422 "not an ISO date or datetime". Now both read it as UTC."""
    body = event("shown", ts="2026-10-01T09:00:00z")
    assert api.post("/v1/events", json=body).status_code == 202
    lower = api.get("/v1/metrics", params={"since": "2026-10-01T09:00:00z", "until": "2026-10-02t00:00:00z"})
    upper = api.get("/v1/metrics", params={"since": "2026-10-01T09:00:00Z", "until": "2026-10-02T00:00:00Z"})
    assert lower.status_code == upper.status_code == 200 and lower.json() == upper.json()
