"""`supportcue experiment create|list|stop|analyze` per the contract, on both databases (`supportcue
suggest --case-id` during an experiment is in test_workflow.py, which trains a workspace)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from supportcue.cli import app
from supportcue.data.store import open_store
from supportcue.errors import ExperimentError
from supportcue.experiments import Design, choose_arm, create_experiment, get_experiment
from supportcue.settings import init_workspace

Workspace = tuple[Path, dict[str, str]]


@pytest.fixture
def workspace(tmp_path: Path, database_url: str) -> Workspace:
    init_workspace(tmp_path)
    return tmp_path, {"SUPPORTCUE_DATABASE_URL": database_url}


def run(ws: Workspace, *args: str) -> Result:
    folder, env = ws
    return CliRunner().invoke(app, ["--workspace", str(folder), *args], env=env)


def last_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output + repr(result.exception)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_create_list_stop(workspace: Workspace) -> None:
    made = run(
        workspace, "experiment", "create", "holdout-1", "--arms", "control,treatment", "--weights", "40,60"
    )
    assert made.exit_code == 0 and "'control' arm is served no suggestion" in made.stdout
    (row,) = last_json(run(workspace, "experiment", "list", "--json"))
    assert {"name", "status", "arms", "weights", "start", "stop"} <= set(row)
    assert (row["name"], row["status"], row["arms"], row["weights"]) == (
        "holdout-1",
        "running",
        ["control", "treatment"],
        [40, 60],
    )
    assert row["start"] and row["stop"] is None
    stopped = run(workspace, "experiment", "stop", "holdout-1")
    assert stopped.exit_code == 0, stopped.output
    (row,) = last_json(run(workspace, "experiment", "list", "--json"))
    assert row["status"] == "stopped" and row["stop"] >= row["start"]
    # stopped, another may start; --start takes a date
    run(workspace, "experiment", "create", "holdout-2", "--arms", "a,b", "--start", "2030-01-05")
    newest = last_json(run(workspace, "experiment", "list", "--json"))[0]
    assert (newest["name"], newest["start"]) == ("holdout-2", "2030-01-05T00:00:00+00:00")


def test_one_experiment_runs_at_a_time(workspace: Workspace) -> None:
    run(workspace, "experiment", "create", "first", "--arms", "control,treatment")
    second = run(workspace, "experiment", "create", "second", "--arms", "control,treatment")
    assert isinstance(second.exception, ExperimentError)
    assert "'first' is running" in str(second.exception) and "experiment stop first" in str(second.exception)
    # the real command: one line naming it, exit 2, no traceback
    folder, env = workspace
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "supportcue.cli",
            "--workspace",
            str(folder),
            "experiment",
            "create",
            "third",
            "--arms",
            "control,treatment",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert proc.returncode == 2 and "'first' is running" in proc.stderr and "Traceback" not in proc.stderr
    assert [e["name"] for e in last_json(run(workspace, "experiment", "list", "--json"))] == ["first"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--arms", "control"], "at least two different arms"),
        (["--arms", "control,control"], "at least two different arms"),
        (["--arms", "control,treatment", "--weights", "50"], "--weights has 1 values for 2 arms"),
        (["--arms", "control,treatment", "--weights", "50,x"], "'x' is not a number"),
        (["--arms", "control,treatment", "--weights", "50,-1"], "positive"),
        (["--arms", "control,treat ment"], "arm 'treat ment'"),
        (["--arms", "control,treatment", "--coverage", "0"], "--coverage"),
        (["--arms", "control,treatment", "--start", "soon"], "--start='soon' is not an ISO date"),
        (["--arms", "control,treatment", "--metrics", "speed"], "--metrics: speed"),
        (["--arms", "control,treatment", "--start", "2020-01-01"], "2020-01-01 00:00 UTC is in the past"),
    ],
)
def test_bad_options_are_clear_errors(workspace: Workspace, args: list[str], says: str) -> None:
    out = run(workspace, "experiment", "create", "x", *args)
    assert isinstance(out.exception, ExperimentError), out.output
    assert says in str(out.exception)
    assert last_json(run(workspace, "experiment", "list", "--json")) == []


def test_unknown_experiment_and_metric(workspace: Workspace) -> None:
    out = run(workspace, "experiment", "stop", "nope")
    assert isinstance(out.exception, ExperimentError) and "no experiment named 'nope'" in str(out.exception)
    run(workspace, "experiment", "create", "h", "--arms", "control,treatment")
    bad = run(workspace, "experiment", "analyze", "h", "--metric", "speed", "--json")
    assert isinstance(bad.exception, ExperimentError) and "handle_seconds" in str(bad.exception)
    run(workspace, "experiment", "stop", "h")
    again = run(workspace, "experiment", "stop", "h")
    assert isinstance(again.exception, ExperimentError) and "is not running" in str(again.exception)


def _history(database_url: str, name: str, n: int = 400) -> None:
    """Cases of a running experiment with handle times, the treatment arm 20% faster."""
    store = open_store(database_url)
    design = get_experiment(store, name)
    start = design.started_at or datetime.now(UTC)
    rows, events, assigned = [], [], []
    for i in range(n):
        case_id, at = f"c{i}", start + timedelta(minutes=i)
        arm = choose_arm(design, case_id)
        assert arm is not None
        handle = (200.0 + (i * 37) % 120) * (0.8 if arm == "treatment" else 1.0)
        rows.append({"id": case_id, "message": "m", "created_at": at})
        events.append(
            {
                "idempotency_key": f"r{i}",
                "case_id": case_id,
                "kind": "resolved",
                "handle_seconds": handle,
                "ts": at,
            }
        )
        assigned.append({"case_id": case_id, "arm": arm, "assigned_at": at})
    store.cases.upsert(rows)
    store.events.add_many(events)
    store.experiments.record(name, assigned)
    store.close()


def test_analyze_json_has_the_contract_keys(workspace: Workspace) -> None:
    # created as of 2026-10-01 (`experiment create` refuses a start in the past), then its history
    past = datetime(2026, 10, 1, tzinfo=UTC)
    store = open_store(workspace[1]["SUPPORTCUE_DATABASE_URL"])
    create_experiment(store, Design.create("h", ["control", "treatment"], started_at=past), now=past)
    store.close()
    _history(workspace[1]["SUPPORTCUE_DATABASE_URL"], "h")
    running = last_json(run(workspace, "experiment", "analyze", "h", "--metric", "handle_seconds", "--json"))
    for key in ("arms", "lift", "ci_low", "ci_high", "p_value", "srm_p_value", "method"):
        assert key in running
    assert all({"name", "n", "mean"} <= set(a) for a in running["arms"])
    assert sum(a["n"] for a in running["arms"]) == 400
    assert running["sequential"] and "confidence sequence" in running["method"]
    assert running["ci_low"] < -0.2 < running["ci_high"]
    run(workspace, "experiment", "stop", "h")
    final = last_json(
        run(workspace, "experiment", "analyze", "h", "--metric", "handle_seconds", "--cuped", "--json")
    )
    assert not final["sequential"] and "Welch" in final["method"] and "CUPED" in final["method"]
    assert final["ci_low"] < -0.2 < final["ci_high"] and final["p_value"] < 0.001
    plain = run(workspace, "experiment", "analyze", "h")
    assert plain.exit_code == 0 and "treatment vs control: lift -" in plain.stdout
    assert "control (control)" not in plain.stdout  # the arm named control is not called so twice


def _own_split(
    folder: Path, start: datetime, n: int = 200, arms: tuple[str, str] = ("control", "treatment")
) -> None:
    """A desk's own split, imported: cases with an `arm` column, their resolutions with handle times;
    the second arm (with suggestions) 20% faster."""
    cases, events = ["id,message,created_at,arm"], ["idempotency_key,case_id,kind,handle_seconds,ts"]
    for i in range(n):
        at = (start + timedelta(hours=i)).isoformat()
        arm = arms[i % 2]
        handle = (200.0 + (i * 37) % 120) * (0.8 if arm == arms[1] else 1.0)
        cases.append(f"d{i},where is my refund,{at},{arm}")
        events.append(f"r{i},d{i},resolved,{handle},{at}")
    (folder / "cases.csv").write_text("\n".join(cases) + "\n")
    (folder / "events.csv").write_text("\n".join(events) + "\n")


def test_analyze_uses_a_desks_own_imported_arms(workspace: Workspace) -> None:
    folder = workspace[0]
    _own_split(folder, datetime(2026, 6, 1, tzinfo=UTC), arms=("without", "with"))
    for kind in ("cases", "events"):
        imported = run(workspace, "import", kind, str(folder / f"{kind}.csv"))
        assert imported.exit_code == 0, imported.output
    # no experiment of that name: the arms the cases were imported with, named as such
    result = last_json(
        run(workspace, "experiment", "analyze", "own-split", "--arms", "without,with", "--json")
    )
    assert result["arms_from"] == "cases" and "imported" in result["arms_source"]
    assert [(a["name"], a["n"]) for a in result["arms"]] == [("without", 100), ("with", 100)]
    assert (result["control"], result["treatment"]) == ("without", "with")
    assert not result["sequential"] and result["ci_low"] < -0.2 < result["ci_high"] < 0
    for key in ("lift", "ci_low", "ci_high", "p_value", "srm_p_value", "method"):
        assert key in result
    assert not result["srm"]
    # without --arms and no arm named control: which is the control is asked, not guessed (under a
    # name not analysed yet: own-split is stored now, with its arms)
    guessed = run(workspace, "experiment", "analyze", "other-split", "--json")
    assert isinstance(guessed.exception, ExperimentError)
    assert "with (100), without (100)" in str(guessed.exception) and "--arms" in str(guessed.exception)
    text = run(workspace, "experiment", "analyze", "own-split", "--arms", "without,with")
    assert text.exit_code == 0, text.output
    assert "imported cases' arm column" in text.stdout and "with vs without: lift -" in text.stdout
    # only the live assignments: there are none, and no experiment of that name
    live = run(workspace, "experiment", "analyze", "third-split", "--arms-from", "assignments")
    assert isinstance(live.exception, ExperimentError) and "no experiment named" in str(live.exception)
    missing = run(workspace, "experiment", "analyze", "third-split", "--arms", "without,wit")
    assert isinstance(missing.exception, ExperimentError) and "'wit'" in str(missing.exception)
    # a refused analysis stores nothing
    assert [r["name"] for r in last_json(run(workspace, "experiment", "list", "--json"))] == ["own-split"]


def test_analyze_a_stored_experiment_without_assignments_reads_the_imported_arms(
    workspace: Workspace,
) -> None:
    """An experiment the desk split itself (its help desk asked for suggestions in one arm only, so
    supportcue assigned nothing): its cases' imported arms, from its start on."""
    folder, env = workspace
    past = datetime(2026, 10, 1, tzinfo=UTC)
    store = open_store(env["SUPPORTCUE_DATABASE_URL"])
    create_experiment(store, Design.create("h", ["control", "treatment"], started_at=past), now=past)
    store.close()
    _own_split(folder, past - timedelta(hours=50))  # the first 50 cases came before it started
    for kind in ("cases", "events"):
        assert run(workspace, "import", kind, str(folder / f"{kind}.csv")).exit_code == 0
    result = last_json(run(workspace, "experiment", "analyze", "h", "--json"))
    assert result["arms_from"] == "cases" and "no live assignments" in result["arms_source"]
    assert sum(a["n"] for a in result["arms"]) == 150
    live = last_json(run(workspace, "experiment", "analyze", "h", "--arms-from", "assignments", "--json"))
    assert live["arms_from"] == "assignments" and sum(a["n"] for a in live["arms"]) == 0


