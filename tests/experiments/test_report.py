"""`summarize`: the analysis's JSON and its guard rails, on hand-built outcomes."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest
from scipy import stats

from supportcue.experiments import Design, summarize
from supportcue.experiments.outcomes import CaseOutcome, Outcomes
from supportcue.vocab import ExperimentStatus

T0 = datetime(2026, 10, 1, tzinfo=UTC)
V1 = "validation:v1+topic:v1+response:v1+tone:policy"


def _design(running: bool = False, weights: tuple[int, int] = (50, 50)) -> Design:
    design = Design.create("holdout", ["control", "treatment"], list(weights), started_at=T0)
    if running:
        return design
    return replace(design, status=ExperimentStatus.STOPPED, ended_at=datetime(2026, 11, 1, tzinfo=UTC))


def _outcomes(n_control: int, n_treatment: int, effect: float = -0.1, seed: int = 1) -> Outcomes:
    """Cases whose handle time depends on the agent (a, b, c: slow to fast) and, in treatment, on `effect`."""
    rng = np.random.default_rng(seed)
    speed = {"a": 400.0, "b": 300.0, "c": 200.0}
    cases = []
    for i in range(n_control + n_treatment):
        arm = "control" if i < n_control else "treatment"
        agent = "abc"[i % 3]
        handle = speed[agent] * rng.lognormal(0, 0.4) * (1 + effect if arm == "treatment" else 1)
        cases.append(CaseOutcome(f"c{i}", arm, agent, handle, 1.0, handle / 2, float(rng.random() < 0.6)))
    versions = {"control": Counter({V1: n_control}), "treatment": Counter({V1: n_treatment})}
    return Outcomes(cases, agent_means=dict(speed), versions=versions)


def test_the_contract_keys_and_the_lift() -> None:
    outcomes = _outcomes(1500, 1500)
    r = summarize(_design(), outcomes, "handle_seconds")
    assert {"arms", "lift", "ci_low", "ci_high", "p_value", "srm_p_value", "method"} <= set(r)
    assert [(a["name"], a["n"]) for a in r["arms"]] == [("control", 1500), ("treatment", 1500)]
    control = [c.handle_seconds for c in outcomes.cases if c.arm == "control"]
    assert r["arms"][0]["mean"] == pytest.approx(np.mean(control), abs=1e-6)
    assert r["ci_low"] < -0.1 < r["ci_high"] and r["p_value"] < 0.001
    assert "Welch" in r["method"] and not r["sequential"] and r["warnings"] == []
    assert r["difference"]["p_value"] is not None


def test_a_skewed_split_is_flagged_as_srm() -> None:
    r = summarize(_design(), _outcomes(1700, 1300), "handle_seconds")
    assert r["srm"] and r["srm_p_value"] == pytest.approx(stats.chisquare([1700, 1300]).pvalue, rel=1e-4)
    assert any(w.startswith("sample ratio mismatch") and "control 1,700" in w for w in r["warnings"])
    # the same counts are what 57/43 weights promise: no mismatch
    fair = summarize(_design(weights=(57, 43)), _outcomes(1700, 1300), "handle_seconds")
    assert not fair["srm"]


def test_a_running_experiment_gets_the_sequential_interval_only() -> None:
    outcomes = _outcomes(800, 800)
    running = summarize(_design(running=True), outcomes, "handle_seconds")
    stopped = summarize(_design(), outcomes, "handle_seconds")
    assert running["sequential"] and "confidence sequence" in running["method"]
    assert "still running" in " ".join(running["warnings"])
    assert running["ci_high"] - running["ci_low"] > stopped["ci_high"] - stopped["ci_low"]
    assert set(running["difference"]) == {"value"}  # no fixed-horizon interval while it runs


def test_too_few_cases_says_how_many_are_needed() -> None:
    r = summarize(_design(), _outcomes(60, 60, effect=0.0), "handle_seconds", mde=0.05)
    (warning,) = [w for w in r["warnings"] if w.startswith("too few cases")]
    needed = r["mde"]["needed_per_arm"]
    assert needed > 1000 and f"{needed:,} per arm needed" in warning and "60 in the smallest arm" in warning


def test_mixed_pipeline_versions_are_a_warning() -> None:
    outcomes = _outcomes(1000, 1000)
    outcomes.versions["treatment"] = Counter({V1: 600, V1.replace("topic:v1", "topic:v2"): 400})
    r = summarize(_design(), outcomes, "handle_seconds")
    (warning,) = [w for w in r["warnings"] if "mixed pipeline versions" in w]
    assert "topic:v2" in warning and "(400)" in warning


def test_cuped_uses_the_agents_earlier_handle_time() -> None:
    outcomes = _outcomes(1500, 1500)
    plain = summarize(_design(), outcomes, "handle_seconds")
    cuped = summarize(_design(), outcomes, "handle_seconds", cuped=True)
    assert cuped["cuped"]["variance_reduction"] > 0.2 and "CUPED" in cuped["method"]
    assert cuped["ci_high"] - cuped["ci_low"] < plain["ci_high"] - plain["ci_low"]
    assert math.isclose(cuped["arms"][0]["mean"], plain["arms"][0]["mean"])  # raw means as they are
    # no handle times before the experiment: nothing to adjust by, and it says so
    outcomes.agent_means.clear()
    bare = summarize(_design(), outcomes, "handle_seconds", cuped=True)
    assert bare["cuped"]["theta"] == 0 and bare["ci_low"] == plain["ci_low"]
    assert any("--cuped changed nothing" in w for w in bare["warnings"])


def test_every_metric_and_an_empty_arm() -> None:
    outcomes = _outcomes(300, 300)
    for metric in ("resolved", "first_reply_seconds", "match_rate"):
        assert summarize(_design(), outcomes, metric)["arms"][0]["n"] == 300
    nobody = Outcomes([c for c in outcomes.cases if c.arm == "control"], versions=outcomes.versions)
    r = summarize(_design(), nobody, "handle_seconds")
    assert r["lift"] is None and r["srm"] and any("too few cases" in w for w in r["warnings"])


def test_a_control_mean_of_zero_still_gets_the_difference_and_its_interval() -> None:
    """`experiment analyze --metric match_rate` on a stopped experiment whose control arm matched
    nothing gave no interval or p-value for the difference, only the relative lift's error."""
    cases = [CaseOutcome(f"c{i}", "control", match_rate=0.0) for i in range(30)]
    cases += [CaseOutcome(f"t{i}", "treatment", match_rate=float(i < 12)) for i in range(30)]
    r = summarize(_design(), Outcomes(cases), "match_rate")
    expected = stats.ttest_ind([float(i < 12) for i in range(30)], [0.0] * 30, equal_var=False)
    assert r["lift"] is None and "mean is 0" in r["comparisons"][0]["error"]
    assert r["difference"]["value"] == pytest.approx(0.4)
    assert r["difference"]["p_value"] == pytest.approx(expected.pvalue, abs=1e-6)
    assert r["difference"]["ci_low"] == pytest.approx(expected.confidence_interval(0.95).low, abs=1e-6)


