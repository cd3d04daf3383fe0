"""The demo's experiment: its simulated agents have a real effect built in, and `supportcue experiment
analyze` on the demo workspace recovers it within its interval; the dashboard shows it as simulated.

The demo is built the cheap way (the generated data, replayed through a pipeline that knows the
truth: no training), with the seed and the experiment `supportcue demo` uses."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from supportcue.cli import app
from supportcue.data.store import open_store
from supportcue.demo import generate
from supportcue.demo.simulate import EXPERIMENT, EXPERIMENT_WEEKS, simulate_history
from supportcue.demo.workspace import load_demo
from supportcue.settings import get_settings, init_workspace, load_settings
from tests.demo.oracle import oracle_pipeline
from tests.service.conftest import authorize


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("demo")
    init_workspace(folder)
    store = open_store(load_settings(folder, environ={}).database_url)
    data = generate(seed=7)
    load_demo(store, data)
    summary = simulate_history(store, oracle_pipeline(data), data, seed=7, experiment_weeks=EXPERIMENT_WEEKS)
    store.close()
    return {"folder": folder, "summary": summary, "data": data}


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def cli(folder: Path, *args: str) -> Any:
    out = CliRunner().invoke(app, ["--workspace", str(folder), *args], env={"SUPPORTCUE_DATABASE_URL": ""})
    assert out.exit_code == 0, out.output + repr(out.exception)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_simulation_builds_an_experiment_with_a_real_effect(demo: dict[str, Any]) -> None:
    built = demo["summary"]["experiment"]
    assert built["name"] == EXPERIMENT and built["cases"] > 1000
    assert -0.2 < built["true_lift"] < -0.03  # treatment handle time a few percent lower
    (listed,) = cli(demo["folder"], "experiment", "list", "--json")
    assert listed["name"] == EXPERIMENT and listed["status"] == "stopped" and listed["simulated"]
    # it ends where the open cases begin: the console's inbox is outside it
    store = open_store(load_settings(demo["folder"], environ={}).database_url)
    open_ids = {c.id for c in store.cases.list(status="open")}
    assigned = {a.case_id for a in store.experiments.assignments(EXPERIMENT)}
    store.close()
    assert open_ids and not open_ids & assigned and len(assigned) == built["cases"]


def test_analyze_recovers_the_simulated_effect_within_its_interval(demo: dict[str, Any]) -> None:
    truth = demo["summary"]["experiment"]["true_lift"]
    r = cli(demo["folder"], "experiment", "analyze", EXPERIMENT, "--metric", "handle_seconds", "--json")
    assert r["ci_low"] <= truth <= r["ci_high"], (truth, r)
    assert r["ci_high"] < 0 and r["p_value"] < 0.05  # and the effect is found
    assert r["simulated"] and not r["srm"] and "Welch" in r["method"]
    with_cuped = cli(
        demo["folder"], "experiment", "analyze", EXPERIMENT, "--metric", "handle_seconds", "--cuped", "--json"
    )
    assert with_cuped["ci_low"] <= truth <= with_cuped["ci_high"]
    assert with_cuped["cuped"]["variance_reduction"] >= 0


def test_the_match_rate_is_measured_in_both_arms(demo: dict[str, Any]) -> None:
    r = cli(demo["folder"], "experiment", "analyze", EXPERIMENT, "--metric", "match_rate", "--json")
    control, treatment = r["arms"]
    assert control["n"] > 300 and treatment["n"] > 300  # the control arm's shadow suggestions count
    # the same pipeline in both arms: no difference in what it would suggest
    assert r["ci_low"] < 0 < r["ci_high"]


def test_the_dashboard_shows_the_experiment_as_simulated(demo: dict[str, Any]) -> None:
    from supportcue.service import create_app

    settings = load_settings(demo["folder"], environ={})
    web = create_app(settings, load_models=False)
    headers = authorize(web.state.runtime.store, "reviewer")
    with TestClient(web, headers=headers) as client:
        page = client.get("/dashboard")
    assert page.status_code == 200
    section = page.text.split('id="experiments"', 1)[1]
    assert EXPERIMENT in section and "Simulated:" in section
    rows = {m[0]: m[1] for m in re.findall(r'class="rowhead">([^<]+)</th>(.*?)</tr>', section, re.S)}
    assert re.match(r"<td[^>]*>\d[\d,]* s</td>", rows["Handle time"])  # (a data-label for narrow pages)
    # an interval that excludes no change is in bold; the match rate's (no effect) is not
    assert "<strong>" in rows["Handle time"] and "<strong>" not in rows["Match rate"]