def test_an_analysis_of_imported_arms_is_stored_as_an_experiment(workspace: Workspace) -> None:
    """`analyze NAME --arms-from cases` under a name no experiment had printed its result and kept
    nothing: `experiment list` did not show it and analysing it again needed every option again. It
    is stored (listed as stopped, `imported: true`) with its arms, weights and the cases' window, once:
    a re-run, with or without the same options, gives the same result and stores nothing more."""
    folder = workspace[0]
    start = datetime(2026, 6, 1, tzinfo=UTC)
    _own_split(folder, start, arms=("without", "with"))
    for kind in ("cases", "events"):
        assert run(workspace, "import", kind, str(folder / f"{kind}.csv")).exit_code == 0
    args = ("experiment", "analyze", "own-split", "--arms-from", "cases", "--arms", "without,with")
    first = last_json(run(workspace, *args, "--weights", "50,50", "--json"))
    (row,) = last_json(run(workspace, "experiment", "list", "--json"))
    assert (row["name"], row["status"], row["imported"]) == ("own-split", "stopped", True)
    assert (row["arms"], row["weights"], row["control"]) == (["without", "with"], [50, 50], "without")
    # the split's span; the stop is exclusive (as --until is): just past the last case
    stop = start + timedelta(hours=199, microseconds=1)
    assert row["start"] == start.isoformat() and row["stop"] == stop.isoformat()
    listed = run(workspace, "experiment", "list")
    assert listed.exit_code == 0 and "own-split" in listed.stdout and "(imported)" in listed.stdout
    for again in (args, ("experiment", "analyze", "own-split"), (*args[:3], "--arms-from", "auto")):
        result = last_json(run(workspace, *again, "--json"))
        assert result == first, again
    assert len(last_json(run(workspace, "experiment", "list", "--json"))) == 1
    # another split under that name is refused, naming the stored one
    other = run(workspace, "experiment", "analyze", "own-split", "--arms", "with,without")
    assert isinstance(other.exception, ExperimentError)
    assert "without,with" in str(other.exception), str(other.exception)
    live = run(workspace, "experiment", "analyze", "own-split", "--arms-from", "assignments")
    assert isinstance(live.exception, ExperimentError) and "imported arms" in str(live.exception)
    stop = run(workspace, "experiment", "stop", "own-split")
    assert isinstance(stop.exception, ExperimentError) and "imported arms" in str(stop.exception)
    # it runs in no one's way: an experiment may start now
    made = run(workspace, "experiment", "create", "next", "--arms", "control,treatment")
    assert made.exit_code == 0, made.output


