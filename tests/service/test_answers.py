"""Over real HTTP on both databases: the answer library's read side (GET /v1/answers, POST
/v1/answers/{id}/compose), one suggestion per customer message (`message_id`), the `alternative`
event, and what an `embed` key may do."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from supportcue.data.importer import import_file
from supportcue.data.store import Store
from supportcue.data.tables import SuggestionClaim
from supportcue.pipeline import Pipeline
from supportcue.service.runtime import PipelineLoader
from supportcue.settings import PipelineSettings, Settings
from tests.conftest import LiveServer
from tests.service.conftest import PAUSE_FOR_A_DAY, PAUSE_PAYOUTS, authorize, pipeline_with_alternatives

ANSWERS = [
    PAUSE_PAYOUTS,
    PAUSE_FOR_A_DAY,
    {"id": "a3", "topic": "payouts", "title": "Payout schedule", "body": "Draft text.", "status": "draft"},
    {
        "id": "r1",
        "topic": "refunds",
        "title": "Refund timing",
        "body": "Refunds take 5 days.",
        "status": "approved",
    },
    {
        "id": "r2",
        "topic": "refunds",
        "title": "100% refund",
        "body": "We refund {customer_name} in full for order {order_id}.",
        "status": "approved",
    },
]


@pytest.fixture
def loader() -> PipelineLoader:
    """The app's pipeline (a test may parametrize `loader` with another)."""
    return pipeline_with_alternatives


@pytest.fixture
def app(make_app: Callable[[PipelineLoader], FastAPI], loader: PipelineLoader) -> FastAPI:
    return make_app(loader)


def shadow_tone(store: Store, settings: Settings) -> Pipeline:
    """`pipeline_with_alternatives` with the tone stage in shadow mode."""
    pipeline = pipeline_with_alternatives(store, settings)
    pipeline.settings = PipelineSettings(tone="shadow")
    return pipeline


@pytest.fixture(autouse=True)
def _library(store: Store) -> None:
    store.library.upsert_answers(ANSWERS)


def client_of(server: LiveServer, store: Store, role: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=authorize(store, role), timeout=30)


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["data"])
    return [a["id"] for a in body["data"]]


# -- GET /v1/answers -----------------------------------------------------------------------------------


def test_an_agent_searches_the_approved_answers(server: LiveServer, store: Store) -> None:
    with client_of(server, store, "agent") as agent:
        assert ids(agent.get("/v1/answers")) == ["a1", "a2", "r1", "r2"]  # approved only, by topic and id
        assert ids(agent.get("/v1/answers", params={"q": "PAUSE day"})) == ["a2"]  # every word, any case
        assert ids(agent.get("/v1/answers", params={"q": "refund"})) == ["r1", "r2"]
        assert ids(agent.get("/v1/answers", params={"q": "full"})) == ["r2"]  # the body counts too
        assert ids(agent.get("/v1/answers", params={"q": "5 days"})) == ["r1"]
        assert ids(agent.get("/v1/answers", params={"q": "100%"})) == ["r2"]  # `%` is no wildcard
        assert ids(agent.get("/v1/answers", params={"q": "5_days"})) == []  # nor `_`
        assert ids(agent.get("/v1/answers", params={"q": "first_name"})) == ["a2"]
        assert ids(agent.get("/v1/answers", params={"topic": "refunds", "limit": 1})) == ["r1"]
        full = agent.get("/v1/answers", params={"q": "one-day"}).json()["data"][0]
        assert (
            full["body"] == PAUSE_FOR_A_DAY["body"] and full["version"] == 1 and full["status"] == "approved"
        )
        r = agent.get("/v1/answers", params={"status": "draft"})
        assert r.status_code == 403 and "reviewers" in r.json()["detail"]


