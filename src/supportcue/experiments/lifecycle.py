"""Creating, listing and stopping experiments (what `supportcue experiment create|list|stop` do)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from supportcue.data.store import Store
from supportcue.data.tables import utcnow
from supportcue.errors import ExperimentError
from supportcue.experiments.design import Design


def create_experiment(store: Store, design: Design, *, now: datetime | None = None) -> Design:
    """Store `design` as the running experiment (starting `now`, the time it is created, unless it
    has a later start); an `ExperimentError` names a start in the past, the experiment already
    running, if one is, or the stopped one a start would overlap (a case it assigned then would be in
    both).

    A start in the past is refused: cases are assigned live, the first time they are seen, so an
    experiment back-dated would take in the cases first seen between its start and now, whose
    replies and resolutions happened before it existed, with suggestions shown whatever their arm:
    its control arm would not be a control. (The demo's simulated experiment, written with its
    history, is stored directly.)"""
    now = now or utcnow()
    start = design.started_at or now
    if start < now:
        raise ExperimentError(
            f"experiment {design.key!r}: --start {start:%Y-%m-%d %H:%M} UTC is in the past (now "
            f"{now:%Y-%m-%d %H:%M:%S} UTC). An experiment assigns cases from when it is created: one "
            "back-dated would count cases seen before it existed, shown suggestions whatever their "
            "arm, and its results would be wrong; leave out --start to start now, or give a later time"
        )
    design = replace(design, started_at=start)
    # an analysis of imported arms ran in the help desk, not here: it overlaps nothing supportcue assigns
    ended = [d for d in list_experiments(store) if d.ended_at is not None and not d.imported]
    last = max(ended, key=lambda d: d.ended_at or start, default=None)
    if last is not None and last.ended_at is not None and start < last.ended_at:
        raise ExperimentError(
            f"experiment {design.key!r} would start {start:%Y-%m-%d %H:%M} UTC, but {last.key!r} ran "
            f"until {last.ended_at:%Y-%m-%d %H:%M} UTC; one experiment runs at a time: give --start at "
            "or after that"
        )
    store.experiments.create(design.row())
    return design


def get_experiment(store: Store, name: str) -> Design:
    """The experiment named `name`; an `ExperimentError` lists the known ones otherwise."""
    row = store.experiments.get(name)
    if row is None:
        known = ", ".join(e.key for e in store.experiments.list()[:10]) or "none yet"
        raise ExperimentError(f"no experiment named {name[:120]!r} (experiments: {known})")
    return Design.of(row)


def list_experiments(store: Store) -> list[Design]:
    """Every experiment, the newest first."""
    return [Design.of(row) for row in store.experiments.list()]


def stop_experiment(store: Store, name: str, at: datetime | None = None) -> Design:
    """Stop the running experiment `name` (now, or at `at`); its cases keep their arms."""
    design = get_experiment(store, name)
    if design.imported:
        raise ExperimentError(
            f"experiment {name!r} is an analysis of imported arms (a split your help desk ran): it never "
            "ran in supportcue, so there is nothing to stop"
        )
    if not design.running:
        when = f" {design.ended_at:%Y-%m-%d %H:%M} UTC" if design.ended_at else ""
        raise ExperimentError(f"experiment {name!r} is not running (it stopped{when})")
    stopped_at = at or utcnow()
    if design.started_at is not None and stopped_at < design.started_at:
        raise ExperimentError(
            f"experiment {name!r} starts {design.started_at:%Y-%m-%d}: it cannot stop before"
        )
    if not store.experiments.stop(name, stopped_at):
        raise ExperimentError(f"experiment {name!r} was stopped by someone else just now")
    return get_experiment(store, name)