def test_analyze_prints_imported_arm_names_as_text(workspace: Workspace) -> None:
    """An arm imported as free text (`[/]with`, `[b]without`) stopped `experiment analyze` with
    rich's MarkupError, or printed in bold, as topic keys did in `topics list`."""
    folder = workspace[0]
    _own_split(folder, datetime(2026, 6, 1, tzinfo=UTC), arms=("[b]without", "[/]with"))
    for kind in ("cases", "events"):
        assert run(workspace, "import", kind, str(folder / f"{kind}.csv")).exit_code == 0
    text = run(workspace, "experiment", "analyze", "own-split", "--arms", "[b]without,[/]with")
    assert text.exit_code == 0, text.output + repr(text.exception)
    assert "[/]with vs [b]without: lift -" in text.stdout and "[b]without" in text.stdout


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_arm_column_of_ids_gives_a_short_error(workspace: Workspace) -> None:
    """An arm column mapped from the wrong column (a ticket id: every case its own arm) made the
    error listing the imported arms as long as the file: 5,000 arms, ~60 KB on one line."""
    folder = workspace[0]
    rows = ["id,message,created_at,arm"] + [
        f"d{i},where is my refund,2026-06-01,ticket-{i}" for i in range(5000)
    ]
    (folder / "cases.csv").write_text("\n".join(rows) + "\n")
    assert run(workspace, "import", "cases", str(folder / "cases.csv")).exit_code == 0
    out = run(workspace, "experiment", "analyze", "own-split")
    assert isinstance(out.exception, ExperimentError)
    said = str(out.exception)
    assert len(said) < 1000 and "5,000 arms" in said and "ticket-0 (1)" in said, said[:2000]
    out = run(workspace, "experiment", "analyze", "own-split", "--arms", "ticket-0,nope")
    assert isinstance(out.exception, ExperimentError) and len(str(out.exception)) < 1000