def test_the_library_is_listed_page_by_page(server: LiveServer, store: Store) -> None:
    """A help desk that copies the approved answers into its own macros lists them all: `limit` stops
    at 100, and there was no way past the first page (an `offset` was ignored, the first page came
    again). Now `offset` pages through the same order and `next_offset` says where the next page
    starts (null on the last)."""
    with client_of(server, store, "integration") as desk:
        first = desk.get("/v1/answers", params={"limit": 3})
        assert ids(first) == ["a1", "a2", "r1"] and first.json()["next_offset"] == 3
        rest = desk.get("/v1/answers", params={"limit": 3, "offset": 3})
        assert ids(rest) == ["r2"] and rest.json()["next_offset"] is None
        assert ids(desk.get("/v1/answers", params={"offset": 9})) == []
        whole = desk.get("/v1/answers", params={"limit": 4})
        assert whole.json()["next_offset"] is None
        bad = desk.get("/v1/answers", params={"offset": -1})
        assert bad.status_code == 422 and bad.json()["detail"].startswith("offset:")


def test_answers_whose_title_holds_the_words_come_first(server: LiveServer, store: Store) -> None:
    store.library.upsert_answers(
        [
            {
                "id": "b0",
                "topic": "billing",
                "title": "Invoices",
                "body": "A refund shows here.",
                "status": "approved",
            }
        ]
    )
    with client_of(server, store, "agent") as agent:
        assert ids(agent.get("/v1/answers", params={"q": "refund"})) == ["r1", "r2", "b0"]


def test_the_search_ignores_case_in_every_script(server: LiveServer, store: Store) -> None:
    """SQLite's lower() folds ASCII only: "Überweisung" typed as it is titled, or in small letters,
    found nothing, so a German or French team's agents could not find their answers."""
    rows = [
        ("de", "Überweisungsgebühren", "Die Gebühr für eine SEPA-Überweisung beträgt 1 €."),
        ("fr", "Éléments du relevé", "Chaque ÉTAPE du virement est listée."),
        ("ru", "Возврат платежа", "Возврат занимает 5 дней."),
    ]
    store.library.upsert_answers(
        [{"id": i, "topic": "billing", "title": t, "body": b, "status": "approved"} for i, t, b in rows]
    )
    with client_of(server, store, "agent") as agent:
        for q, found in [
            ("Überweisungsgebühren", ["de"]),
            ("überweisungsgebühren", ["de"]),
            ("ÜBERWEISUNG", ["de"]),
            ("éléments", ["fr"]),
            ("étape", ["fr"]),
            ("ВОЗВРАТ", ["ru"]),
            ("возврат", ["ru"]),
        ]:
            assert ids(agent.get("/v1/answers", params={"q": q})) == found, q


def test_a_reviewer_reads_drafts_and_bad_queries_are_a_422(server: LiveServer, store: Store) -> None:
    with client_of(server, store, "reviewer") as reviewer:
        assert ids(reviewer.get("/v1/answers", params={"status": "draft"})) == ["a3"]
        for params in ({"status": "gone"}, {"limit": 0}, {"limit": 101}, {"q": "x\x00"}, {"q": "x" * 201}):
            r = reviewer.get("/v1/answers", params=params)
            assert r.status_code == 422 and r.json()["detail"], params


# -- POST /v1/answers/{id}/compose ---------------------------------------------------------------------


def test_compose_fills_the_placeholders_and_applies_the_tone(server: LiveServer, store: Store) -> None:
    with client_of(server, store, "agent") as agent:
        r = agent.post("/v1/answers/a2/compose", json={"customer_name": "Ana Lima"})
        assert r.json() == {
            "answer_id": "a2",
            "text": "Hi Ana Lima,\nA one-day pause starts at once, Ana.",
            "missing": [],
        }
        r = agent.post("/v1/answers/r2/compose", json={"customer_name": "Bo"})
        assert r.json()["text"] == "Hi Bo,\nWe refund Bo in full for order {order_id}."
        assert r.json()["missing"] == ["order_id"]
        r = agent.post("/v1/answers/r2/compose", json={"customer_name": "Bo", "fields": {"Order ID": "A-17"}})
        assert r.json()["text"].endswith("for order A-17.") and r.json()["missing"] == []
        for answer_id in ("a3", "nope"):  # a draft is never composed for a customer
            r = agent.post(f"/v1/answers/{answer_id}/compose", json={})
            assert r.status_code == 404 and r.json()["detail"] == "no approved answer with this id"
        r = agent.post("/v1/answers/a2/compose", json={"customer_name": "Bo", "extra": 1})
        assert r.status_code == 422


