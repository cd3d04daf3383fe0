"""The experiments repository on both databases: one running experiment (even for racing creates),
assignments recorded once, the migration down and up again."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect

from supportcue.data.store import Store, open_store
from supportcue.data.tables import Experiment
from supportcue.errors import ExperimentError
from supportcue.experiments import Design, create_experiment, list_experiments, stop_experiment
from supportcue.vocab import ExperimentStatus

T0 = datetime(2026, 10, 1, tzinfo=UTC)


def _design(name: str) -> Design:
    return Design.create(name, ["control", "treatment"], started_at=T0)


def test_one_running_experiment_and_unique_names(store: Store) -> None:
    create_experiment(store, _design("first"), now=T0)
    with pytest.raises(ExperimentError, match="'first' is running"):
        create_experiment(store, _design("second"), now=T0)
    with pytest.raises(ExperimentError, match="named 'first' exists"):
        create_experiment(store, _design("first"), now=T0)
    stopped = stop_experiment(store, "first", at=T0)  # at once: the next may start at the same time
    assert stopped.status == ExperimentStatus.STOPPED and stopped.ended_at == T0
    create_experiment(store, _design("second"), now=T0)
    assert [d.key for d in list_experiments(store)] == ["first", "second"]  # same start: by name
    assert store.experiments.running_key() == "second"


def test_an_experiment_cannot_start_before_the_last_one_stopped(store: Store) -> None:
    """One experiment at a time holds in time too: a `--start` back-dated into a stopped experiment's
    run let a case that experiment assigned during the overlap (not seen before the new start)
    enter the new one as well, in two experiments at once."""
    create_experiment(store, _design("first"), now=T0)
    stop_experiment(store, "first", at=T0 + timedelta(days=7))
    store.experiments.record("first", [{"case_id": "c1", "arm": "control", "assigned_at": T0}])
    back_dated = Design.create("second", ["control", "treatment"], started_at=T0 + timedelta(days=3))
    with pytest.raises(ExperimentError, match=r"'first' ran until 2026-10-08 00:00 UTC"):
        create_experiment(store, back_dated, now=T0)
    assert store.experiments.get("second") is None
    later = Design.create("second", ["control", "treatment"], started_at=T0 + timedelta(days=7))
    assert create_experiment(store, later, now=T0).running


def test_an_experiment_cannot_start_before_it_is_created(store: Store) -> None:
    """A back-dated start counted, in each arm, cases first seen between the start and the
    experiment's creation: their replies and resolutions came before it existed, with suggestions
    shown whatever their arm, so the control arm was not a control and the results were wrong."""
    late = Design.create("late", ["control", "treatment"], started_at=T0 - timedelta(seconds=1))
    with pytest.raises(ExperimentError, match=r"--start 2026-09-30 23:59 UTC is in the past") as error:
        create_experiment(store, late, now=T0)
    assert "leave out --start to start now" in str(error.value)
    assert store.experiments.get("late") is None
    assert create_experiment(store, _design("on-time"), now=T0).started_at == T0  # now is not the past
    stop_experiment(store, "on-time", at=T0 + timedelta(days=1))
    assert create_experiment(store, Design.create("now", ["a", "b"])).started_at is not None  # default: now


def test_the_database_itself_refuses_a_second_running_experiment(store: Store) -> None:
    create_experiment(store, _design("first"), now=T0)
    row = {**_design("sneaky").row(), "started_at": T0}
    with pytest.raises(sa_exc.IntegrityError), store.db.session() as s:
        s.add(Experiment(**row))  # past the repository's check: the partial unique index holds


def test_racing_creates_leave_one_running(store: Store) -> None:
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create(name: str) -> None:
        other = open_store(str(store.db.engine.url.render_as_string(hide_password=False)))
        try:
            barrier.wait()
            create_experiment(other, _design(name), now=T0)
            outcomes.append("created")
        except ExperimentError as exc:
            outcomes.append(str(exc))
        finally:
            other.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes)[0] == "created" and "is running" in sorted(outcomes)[1], outcomes
    assert len([d for d in list_experiments(store) if d.running]) == 1


def test_assignments_are_recorded_once_and_set_the_cases_arm(store: Store) -> None:
    create_experiment(store, _design("h"), now=T0)
    store.cases.upsert(
        [
            {"id": "c1", "message": "m", "created_at": T0},
            {"id": "c2", "message": "m", "created_at": T0, "arm": "imported-arm"},
        ]
    )
    store.experiments.record("h", [{"case_id": "c1", "arm": "control", "assigned_at": T0}])
    store.experiments.record(
        "h", [{"case_id": "c1", "arm": "treatment", "assigned_at": T0 + timedelta(days=1)}]
    )
    store.experiments.record("h", [{"case_id": "c2", "arm": "treatment", "assigned_at": T0}])
    assert store.experiments.arm_of("h", "c1") == "control"
    assert store.experiments.counts("h") == {"control": 1, "treatment": 1}
    c1, c2 = store.cases.get("c1"), store.cases.get("c2")
    assert c1 is not None and c1.arm == "control"
    assert c2 is not None and c2.arm == "imported-arm"  # an imported arm is the team's own record


def test_a_case_stored_after_its_assignment_or_again_keeps_its_arm(store: Store) -> None:
    """`export cases` shows a case's arm: a case the service assigned before the case was imported
    (or a help desk's webhook stored it) had none, and importing a case again cleared the arm it had."""
    create_experiment(store, _design("h"), now=T0)
    store.cases.upsert([{"id": "c1", "message": "m", "created_at": T0}])
    store.experiments.record("h", [{"case_id": "c1", "arm": "control", "assigned_at": T0}])
    store.experiments.record("h", [{"case_id": "c2", "arm": "treatment", "assigned_at": T0}])
    again = [
        {"id": "c1", "message": "m", "created_at": T0},  # imported again: the arm stays
        {"id": "c2", "message": "m", "created_at": T0},  # imported after the service assigned it
        {"id": "c3", "message": "m", "created_at": T0},  # in no experiment
    ]
    store.cases.upsert(again)
    assert {c.id: c.arm for c in store.cases.list()} == {"c1": "control", "c2": "treatment", "c3": None}
    store.cases.upsert([{"id": "c3", "message": "m", "created_at": T0, "arm": "imported-arm"}])
    c3 = store.cases.get("c3")
    assert c3 is not None and c3.arm == "imported-arm"  # the team's own record still goes in


def test_the_agents_earlier_handle_times_leave_out_those_over_the_cap(store: Store) -> None:
    """CUPED's covariate (each agent's mean handle time before the experiment) leaves out the
    conversations left open for days, as the metric does."""
    week = 7 * 24 * 3600.0
    handles = [("ana", 300.0), ("ana", 500.0), ("ana", 9 * 86400.0), ("bo", 8 * 86400.0)]
    store.events.add_many(
        [
            {
                "idempotency_key": f"r{i}",
                "case_id": f"c{i}",
                "kind": "resolved",
                "agent_id": agent,
                "handle_seconds": handle,
                "ts": T0 - timedelta(days=1),
            }
            for i, (agent, handle) in enumerate(handles)
        ]
    )
    assert store.experiments.agent_means(T0, week) == {"ana": (2, 400.0)}
    assert store.experiments.agent_means(T0)["ana"] == (3, (800 + 9 * 86400.0) / 3)


def test_the_migration_goes_down_and_up(empty_database_url: str) -> None:
    from alembic import command

    from supportcue.data.database import alembic_config, make_engine

    store = open_store(empty_database_url)
    create_experiment(store, _design("kept"), now=T0)
    store.close()
    engine = make_engine(empty_database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    columns = {c["name"] for c in inspect(engine).get_columns("experiments")}
    assert "control" not in columns and "coverage" not in columns
    engine.dispose()
    again = open_store(empty_database_url)  # back to the newest schema; the row is still there
    (design,) = list_experiments(again)
    assert design.key == "kept" and design.coverage == 1.0 and design.control == "control"
    again.close()
