"""Where an analysis takes each case's arm from: supportcue's live assignments, or the `arm` column a
team imported with its cases (`supportcue import cases` with an `arm` column: a with/without
suggestions split the team ran in its own help desk).

`--arms-from auto` (the default) takes the live assignments of a stored experiment that has any;
otherwise the imported arms: of a stored experiment's arms over its run (from its start to its stop),
or, when no experiment has the name, of an analysis named by it over the imported cases (every arm
they hold, or `--arms`, the control being the arm named `control` or else the first of `--arms`).
Cases a supportcue experiment assigned are that experiment's, never another's imported arm. The
result names the source it used (`arms_from`, `arms_source`).

Such an analysis under a new name is stored as an experiment (`remember`): status `imported`, its arms,
weights and control, from its first case's creation to just past its last's (`--since` / `--until`
narrow an analysis, not the stored split), so
`experiment list` and the dashboard show it and `analyze NAME` alone reads the same cases again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from supportcue.data.experiments import Imported
from supportcue.data.store import Store
from supportcue.errors import ExperimentError
from supportcue.experiments.design import CONTROL, IMPORTED, Arm, Design, _shares
from supportcue.experiments.lifecycle import get_experiment

ARMS_FROM = ("auto", "assignments", "cases")
ASSIGNMENTS = "assignments"
CASES = "cases"
IMPORTED_STATUS = IMPORTED
"""The `status` of an analysis of imported arms (it ran in the help desk), stored or not yet."""


@dataclass(frozen=True)
class Source:
    design: Design
    imported: Imported | None
    """None: the live assignments."""
    kind: str
    text: str


def arms_source(
    store: Store,
    name: str,
    arms_from: str = "auto",
    *,
    arms: Sequence[str] | None = None,
    weights: Sequence[float] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Source:
    """The design to analyse as `name` and where its cases' arms come from; an `ExperimentError` names
    what is missing (no experiment and no imported arm, an `--arms` value no case holds, ...)."""
    if arms_from not in ARMS_FROM:
        raise ExperimentError(f"--arms-from {arms_from!r}; allowed: {', '.join(ARMS_FROM)}")
    row = store.experiments.get(name)
    if row is None:
        if arms_from == ASSIGNMENTS:
            get_experiment(store, name)  # the error listing the experiments there are
        return _adhoc(store, name, arms, weights, since, until)
    design = Design.of(row)
    if design.status == IMPORTED_STATUS:
        return _stored_imported(store, design, arms_from, arms, weights, since, until)
    if arms is not None or weights is not None:
        raise ExperimentError(
            f"--arms and --weights describe a split imported with the cases under a name no experiment "
            f"has; experiment {name!r} has its own ({','.join(design.names)})"
        )
    live = sum(store.experiments.counts(name).values())
    if arms_from == ASSIGNMENTS or (arms_from == "auto" and live):
        if since is not None or until is not None:
            raise ExperimentError("--since and --until choose imported cases (--arms-from cases) only")
        return Source(design, None, ASSIGNMENTS, f"supportcue's live assignments ({live:,} cases)")
    start = max((t for t in (since, design.started_at) if t is not None), default=None)
    stop = min((t for t in (until, design.ended_at) if t is not None), default=None)
    imported = Imported(tuple(design.names), start, stop)
    n = sum(store.experiments.count_imported(name, imported).values())
    if arms_from == "auto" and not n:
        return Source(design, None, ASSIGNMENTS, "supportcue's live assignments (none yet)")
    why = "no live assignments" if not live else "--arms-from cases"
    return Source(design, imported, CASES, _text(n, imported, f"experiment {name!r}: {why}"))


def _stored_imported(
    store: Store,
    design: Design,
    arms_from: str,
    arms: Sequence[str] | None,
    weights: Sequence[float] | None,
    since: datetime | None,
    until: datetime | None,
) -> Source:
    """An analysis of imported arms stored by an earlier `analyze`: the same arms, weights and window
    (`--since` / `--until` narrow it); `--arms` and `--weights` may repeat the stored ones only."""
    name = design.key
    stored = f"{','.join(design.names)} (weights {','.join(f'{100 * w:g}' for w in design.weights)})"
    if arms_from == ASSIGNMENTS:
        raise ExperimentError(
            f"experiment {name!r} is an analysis of imported arms (the cases' arm column, {stored}): "
            "supportcue assigned it no case; use --arms-from cases (or auto)"
        )
    if (arms is not None and list(arms) != design.names) or (
        weights is not None
        and any(
            abs(a - b) > 1e-9 for a, b in zip(_shares(design.names, weights), design.weights, strict=True)
        )
    ):
        raise ExperimentError(
            f"experiment {name!r} is stored with the imported arms {stored}; leave out --arms and "
            "--weights to analyse it again, or give another split another name"
        )
    start = max((t for t in (since, design.started_at) if t is not None), default=None)
    stop = min((t for t in (until, design.ended_at) if t is not None), default=None)
    imported = Imported(tuple(design.names), start, stop)
    n = sum(store.experiments.count_imported(name, imported).values())
    return Source(design, imported, CASES, _text(n, imported, f"experiment {name!r}: imported arms"))


def remember(store: Store, source: Source) -> Source:
    """Store an analysis of imported arms under a name no experiment had (`_adhoc`) as an experiment
    of status `imported`, from its first case to just past its last (whatever `--since` / `--until`
    chose: they narrow an analysis, not the split), and return the source a later `analyze NAME`
    finds, with this analysis's window, so the first result is the same as every later one with the
    same options. Any other source is returned as it is."""
    design, imported = source.design, source.imported
    if imported is None or design.status != IMPORTED_STATUS or store.experiments.get(design.key):
        return source
    # The split's whole span, whatever window this analysis chose (a later `--since/--until` narrows
    # within it); the stop is exclusive, as `--until` is, so it lies just past the last case.
    first, last = store.experiments.imported_span(design.key, replace(imported, since=None, until=None))
    design = replace(
        design,
        started_at=first,
        ended_at=None if last is None else last + timedelta(microseconds=1),
        description="imported arms: the cases' arm column (supportcue experiment analyze)",
    )
    try:
        store.experiments.create(design.row())
    except ExperimentError:  # stored meanwhile by another `analyze` of the name: read as it stored it
        if store.experiments.get(design.key) is None:
            raise
    return arms_source(store, design.key, since=imported.since, until=imported.until)


def _adhoc(
    store: Store,
    name: str,
    arms: Sequence[str] | None,
    weights: Sequence[float] | None,
    since: datetime | None,
    until: datetime | None,
) -> Source:
    """An analysis of the imported arms under a name no experiment has."""
    counts = store.experiments.count_imported(name, Imported((), since, until))
    if not counts:
        known = ", ".join(e.key for e in store.experiments.list()[:10]) or "none yet"
        raise ExperimentError(
            f"no experiment named {name[:120]!r} (experiments: {known}), and no imported case "
            f"{_window(since, until)}has an arm: import your own split with `supportcue import cases "
            "FILE` and an `arm` column"
        )
    found = _listed(counts)
    if arms is None:
        if CONTROL not in counts:
            raise ExperimentError(
                f"the imported cases' arms are {found}: say which is the control with --arms "
                "(the control first, e.g. --arms without,with)"
            )
        names = sorted(counts, key=lambda a: (a != CONTROL, a))
    else:
        names = list(arms)
        missing = [a for a in names if a not in counts]
        if missing:
            raise ExperimentError(
                f"--arms {','.join(names)!r}: no imported case {_window(since, until)}has the arm "
                f"{', '.join(repr(a) for a in missing)} (the arms there are: {found})"
            )
    if len(names) < 2 or len(set(names)) != len(names):
        raise ExperimentError(
            f"an analysis needs at least two different arms; the imported cases have {found}"
        )
    design = Design(
        key=name,
        arms=tuple(Arm(a, w) for a, w in zip(names, _shares(names, weights), strict=True)),
        control=CONTROL if CONTROL in names else names[0],
        status=IMPORTED_STATUS,
        started_at=since,
    )
    imported = Imported(tuple(names), since, until)
    n = sum(counts[a] for a in names)
    return Source(design, imported, CASES, _text(n, imported, f"no experiment named {name!r}"))


SHOWN_ARMS = 10
"""An error names at most this many imported arms (the most common): an arm column mapped from an id
gives each case its own."""


def _listed(counts: dict[str, int]) -> str:
    """The imported arms with their cases, in order of name; past `SHOWN_ARMS`, the most common ones
    and how many there are."""
    if len(counts) <= SHOWN_ARMS:
        return ", ".join(f"{arm} ({n:,})" for arm, n in sorted(counts.items()))
    top = sorted(sorted(counts.items()), key=lambda item: -item[1])[:SHOWN_ARMS]
    shown = ", ".join(f"{arm[:40]} ({n:,})" for arm, n in sorted(top))
    return f"{len(counts):,} arms ({shown}, ...: is the arm column the right one?)"


def _window(since: datetime | None, until: datetime | None) -> str:
    parts = ([f"from {since:%Y-%m-%d %H:%M}"] if since else []) + (
        [f"before {until:%Y-%m-%d %H:%M}"] if until else []
    )
    return " ".join(parts) + " UTC " if parts else ""


def _text(n: int, imported: Imported, why: str) -> str:
    window = _window(imported.since, imported.until).strip()
    return f"the imported cases' arm column ({n:,} cases{' created ' + window if window else ''}; {why})"
