"""Experiments and the cases assigned to their arms (`store.experiments`).

One experiment runs at a time: `create` refuses while another runs (naming it), and a partial unique
index on `status = 'running'` holds that even for two commands that race. Every change bumps the
`experiments` version counter, so a running server notices a new or stopped experiment within its
cache's lifetime (see `experiments/assignment.py`). Choosing arms and the statistics live in
`experiments/`; this module only keeps and finds the rows.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from supportcue.data.database import Database
from supportcue.data.reporting import from_traffic
from supportcue.data.tables import Assignment, Case, Event, Experiment, Suggestion
from supportcue.errors import ExperimentError
from supportcue.vocab import EventKind, ExperimentStatus

VERSION = "experiments"
"""The data-version counter bumped by every change of an experiment."""


class Experiments:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- experiments -------------------------------------------------------------------------------
    def create(self, row: Mapping[str, Any], session: Session | None = None) -> None:
        """Store a new experiment; `ExperimentError` when the name is taken, or when `row` is running
        and another experiment runs (the message names it)."""
        try:
            with self.db.session(session) as s:
                if s.get(Experiment, row["key"]) is not None:
                    raise ExperimentError(
                        f"an experiment named {row['key']!r} exists already (`supportcue experiment list`)"
                    )
                if row.get("status", ExperimentStatus.RUNNING) == ExperimentStatus.RUNNING:
                    running = s.scalars(
                        select(Experiment.key).where(Experiment.status == ExperimentStatus.RUNNING)
                    ).first()
                    if running is not None:
                        raise _running_error(running)
                s.add(Experiment(**row))
                s.flush()
                self.db.bump_version(VERSION, s)
        except sa_exc.IntegrityError:  # lost a race to another `create` (same name, or one that runs)
            if self.get(row["key"]) is not None:
                raise ExperimentError(f"an experiment named {row['key']!r} was just created") from None
            raise _running_error(self.running_key() or "another experiment") from None

    def get(self, key: str) -> Experiment | None:
        return self.db.get(Experiment, key)

    def list(self) -> builtins.list[Experiment]:
        """Every experiment, the newest first."""
        return self.db.all(select(Experiment).order_by(Experiment.started_at.desc(), Experiment.key))

    def running(self) -> Experiment | None:
        """The experiment that runs now, if any."""
        return self.db.first(select(Experiment).where(Experiment.status == ExperimentStatus.RUNNING))

    def running_key(self) -> str | None:
        with self.db.session() as s:
            return s.scalars(
                select(Experiment.key).where(Experiment.status == ExperimentStatus.RUNNING)
            ).first()

    def stop(self, key: str, at: datetime) -> bool:
        """Stop a running experiment at `at`; False when it is not running."""
        with self.db.session() as s:
            result = s.execute(
                update(Experiment)
                .where(Experiment.key == key, Experiment.status == ExperimentStatus.RUNNING)
                .values(status=ExperimentStatus.STOPPED, ended_at=at)
            )
            stopped = bool(result.rowcount)  # type: ignore[attr-defined]
            if stopped:
                self.db.bump_version(VERSION, s)
        return stopped

    def version(self) -> int:
        """The change counter of the experiments (one primary-key read)."""
        return self.db.version(VERSION)

    # -- assignments -------------------------------------------------------------------------------
    def arm_of(self, key: str, case_id: str) -> str | None:
        """The arm recorded for the case in experiment `key`, if any."""
        with self.db.session() as s:
            return s.scalars(
                select(Assignment.arm).where(Assignment.experiment == key, Assignment.case_id == case_id)
            ).first()

    def seen_before(self, case_id: str, at: datetime) -> bool:
        """Whether the case was seen before `at`: created, suggested for or assigned earlier (a case
        first seen before an experiment started never enters it)."""
        earlier = (
            exists().where(Case.id == case_id, Case.created_at < at),
            exists().where(Suggestion.case_id == case_id, Suggestion.created_at < at, from_traffic()),
            exists().where(Assignment.case_id == case_id, Assignment.assigned_at < at),
        )
        with self.db.session() as s:
            return any(bool(s.scalar(select(e))) for e in earlier)

    def record(self, key: str, rows: Sequence[Mapping[str, Any]], session: Session | None = None) -> int:
        """Record assignments ({case_id, arm, assigned_at}) once: a case keeps its first arm. Each
        case's `arm` column is set too when the case exists and has none (`export cases` shows it)."""
        if not rows:
            return 0
        with self.db.session(session) as s:
            self.db.upsert(
                Assignment, [{"experiment": key, **r} for r in rows], ["experiment", "case_id"], session=s
            )
            by_arm: dict[str, list[str]] = {}
            for r in rows:
                by_arm.setdefault(str(r["arm"]), []).append(str(r["case_id"]))
            for arm, ids in by_arm.items():
                for start in range(0, len(ids), 500):
                    s.execute(
                        update(Case)
                        .where(Case.id.in_(ids[start : start + 500]), Case.arm.is_(None))
                        .values(arm=arm)
                    )
        return len(rows)

    def assignments(self, key: str) -> builtins.list[Assignment]:
        return self.db.all(
            select(Assignment).where(Assignment.experiment == key).order_by(Assignment.assigned_at)
        )

    def counts(self, key: str) -> dict[str, int]:
        """Cases per arm."""
        with self.db.session() as s:
            rows = s.execute(
                select(Assignment.arm, func.count())
                .where(Assignment.experiment == key)
                .group_by(Assignment.arm)
            )
            return {str(arm): int(n) for arm, n in rows}

    # -- what the analysis reads -------------------------------------------------------------------
    def _fetch(self, stmt: Any) -> builtins.list[Any]:
        with self.db.session() as s:
            return list(s.execute(stmt))

    def cases_of(
        self, key: str, until: datetime | None = None, imported: Imported | None = None
    ) -> builtins.list[Any]:
        """Per case assigned (up to `until`): (case_id, arm, assigned_at, case created_at or None,
        customer name). With `imported`, the cases whose own `arm` column holds one of its arms
        instead (their creation time stands for the assignment)."""
        if imported is not None:
            return self._fetch(
                select(Case.id, Case.arm, Case.created_at, Case.created_at, Case.customer_name)
                .where(*imported.where(key))
                .order_by(Case.created_at, Case.id)
            )
        columns = (Assignment.case_id, Assignment.arm, Assignment.assigned_at, Case.created_at)
        return self._fetch(
            select(*columns, Case.customer_name)
            .select_from(Assignment)
            .outerjoin(Case, Case.id == Assignment.case_id)
            .where(*_assigned(key, until))
            .order_by(Assignment.assigned_at, Assignment.case_id)
        )

    def count_imported(self, key: str, imported: Imported) -> dict[str, int]:
        """Cases per value of their `arm` column among those `imported` selects (its arms, or every
        arm when it names none)."""
        with self.db.session() as s:
            rows = s.execute(select(Case.arm, func.count()).where(*imported.where(key)).group_by(Case.arm))
            return {str(arm): int(n) for arm, n in rows}

    def imported_span(self, key: str, imported: Imported) -> tuple[datetime | None, datetime | None]:
        """When the first and the last of the cases `imported` selects were created."""
        with self.db.session() as s:
            first, last = s.execute(
                select(func.min(Case.created_at), func.max(Case.created_at)).where(*imported.where(key))
            ).one()
            return first, last

    def events_of(
        self, key: str, until: datetime | None = None, imported: Imported | None = None
    ) -> builtins.list[Any]:
        """The `sent` and `resolved` events of the assigned cases (up to `until`), oldest first: (id,
        case_id, kind, ts, handle_seconds, agent_id, suggestion_id, text, similarity,
        shadow_similarity, purged_at); with `imported`, of the cases it selects."""
        wanted = ("id", "case_id", "kind", "ts", "handle_seconds", "agent_id", "suggestion_id", "text")
        kept = ("similarity", "shadow_similarity", "purged_at")
        q = select(*(getattr(Event, c) for c in (*wanted, *kept))).where(
            Event.kind.in_((EventKind.SENT, EventKind.RESOLVED))
        )
        q = _of_cases(q, Event.case_id, key, until, imported)
        if until is not None:
            q = q.where(Event.ts <= until)
        return self._fetch(q.order_by(Event.ts, Event.id))

    def suggestions_of(
        self, key: str, until: datetime | None = None, imported: Imported | None = None
    ) -> builtins.list[Any]:
        """The suggestions of the assigned cases (made up to `until`), oldest first: (id, case_id,
        created_at, text, shadow, abstained_at, pipeline_version, simulated); not `batch suggest`
        back-fills, which no arm was shown (or held back from); with `imported`, of the cases it
        selects."""
        wanted = ("id", "case_id", "created_at", "text", "shadow", "abstained_at", "pipeline_version")
        q = select(*(getattr(Suggestion, c) for c in wanted), Suggestion.simulated).where(from_traffic())
        q = _of_cases(q, Suggestion.case_id, key, until, imported)
        if until is not None:
            q = q.where(Suggestion.created_at <= until)
        return self._fetch(q.order_by(Suggestion.created_at, Suggestion.id))

    def agent_means(
        self, before: datetime, max_handle_seconds: float | None = None
    ) -> dict[str, tuple[int, float]]:
        """Per agent: (resolved cases, mean handle seconds) over the `resolved` events before `before`
        (the covariate of CUPED: each agent's speed before the experiment), leaving out handle times
        over `max_handle_seconds` (conversations left open, as the metric leaves them out)."""
        capped = () if max_handle_seconds is None else (Event.handle_seconds <= max_handle_seconds,)
        with self.db.session() as s:
            rows = s.execute(
                select(Event.agent_id, func.count(), func.avg(Event.handle_seconds))
                .where(
                    Event.kind == EventKind.RESOLVED,
                    Event.ts < before,
                    Event.handle_seconds.is_not(None),
                    Event.agent_id.is_not(None),
                    *capped,
                )
                .group_by(Event.agent_id)
            )
            return {str(agent): (int(n), float(mean)) for agent, n, mean in rows}