def test_since_until_windows_of_an_imported_split_do_not_overlap(workspace: Workspace) -> None:
    """`--until` is exclusive, as `report`'s is: a case created at midnight of the --until date is
    the next window's, so adjacent windows count every case once (a date alone is midnight UTC)."""
    folder = workspace[0]
    _own_split(folder, datetime(2026, 6, 1, tzinfo=UTC), n=96)  # one case an hour: 4 days
    for kind in ("cases", "events"):
        assert run(workspace, "import", kind, str(folder / f"{kind}.csv")).exit_code == 0

    def assigned(*window: str) -> int:
        args = ("experiment", "analyze", "own", "--arms", "control,treatment", *window, "--json")
        return sum(a["assigned"] for a in last_json(run(workspace, *args))["arms"])

    first = assigned("--since", "2026-06-01", "--until", "2026-06-03")
    second = assigned("--since", "2026-06-03", "--until", "2026-06-05")
    assert (first, second) == (48, 48)
    assert assigned("--since", "2026-06-03T00:00:00+02:00", "--until", "2026-06-03T01:00:00Z") == 3
    # a window with nothing in it by construction is refused as such, not reported as no imported case
    empty = run(workspace, "experiment", "analyze", "own", "--since", "2026-06-03", "--until", "2026-06-03")
    assert isinstance(empty.exception, ExperimentError)
    assert "--since (2026-06-03) must be before --until (2026-06-03)" in str(empty.exception)