@pytest.mark.parametrize("loader", [shadow_tone])
def test_compose_leaves_the_tone_out_while_it_is_in_shadow(server: LiveServer, store: Store) -> None:
    with client_of(server, store, "agent") as agent:
        r = agent.post("/v1/answers/a2/compose", json={"customer_name": "Ana Lima"})
        assert r.json()["text"] == "A one-day pause starts at once, Ana."


# -- one suggestion per customer message ---------------------------------------------------------------

ASK = {"case_id": "c9", "message_id": "m1", "message": "how do I pause a payout", "customer_name": "Ana"}


def test_the_same_message_gets_its_stored_suggestion_again(api: httpx.Client, store: Store) -> None:
    first = api.post("/v1/suggest", json=ASK).json()
    again = api.post("/v1/suggest", json={**ASK, "customer_name": "someone else"}).json()
    assert first["reused"] is False and again["reused"] is True
    for key in ("suggestion_id", "text", "topic", "answer_id", "alternatives", "mode", "message_id"):
        assert again[key] == first[key], key
    assert first["alternatives"] == [{"id": "a2", "title": "Pause payouts for a day", "score": 0.61}]
    other = api.post("/v1/suggest", json={**ASK, "message_id": "m2"}).json()
    assert other["reused"] is False and other["suggestion_id"] != first["suggestion_id"]
    elsewhere = api.post("/v1/suggest", json={**ASK, "case_id": "c10"}).json()
    assert elsewhere["suggestion_id"] != first["suggestion_id"]
    plain = {k: v for k, v in ASK.items() if k != "message_id"}
    assert len({api.post("/v1/suggest", json=plain).json()["suggestion_id"] for _ in range(2)}) == 2
    no_case = {k: v for k, v in ASK.items() if k != "case_id"}
    answers = [api.post("/v1/suggest", json=no_case).json() for _ in range(2)]
    assert answers[0]["suggestion_id"] != answers[1]["suggestion_id"] and answers[0]["message_id"] is None
    stored = [r for r in store.db.rows("suggestions") if r["case_id"] == "c9"]
    assert sorted((r["message_key"] or "") for r in stored) == ["", "", "m1", "m2"]


def test_concurrent_requests_for_one_message_make_one_suggestion(
    server: LiveServer, admin_key: dict[str, str], store: Store
) -> None:
    def ask(_: int) -> dict[str, Any]:
        with httpx.Client(base_url=server.url, headers=admin_key, timeout=30) as c:
            return c.post("/v1/suggest", json=ASK).json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))
    assert len({a["suggestion_id"] for a in answers}) == 1
    assert sorted(a["reused"] for a in answers) == [False] + [True] * 7
    assert len([r for r in store.db.rows("suggestions") if r["case_id"] == "c9"]) == 1


def test_a_message_another_process_is_answering_waits_for_that_suggestion(
    server: LiveServer, admin_key: dict[str, str], store: Store
) -> None:
    """Another worker (here: its claim row and, later, its stored suggestion) is making the
    suggestion for this message: the request waits for it instead of making a second one."""
    assert store.cases.claim_message("c9", "m1", "other-worker", lease_s=600)

    def ask() -> dict[str, Any]:
        with httpx.Client(base_url=server.url, headers=admin_key, timeout=60) as c:
            answer: dict[str, Any] = c.post("/v1/suggest", json=ASK).json()
            return answer

    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(ask)
        time.sleep(0.5)  # the request is in; without the claim it would have made its own by now
        assert not waiting.done()
        theirs = {
            "id": "s-other-worker",
            "case_id": "c9",
            "message_key": "m1",
            "pipeline_version": "other",
            "model_versions": {},
            "trace": [],
            "text": "Their suggestion.",
            "mode": "live",
        }
        store.cases.add_suggestions([theirs])
        store.cases.release_message("c9", "m1", "other-worker")
        answer = waiting.result(timeout=60)
    assert answer["suggestion_id"] == "s-other-worker" and answer["reused"] is True
    assert [r["id"] for r in store.db.rows("suggestions") if r["case_id"] == "c9"] == ["s-other-worker"]


