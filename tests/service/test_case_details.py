"""POST /v1/suggest with the `case_id` of a stored case fills answer placeholders from that case, over
real HTTP on both databases: its fields and its customer's name, as the console and `supportcue
suggest --case-id` read them (a field the body gives wins, key by key; the body's name wins)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import httpx
import pytest
from fastapi import FastAPI

from supportcue.data.store import Store
from supportcue.pipeline import Pipeline
from supportcue.service.runtime import PipelineLoader
from supportcue.settings import Settings
from supportcue.stages.base import Message, StageResult
from supportcue.stages.placeholders import case_values, fill_answer
from supportcue.stages.response import AnswerResult
from tests.service.conftest import case
from tests.test_pipeline import FakeResponse, make

PLAN_ANSWER = "On the {plan} plan, payouts for order {order_id} can be paused in Settings."
ASK = "how do I pause a payout"


class _PlaceholderResponse(FakeResponse):
    """The response stage's placeholder rule (`ResponseStage`): the answer filled from the case, or
    an abstention naming the placeholders the case cannot fill."""

    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        out: list[StageResult] = []
        for m in batch:
            filled = fill_answer(PLAN_ANSWER, case_values(m.customer_name, m.agent_name, m.fields))
            if filled.missing:
                why = f"answer a1 has placeholders the case cannot fill: {', '.join(filled.missing)}"
                out.append(AnswerResult.abstain(why))
            else:
                out.append(AnswerResult("a1", 0.8, text=filled.text, alternatives=()))
        return out


def placeholder_pipeline(store: Store, settings: Settings) -> Pipeline:
    pipeline = make()
    pipeline.stages["response"] = _PlaceholderResponse().fit([])
    return pipeline


@pytest.fixture
def app(make_app: Callable[[PipelineLoader], FastAPI]) -> FastAPI:
    return make_app(placeholder_pipeline)


@pytest.fixture(autouse=True)
def _imported(store: Store) -> None:
    store.cases.upsert(
        [case("imp-1", ASK, "Ana Lima", fields={"plan": "Pro", "order_id": 88213})]  # as `import cases`
    )


def test_a_stored_cases_fields_and_name_fill_the_answer(api: httpx.Client) -> None:
    """The route read nothing of the stored case: the answer's `{plan}` placeholder made it abstain,
    where the console (which sends the case's fields) and the CLI got the suggestion."""
    r = api.post("/v1/suggest", json={"message": ASK, "case_id": "imp-1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["abstained_at"] is None, body["reason"]
    assert body["text"] == "Hi Ana Lima,\nOn the Pro plan, payouts for order 88213 can be paused in Settings."
    # the console's request (case_id and message_id) reads them too
    r = api.post("/v1/suggest", json={"message": ASK, "case_id": "imp-1", "message_id": "text:1"})
    assert r.status_code == 200 and "Pro plan" in (r.json()["text"] or ""), r.text


def test_the_bodys_fields_win_key_by_key_and_its_name_wins(api: httpx.Client) -> None:
    ask = {"message": ASK, "case_id": "imp-1", "customer_name": "Bo", "fields": {"plan": "Basic"}}
    r = api.post("/v1/suggest", json=ask)
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "Hi Bo,\nOn the Basic plan, payouts for order 88213 can be paused in Settings."


def test_a_case_not_stored_or_purged_has_nothing_to_give(api: httpx.Client, store: Store) -> None:
    """A `case_id` no case has (the API takes any) is answered as before: from the body alone."""
    for case_id in ("never-imported", None):
        r = api.post("/v1/suggest", json={"message": ASK, "case_id": case_id, "fields": {"plan": "Pro"}})
        assert r.status_code == 200, r.text
        assert "cannot fill: order_id" in r.json()["reason"]
    store.cases.upsert([{**case("imp-2", "[purged]", "Ana Lima"), "fields": {}, "customer_name": None}])
    r = api.post("/v1/suggest", json={"message": ASK, "case_id": "imp-2"})
    assert r.status_code == 200 and "cannot fill: plan, order_id" in r.json()["reason"], r.text
