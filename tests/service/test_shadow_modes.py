"""Stage modes over real HTTP on both databases, as a team shipping stages one at a time meets them:
with a stage in shadow, an agent is answered what the live stages alone give (no shadow text, topic
or answer in any field), while the shadow chain's suggestion is stored whole."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from supportcue.data.store import Store
from supportcue.data.tables import Suggestion
from supportcue.experiments import Design, choose_arm, create_experiment
from supportcue.pipeline import Pipeline, SuggestRequest
from supportcue.service import create_app
from supportcue.service.runtime import PipelineLoader
from supportcue.settings import PipelineSettings, Settings, load_settings
from supportcue.stages.base import Message, StageResult
from tests.cli.test_lifecycle import run
from tests.cli.test_newcomer import entry_point
from tests.conftest import LiveServer
from tests.service.conftest import authorize, shadows_stored, wait_loaded
from tests.test_pipeline import STAGES, BrokenTone, FakeTone, make

ASK = {"message": "how do I pause a payout", "customer_name": "Ana", "case_id": "c-1", "message_id": "m-1"}
TONED = "Hi Ana,\nYou can pause payouts in Settings."
UNTONED = "You can pause payouts in Settings."
"""The fake pipeline's suggestion with every stage live (the tone adds the greeting)."""


@pytest.fixture
def modes() -> dict[str, str]:
    """The stage modes of the app's pipeline (a test parametrizes it)."""
    return {}


@pytest.fixture
def app(make_app: Callable[[PipelineLoader], FastAPI], modes: dict[str, str]) -> FastAPI:
    def loader(store: Store, settings: Settings) -> Pipeline:
        pipeline = make()
        pipeline.settings = PipelineSettings(**modes)
        return pipeline

    return make_app(loader)