def test_a_claim_whose_maker_died_is_taken_over(api: httpx.Client, store: Store) -> None:
    lapsed = datetime.now(UTC) - timedelta(hours=1)
    claim = {"case_id": "c9", "message_key": "m1", "owner": "dead-worker", "claimed_at": lapsed}
    store.db.upsert(SuggestionClaim, [claim], ["case_id", "message_key"])
    answer = api.post("/v1/suggest", json=ASK).json()
    assert answer["reused"] is False and answer["text"]
    assert api.post("/v1/suggest", json=ASK).json()["suggestion_id"] == answer["suggestion_id"]
    with store.db.session() as s:  # released once the suggestion was stored
        assert list(s.scalars(select(SuggestionClaim))) == []


def test_a_failed_suggestion_is_not_reused(api: httpx.Client) -> None:
    boom = {**ASK, "message": "boom"}  # the fake topic stage raises on it
    first = api.post("/v1/suggest", json=boom).json()
    again = api.post("/v1/suggest", json=boom).json()
    assert first["abstained_at"] == "topic" and "error in topic stage" in first["reason"]
    assert again["reused"] is False and again["suggestion_id"] != first["suggestion_id"]
    chit_chat = {**ASK, "message": "thanks", "message_id": "m3"}  # an abstention is an answer: kept
    assert api.post("/v1/suggest", json=chit_chat).json()["reused"] is False
    assert api.post("/v1/suggest", json=chit_chat).json()["reused"] is True


# -- the `alternative` event ---------------------------------------------------------------------------


def test_an_alternative_event_names_its_answer(api: httpx.Client, store: Store) -> None:
    suggestion = api.post("/v1/suggest", json=ASK).json()
    event = {"case_id": "c9", "suggestion_id": suggestion["suggestion_id"], "kind": "alternative"}
    r = api.post("/v1/events", json={**event, "idempotency_key": "k1"})
    assert r.status_code == 422 and "answer_id" in r.json()["detail"]
    r = api.post("/v1/events", json={**event, "idempotency_key": "k1", "answer_id": "a-nowhere"})
    assert r.status_code == 422 and r.json()["detail"].startswith("answer_id: no answer with this id")
    assert store.events.list(case_id="c9") == []
    r = api.post("/v1/events", json={**event, "idempotency_key": "k1", "answer_id": "a2"})
    assert r.status_code == 202 and r.json()["kind"] == "alternative"
    (stored,) = store.events.list(case_id="c9")
    assert stored.answer_id == "a2" and stored.suggestion_id == suggestion["suggestion_id"]


# -- the embed key -------------------------------------------------------------------------------------


def test_an_embed_key_posts_what_an_agent_does_with_a_suggestion_only(
    server: LiveServer, store: Store
) -> None:
    with client_of(server, store, "embed") as embed:
        suggestion = embed.post("/v1/suggest", json=ASK).json()
        base = {"case_id": "c9", "suggestion_id": suggestion["suggestion_id"], "agent_id": "chatwoot:3"}
        for fields in ({"kind": "shown"}, {"kind": "inserted"}, {"kind": "dismissed", "reason": "tone"}):
            r = embed.post("/v1/events", json={**base, **fields, "idempotency_key": str(uuid.uuid4())})
            assert r.status_code == 202, r.text
        for fields in ({"kind": "sent", "text": "Hi"}, {"kind": "resolved"}, {"kind": "edited"}):
            r = embed.post("/v1/events", json={**base, **fields, "idempotency_key": str(uuid.uuid4())})
            assert r.status_code == 403 and "come from the help desk" in r.json()["detail"], fields
        assert sorted(e.kind for e in store.events.list(case_id="c9")) == ["dismissed", "inserted", "shown"]
        assert {e.agent_id for e in store.events.list(case_id="c9")} == {"chatwoot:3"}
        assert embed.post("/v1/answers/a2/compose", json={}).status_code == 200
        for path in ("/", "/cases/c9", "/dashboard", "/v1/metrics", "/metrics"):
            assert embed.get(path).status_code == 403, path