@dataclass(frozen=True)
class Imported:
    """Cases whose arm is their own `arm` column (a team's own split, imported with the cases) rather
    than a live assignment: those with one of `arms` (any arm when empty), created in [since, until)
    (`until` exclusive, as the online metrics' is, so adjacent windows share no case),
    and not assigned by another experiment (those are that experiment's)."""

    arms: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None

    def where(self, key: str) -> builtins.list[Any]:
        other = exists().where(Assignment.case_id == Case.id, Assignment.experiment != key)
        where = [Case.arm.in_(self.arms) if self.arms else Case.arm.is_not(None), ~other]
        if self.since is not None:
            where.append(Case.created_at >= self.since)
        if self.until is not None:
            where.append(Case.created_at < self.until)
        return where


def _of_cases(q: Any, case_id: Any, key: str, until: datetime | None, imported: Imported | None) -> Any:
    """`q` narrowed to the experiment's cases: its assignments (up to `until`), or the `imported`."""
    if imported is None:
        return q.join(Assignment, Assignment.case_id == case_id).where(*_assigned(key, until))
    return q.join(Case, Case.id == case_id).where(*imported.where(key))


def _assigned(key: str, until: datetime | None) -> builtins.list[Any]:
    """The assignments of experiment `key` made up to `until` (a server notices a stop within a
    second: a case it assigned after the stop is in no experiment that ran)."""
    where = [Assignment.experiment == key]
    if until is not None:
        where.append(Assignment.assigned_at <= until)
    return where


def _running_error(key: str) -> ExperimentError:
    return ExperimentError(
        f"experiment {key!r} is running; one experiment runs at a time: "
        f"stop it first (`supportcue experiment stop {key}`)"
    )