WEEK = 7 * 24 * 3600


def _forgotten(outcomes: Outcomes, control: int, treatment: int) -> Outcomes:
    """`outcomes` with this many more cases per arm resolved after 8 to 30 days (left open, then
    auto-resolved: Chatwoot's resolution time is no handle time)."""
    extra = [
        CaseOutcome(f"f{arm}{i}", arm, "a", WEEK * (8 + i) / 7, 1.0)
        for arm, n in (("control", control), ("treatment", treatment))
        for i in range(n)
    ]
    return replace(outcomes, cases=outcomes.cases + extra)


def test_handle_times_over_the_cap_are_left_out_counted_and_named() -> None:
    outcomes = _outcomes(1500, 1500)
    plain = summarize(_design(), outcomes, "handle_seconds")
    forgotten = _forgotten(outcomes, 3, 2)
    r = summarize(_design(), forgotten, "handle_seconds")
    assert r["max_handle_seconds"] == WEEK
    assert [(a["n"], a["excluded"], a["mean"]) for a in r["arms"]] == [
        (a["n"], k, a["mean"]) for a, k in zip(plain["arms"], (3, 2), strict=True)
    ]
    assert r["lift"] == plain["lift"] and r["ci_low"] == plain["ci_low"]
    (note,) = [w for w in r["warnings"] if "left out" in w]
    assert "5 cases" in note and "control 3, treatment 2" in note and "max_handle_seconds" in note
    # the cases still count as resolved; other metrics report nothing left out
    resolved = summarize(_design(), forgotten, "resolved")
    assert [(a["n"], a["excluded"]) for a in resolved["arms"]] == [(1503, 0), (1502, 0)]
    # without the cap (None: the setting's 0) they are kept, and the mean shows what they do to it
    kept = summarize(_design(), replace(forgotten, max_handle_seconds=None), "handle_seconds")
    assert [a["excluded"] for a in kept["arms"]] == [0, 0] and kept["max_handle_seconds"] is None
    assert kept["arms"][0]["mean"] > 2 * plain["arms"][0]["mean"]
    assert not any("left out" in w for w in kept["warnings"])


def test_an_arm_that_loses_more_cases_to_the_cap_is_a_warning() -> None:
    """Leaving cases out by their outcome is safe only when the arms lose alike: when one loses
    more (suggestions that make agents forget conversations?), the comparison is biased."""
    r = summarize(_design(), _forgotten(_outcomes(1500, 1500), 2, 60), "handle_seconds")
    assert any("lose different shares of cases to the cap" in w for w in r["warnings"]), r["warnings"]
    alike = summarize(_design(), _forgotten(_outcomes(1500, 1500), 3, 2), "handle_seconds")
    assert not any("different shares" in w for w in alike["warnings"])