def test_with_cuped_the_table_shows_the_adjusted_means_the_lift_is_of(workspace: Workspace) -> None:
    """With --cuped the lift is of the adjusted means: the table shows them beside the raw ones, so
    the means printed give the lift printed (raw means alone implied another lift)."""
    folder = workspace[0]
    start = datetime(2026, 6, 1, tzinfo=UTC)
    cases, events = ["id,message,created_at,arm"], ["idempotency_key,case_id,kind,handle_seconds,agent_id,ts"]
    for i in range(40):  # before: agent a0 takes 100 s, a1 300 s
        at = (start - timedelta(days=2, hours=i)).isoformat()
        cases.append(f"p{i},where is my refund,{at},")
        events.append(f"pr{i},p{i},resolved,{100 + 200 * (i % 2)},a{i % 2},{at}")
    for i in range(120):  # the treatment arm gets a1 more often, and is 20% faster
        at = (start + timedelta(hours=i)).isoformat()
        arm = "treatment" if i % 3 else "control"
        agent = i % 2 if arm == "control" else int(i % 6 != 1)
        handle = (100 + 200 * agent + (i * 37) % 40) * (0.8 if arm == "treatment" else 1.0)
        cases.append(f"d{i},where is my refund,{at},{arm}")
        events.append(f"r{i},d{i},resolved,{handle},a{agent},{at}")
    (folder / "cases.csv").write_text("\n".join(cases) + "\n")
    (folder / "events.csv").write_text("\n".join(events) + "\n")
    for kind in ("cases", "events"):
        assert run(workspace, "import", kind, str(folder / f"{kind}.csv")).exit_code == 0
    args = ("experiment", "analyze", "own", "--arms", "control,treatment", "--since", "2026-06-01", "--cuped")
    result = last_json(run(workspace, *args, "--json"))
    adjusted = [a["mean_adjusted"] for a in result["arms"]]
    assert result["lift"] == pytest.approx(adjusted[1] / adjusted[0] - 1, abs=1e-5)
    assert abs(result["arms"][1]["mean"] / result["arms"][0]["mean"] - 1 - result["lift"]) > 0.01
    text = run(workspace, *args)
    assert text.exit_code == 0, text.output
    assert "adjusted mean" in text.stdout
    rows = [line for line in text.stdout.splitlines() if line.startswith("│ ")]
    assert [row.split("│")[5].strip() for row in rows] == [f"{m:.4g}" for m in adjusted]


def test_an_imported_splits_last_cases_keep_the_outcomes_that_came_after_its_last_case(
    workspace: Workspace,
) -> None:
    """An imported split is stored from its first case's creation to just past its last's, and that
    stop also cut off the outcomes: a resolution after the last case was created was no arm's, so the
    cases resolved after it counted as unresolved and without a handle time (here the last 3 of 200,
    each resolved 3 hours after its creation: 197 with a handle time)."""
    folder = workspace[0]
    start = datetime(2026, 6, 1, tzinfo=UTC)
    _own_split(folder, start, arms=("without", "with"))
    events = (folder / "events.csv").read_text().splitlines()
    later = [events[0]]
    for line in events[1:]:  # each case resolved 3 hours after it was created
        *head, ts = line.split(",")
        later.append(",".join([*head, (datetime.fromisoformat(ts) + timedelta(hours=3)).isoformat()]))
    (folder / "events.csv").write_text("\n".join(later) + "\n")
    for kind in ("cases", "events"):
        assert run(workspace, "import", kind, str(folder / f"{kind}.csv")).exit_code == 0
    args = ("experiment", "analyze", "own-split", "--arms", "without,with")
    for metric in ("handle_seconds", "resolved"):
        for _ in range(2):  # the first analysis (it stores the split) and a later one alike
            result = last_json(run(workspace, *args, "--metric", metric, "--json"))
            assert [(a["name"], a["n"]) for a in result["arms"]] == [("without", 100), ("with", 100)]
            if metric == "resolved":
                assert [a["mean"] for a in result["arms"]] == [1.0, 1.0]
