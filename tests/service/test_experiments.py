"""Experiments over real HTTP on both databases: a case's arm is recorded the first time it is seen,
the control arm is answered no suggestion while its suggestion is computed in shadow and stored, and
the metrics measure the match rate of both arms."""

from __future__ import annotations

from datetime import timedelta

import httpx

from supportcue.data.store import Store
from supportcue.data.tables import utcnow
from supportcue.experiments import Design, choose_arm, create_experiment
from tests.conftest import LiveServer
from tests.service.conftest import shadows_stored

ASK = {"message": "how do I pause a payout", "customer_name": "Ana"}
SHOWN = "Hi Ana,\nYou can pause payouts in Settings."


def _experiment(store: Store) -> Design:
    """A running experiment (as `experiment create` makes it), before the server's first request."""
    return create_experiment(store, Design.create("holdout", ["control", "treatment"]))


def test_the_control_arm_is_shown_no_suggestion(server: LiveServer, api: httpx.Client, store: Store) -> None:
    design = _experiment(store)
    store.cases.upsert([{"id": "known", "message": "hi", "created_at": utcnow() - timedelta(days=2)}])
    answers = {}
    for i in range(24):
        case_id = f"case-{i}"
        r = api.post("/v1/suggest", json={**ASK, "case_id": case_id})
        assert r.status_code == 200
        answers[case_id] = r.json()
    arms = {c: choose_arm(design, c) for c in answers}
    assert set(arms.values()) == {"control", "treatment"}
    for case_id, d in answers.items():
        assert d["arm"] == arms[case_id]
        if arms[case_id] == "control":
            assert d["text"] is None and d["mode"] == "none" and d["abstained_at"] == "holdout"
            assert "holdout" in d["reason"] and "control" in d["reason"]
        else:
            assert d["text"] == SHOWN and d["mode"] == "live" and d["abstained_at"] is None
    # the control arm's suggestion was computed (after the answer), and stored as not shown
    shadows_stored(server)
    control = next(c for c, a in arms.items() if a == "control")
    stored = store.cases.suggestion(answers[control]["suggestion_id"])
    assert stored is not None and stored.arm == "control" and stored.text is None
    assert stored.shadow["text"] == SHOWN and stored.abstained_at == "holdout"
    # the same case keeps its arm; a case seen before the start, or no case id, is outside
    again = api.post("/v1/suggest", json={**ASK, "case_id": control}).json()
    assert again["arm"] == "control" and again["text"] is None
    outside = api.post("/v1/suggest", json={**ASK, "case_id": "known"}).json()
    anonymous = api.post("/v1/suggest", json=ASK).json()
    assert outside["arm"] is None and outside["text"] == SHOWN
    assert anonymous["arm"] is None and anonymous["text"] == SHOWN
    recorded = {a.case_id: a.arm for a in store.experiments.assignments("holdout")}
    assert recorded == arms

    # agents send the suggested text in every case: both arms' match rates are measured
    for case_id, d in answers.items():
        event = {
            "idempotency_key": f"sent-{case_id}",
            "case_id": case_id,
            "suggestion_id": d["suggestion_id"],
            "kind": "sent",
            "text": SHOWN,
        }
        assert api.post("/v1/events", json=event).status_code == 202
    metrics = api.get("/v1/metrics", params={"group_by": "arm"}).json()
    by_arm = {g["key"]: g for g in metrics["groups"]}
    assert by_arm["treatment"]["match_rate"] == 1.0
    assert by_arm["control"]["match_rate"] is None and by_arm["control"]["match_rate_held_out"] == 1.0
    held = sum(a == "control" for a in arms.values()) + 1  # and the case asked again
    assert metrics["held_out"] == held and by_arm["control"]["coverage"] is None
    assert metrics["funnel"][0]["entered"] == metrics["suggestions"] - held
    assert metrics["shadow"] == []  # the held-out chains are not one stage's shadow agreement

    page = api.get("/dashboard")
    section = page.text.split('id="experiments"', 1)[1]
    assert "holdout" in section and "Sequential interval" in section and "Simulated" not in section