def as_agent(server: LiveServer, store: Store, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(base_url=server.url, headers=authorize(store, "agent"), timeout=30) as agent:
        r = agent.post("/v1/suggest", json=body)
    assert r.status_code == 200, r.text
    return r


def strings(value: Any) -> list[str]:
    """Every string in a JSON value, keys too."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value, *(s for v in value.values() for s in strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer without what differs between two runs (ids, latencies) or between a stage in shadow
    and off by design (`mode` says whether the shadow chain had a suggestion)."""
    drop = {"suggestion_id", "latency_ms", "mode", "reused", "message_id", "case_id", "arm"}
    out = {k: v for k, v in answer.items() if k not in drop}
    out["trace"] = [{k: v for k, v in t.items() if k != "latency_ms"} for t in answer["trace"]]
    return out


@pytest.mark.parametrize("modes", [{s: "shadow"} for s in STAGES], ids=STAGES)
def test_an_agent_gets_what_the_live_stages_alone_give(
    server: LiveServer, store: Store, modes: dict[str, str]
) -> None:
    (stage,) = modes
    alone = make(**{stage: "off"}).suggest(
        SuggestRequest(**{k: v for k, v in ASK.items() if k != "message_id"})
    )
    for _ in range(2):  # made, then the stored suggestion reused for the same message
        r = as_agent(server, store, ASK)
        assert comparable(r.json()) == comparable(json.loads(json.dumps(alone.public())))
        said = strings(r.json())
        if alone.text != TONED:  # the shadow chain's reply, in no field
            assert not [s for s in said if TONED in s]
        if stage == "response":  # nor the answer the shadow stage chose
            assert not [s for s in said if "You can pause" in s]
    # the shadow chain's suggestion is stored whole (after the answer), its stage's trace with it
    shadows_stored(server)
    stored = store.cases.suggestion(r.json()["suggestion_id"])
    assert stored is not None and stored.shadow["text"] == TONED and stored.shadow["stages"] == [stage]
    assert [t["stage"] for t in stored.trace if t.get("mode") == "shadow"] == [stage]


def test_the_control_arm_is_answered_nothing_its_shadow_chain_made(server: LiveServer, store: Store) -> None:
    design = create_experiment(store, Design.create("holdout", ["control", "treatment"]))
    case_id = next(f"case-{i}" for i in range(100) if choose_arm(design, f"case-{i}") == "control")
    for _ in range(2):  # made, then reused
        d = as_agent(server, store, {**ASK, "case_id": case_id}).json()
        assert d["text"] is None and d["abstained_at"] == "holdout" and d["topic"] is None
        assert [t["stage"] for t in d["trace"]] == ["embed"]  # no stage ran live
        assert not [s for s in strings(d) if "You can pause" in s or s == "payouts"]
    shadows_stored(server)
    stored = store.cases.suggestion(d["suggestion_id"])
    assert stored is not None and stored.shadow["text"] == TONED
    assert [t["stage"] for t in stored.trace] == ["embed", *STAGES]


@pytest.mark.parametrize("modes", [{"topic": "shadow"}], ids=["topic"])
def test_the_shadow_figures_count_the_shadow_chain_and_only_it(
    server: LiveServer, store: Store, api: httpx.Client
) -> None:
    for i in range(3):
        d = as_agent(server, store, {**ASK, "case_id": f"c-{i}", "message_id": f"m-{i}"}).json()
        assert d["text"] is None and d["mode"] == "none"  # what the live stages did
        sent = TONED if i < 2 else "Let me check with the payouts team."
        event = {"idempotency_key": f"s-{i}", "case_id": f"c-{i}", "kind": "sent", "text": sent}
        assert api.post("/v1/events", json=event).status_code == 202
    shadows_stored(server)
    metrics = api.get("/v1/metrics").json()
    assert metrics["shadow"] == [{"stage": "topic", "n": 3, "agreements": 2, "agreement": 0.6667}]
    # nothing was shown: no live match rate, adoption or coverage from the shadow chain's texts
    assert (metrics["match_rate"], metrics["sent_pairs"], metrics["shown"]) == (None, 0, 0)
    assert (metrics["coverage"], metrics["suggested"], metrics["adoption"]) == (0.0, 0, None)
    page = api.get("/dashboard").text.split('id="shadow"', 1)[1].split("</section>", 1)[0]
    assert "topic" in page and "67" in page


@pytest.mark.parametrize("modes", [{"response": "off"}, {"response": "shadow"}], ids=["off", "shadow"])
def test_no_answer_is_the_response_stages_abstention_not_the_tones(
    server: LiveServer, store: Store, api: httpx.Client, modes: dict[str, str]
) -> None:
    d = as_agent(server, store, ASK).json()
    assert d["text"] is None and d["abstained_at"] == "response" and "response" in d["reason"]
    assert [t["stage"] for t in d["trace"]] == ["embed", "validation", "topic"]  # the tone never ran
    funnel = {row["stage"]: row["stopped"] for row in api.get("/v1/metrics").json()["funnel"]}
    assert funnel["response"] == 1 and funnel["tone"] == 0


def set_mode(workspace: Path, stage: str, mode: str) -> None:
    """Edit `[pipeline] stage = mode` in the workspace's supportcue.toml, as a person would."""
    config = workspace / "supportcue.toml"
    text, n = re.subn(rf'(?m)^{stage} = "\w+"', f'{stage} = "{mode}"', config.read_text())
    assert n == 1
    config.write_text(text)


def test_a_mode_changed_in_the_file_is_served_after_a_restart(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTCUE_RESPONSE__MIN_SCORE", "0")  # the small history's answers score low
    run(workspace, "train")
    seen = {}
    for mode in ("live", "shadow", "off"):
        set_mode(workspace, "tone", mode)
        app = create_app(load_settings(workspace))  # what a restart of `serve` builds
        with LiveServer(app) as live:
            wait_loaded(app)
            runtime_store: Store = app.state.runtime.store
            r = as_agent(
                live, runtime_store, {"message": "payout is late please, ref 1", "customer_name": "Ana"}
            )
            shadows_stored(live)
            stored = runtime_store.cases.suggestion(r.json()["suggestion_id"])
        assert stored is not None and stored.answer_id is not None, r.text
        seen[mode] = {t["stage"]: t.get("mode") for t in stored.trace}
        assert [t["stage"] for t in r.json()["trace"] if t["stage"] == "tone"] == (
            ["tone"] if mode == "live" else []
        )
    assert seen["live"]["tone"] == "live" and seen["shadow"]["tone"] == "shadow"
    assert "tone" not in seen["off"]  # off: never run, nothing stored


def test_a_misspelled_stage_is_an_error_naming_the_file_and_key(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run(workspace, "train")
    config = workspace / "supportcue.toml"
    config.write_text(config.read_text().replace('tone = "live"', 'tonne = "shadow"'))
    ask = ("--workspace", str(workspace), "suggest", "payout is late please, ref 1")
    code, err = entry_point(monkeypatch, capsys, *ask)
    assert code == 2, err
    assert err.startswith(f"error: {config}: setting pipeline.tonne: no stage is called 'tonne'; the stages:")
    assert "tone" in err
    code, err = entry_point(monkeypatch, capsys, "--workspace", str(workspace), "serve", "--port", "18931")
    assert code == 2 and err.startswith(f"error: {config}: setting pipeline.tonne"), err  # refuses to start
    app = create_app(load_settings(workspace))  # a server started otherwise says why it serves nothing
    with LiveServer(app) as live:
        wait_loaded(app)
        ready = httpx.get(f"{live.url}/readyz", timeout=10)
    assert ready.status_code == 503 and "setting pipeline.tonne" in ready.json()["reason"]
    monkeypatch.setenv("SUPPORTCUE_PIPELINE__TONNE", "off")  # an environment variable is named instead
    code, err = entry_point(monkeypatch, capsys, *ask)
    assert code == 2 and "SUPPORTCUE_PIPELINE__TONNE: setting pipeline.tonne" in err, err


@pytest.mark.parametrize("modes", [{"tone": "shadow"}], ids=["tone"])
def test_the_control_arm_measures_what_the_other_arm_is_shown_not_the_shadow_stages(
    server: LiveServer, store: Store, modes: dict[str, str]
) -> None:
    design = create_experiment(store, Design.create("holdout", ["control", "treatment"]))
    arm_of = {f"case-{i}": choose_arm(design, f"case-{i}") for i in range(100)}
    treated = as_agent(
        server, store, {**ASK, "case_id": next(c for c, a in arm_of.items() if a != "control")}
    )
    held = as_agent(server, store, {**ASK, "case_id": next(c for c, a in arm_of.items() if a == "control")})
    assert treated.json()["text"] == UNTONED and held.json()["text"] is None
    shadows_stored(server)
    stored = store.cases.suggestion(held.json()["suggestion_id"])
    assert stored is not None and stored.abstained_at == "holdout"
    # the held-out suggestion is the treatment's (the live stages), not one with the tone on trial
    assert stored.shadow["text"] == UNTONED and stored.shadow["stages"] == ["validation", "topic", "response"]
    assert "tone" not in [t["stage"] for t in stored.trace]  # a stage in shadow does not run for it


def test_a_control_arm_suggestion_is_no_shadow_disagreement_to_review(
    server: LiveServer, store: Store
) -> None:
    design = create_experiment(store, Design.create("holdout", ["control", "treatment"]))
    held = [c for c in (f"case-{i}" for i in range(40)) if choose_arm(design, c) == "control"][:3]
    for case_id in held:
        assert as_agent(server, store, {**ASK, "case_id": case_id}).json()["abstained_at"] == "holdout"
    with httpx.Client(base_url=server.url, headers=authorize(store, "reviewer"), timeout=30) as reviewer:
        items = reviewer.get("/v1/review/queue", params={"limit": 50}).json()["data"]
    # no stage was on trial: the arm's chain is the live pipeline, held back (nothing to review as one)
    assert [i["reason"] for i in items if i["reason"] == "shadow_disagreement"] == []


@pytest.fixture
def broken_tone_on_trial(make_app: Callable[[PipelineLoader], FastAPI]) -> FastAPI:
    def loader(store: Store, settings: Settings) -> Pipeline:
        pipeline = make(tone="shadow")
        pipeline.stages["tone"] = BrokenTone().fit([])
        return pipeline

    return make_app(loader)


def test_a_failing_shadow_stage_does_not_make_the_message_a_second_suggestion(
    broken_tone_on_trial: FastAPI,
) -> None:
    with LiveServer(broken_tone_on_trial) as live:
        wait_loaded(broken_tone_on_trial)
        store: Store = broken_tone_on_trial.state.runtime.store
        first = as_agent(live, store, ASK).json()
        again = as_agent(live, store, ASK).json()  # the case opened again, or the Chatwoot embed page
        with store.db.session() as s:
            assert s.scalar(select(func.count()).select_from(Suggestion)) == 1
    assert first["text"] == UNTONED and not first["reused"]
    assert again["reused"] and again["suggestion_id"] == first["suggestion_id"]


class SlowTone(FakeTone):
    """A tone on trial that takes as long as the test wants (an LLM restyling, say)."""

    release = threading.Event()

    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        assert SlowTone.release.wait(20), "the test never released the tone"
        return super().predict(batch)


def test_a_slow_stage_in_shadow_does_not_make_the_agent_wait(
    make_app: Callable[[PipelineLoader], FastAPI],
) -> None:
    """The shadow chain ran before the answer: a tone on trial that took 0.5 s made every agent wait
    0.5 s (and counted in the latency). It now runs after the suggestion is stored and answered."""

    def loader(store: Store, settings: Settings) -> Pipeline:
        pipeline = make(tone="shadow")
        pipeline.stages["tone"] = SlowTone().fit([])
        return pipeline

    app = make_app(loader)
    SlowTone.release.clear()
    with LiveServer(app) as live:
        runtime = wait_loaded(app)
        store: Store = runtime.store
        try:
            with httpx.Client(base_url=live.url, headers=authorize(store, "agent"), timeout=10) as agent:
                d = agent.post("/v1/suggest", json=ASK).json()  # answered while the tone still works
            assert d["text"] == UNTONED and d["mode"] == "live"
            stored = store.cases.suggestion(d["suggestion_id"])
            assert stored is not None and stored.text == UNTONED and stored.shadow == {}
        finally:
            SlowTone.release.set()
        shadows_stored(live)
        stored = store.cases.suggestion(d["suggestion_id"])
        assert stored is not None and stored.shadow["text"] == TONED and stored.shadow["stages"] == ["tone"]
        assert [t["stage"] for t in stored.trace if t.get("chain") == "shadow"] == ["tone"]
        assert stored.text == UNTONED and stored.mode == "live"  # what the agent was shown stays
    # after shutdown (a request the batcher finished late): the comparison is dropped, nothing raised
    pipeline = runtime.pipeline
    assert pipeline is not None
    (prepared,) = pipeline.prepare([SuggestRequest(message="how do I pause a payout")])
    runtime._later_shadow(pipeline, prepared, pipeline.finish(prepared, shadow=False))
    assert runtime.wait_for_shadows(timeout_s=1)