@pytest.mark.parametrize("change", [{"status": "retired"}, {"body": "Payouts cannot be paused any more."}])
def test_a_stored_suggestion_is_not_shown_again_once_its_answer_is_retired_or_changed(
    api: httpx.Client, store: Store, change: dict[str, str]
) -> None:
    """A reviewer retires (or rewrites) the answer a suggestion quoted: the next request for the same
    message does not get the old text back as if it were still the library's answer."""
    first = api.post("/v1/suggest", json=ASK).json()
    assert first["answer_id"] == "a1" and first["text"]
    reviewer = {"Authorization": authorize(store, "reviewer")["Authorization"]}
    assert (
        api.patch("/v1/answers/a1", json={**change, "base_version": 1}, headers=reviewer).status_code == 200
    )
    again = api.post("/v1/suggest", json=ASK).json()
    assert again["reused"] is False and again["suggestion_id"] != first["suggestion_id"]
    if "body" in change:  # a suggestion made from the new text is reused as before
        fresh = api.post("/v1/suggest", json={**ASK, "message_id": "m2"}).json()
        assert fresh["answer_id"] == "a1" and fresh["text"]
        assert api.post("/v1/suggest", json={**ASK, "message_id": "m2"}).json()["reused"] is True


@pytest.mark.parametrize("version_column", [False, True])
def test_a_stored_suggestion_is_not_shown_again_once_an_import_changed_its_answer(
    api: httpx.Client, store: Store, tmp_path: Path, version_column: bool
) -> None:
    """The library kept in a spreadsheet and imported again with a rewritten answer: the old text was
    served again for the same message (the import replaced version 1's text and its date stayed)."""
    first = api.post("/v1/suggest", json=ASK).json()
    assert first["answer_id"] == "a1" and first["text"]
    path = tmp_path / "answers.csv"
    header, version = (
        ("id,topic,title,body,status,version", ",1") if version_column else ("id,topic,title,body,status", "")
    )
    path.write_text(
        f"{header}\na1,payouts,Pause payouts,Payouts cannot be paused any more.,approved{version}\n"
    )
    assert import_file(store, "answers", path).stored == 1
    again = api.post("/v1/suggest", json=ASK).json()
    assert again["reused"] is False and again["suggestion_id"] != first["suggestion_id"]


def test_context_turns_are_read_as_an_imported_case_reads_them(api: httpx.Client) -> None:
    """README: a turn is a string (the customer's) or {"role": "customer"|"agent"|"bot", "text": ...}.
    The API refused a list of strings (422, "Input should be a valid dictionary") and silently dropped
    a turn it could not read ({"role": "robot"}, one without text): the suggestion was made without it."""
    turns = [
        "My payouts look odd this week.",
        {"role": "bot", "text": "Payouts arrive in 2 days."},
        {"role": "agent", "text": "Which account is it?"},
    ]
    r = api.post("/v1/suggest", json={"message": "how do I pause a payout", "context": turns})
    assert r.status_code == 200, r.text
    for bad, says in (
        ({"role": "robot", "text": "Hello"}, "turn 2: role must be one of customer | agent | bot"),
        ({"role": "agent"}, "turn 2: expected text or an object with a text key"),
        ({"text": 5}, "turn 2: expected text or an object with a text key"),
    ):
        r = api.post("/v1/suggest", json={"message": "how do I pause a payout", "context": ["Hi", bad]})
        assert r.status_code == 422 and says in r.json()["detail"], r.text


def test_a_case_field_given_as_a_number_fills_its_placeholder(api: httpx.Client) -> None:
    """A help desk sends its order ids as numbers, as `import cases` reads them from a .jsonl file: the
    API answered 422 "Input should be a valid string" for `{"order_id": 88213}`."""
    ask = {"message": "I want a refund for my order", "customer_name": "Ana", "fields": {"order_id": 88213}}
    r = api.post("/v1/suggest", json=ask)
    assert r.status_code == 200, r.text
    composed = api.post(
        "/v1/answers/r2/compose", json={"customer_name": "Ana", "fields": {"order_id": 88213}}
    )
    assert composed.status_code == 200, composed.text
    assert "order 88213" in composed.json()["text"] and composed.json()["missing"] == []
    for bad in (1.5, True, None, [1]):
        r = api.post("/v1/suggest", json={**ask, "fields": {"order_id": bad}})
        assert r.status_code == 422, (bad, r.text)
