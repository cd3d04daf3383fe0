"""An experiment's design: its arms and their weights, the control arm, coverage, the metrics of
interest, and when it ran. `Design.create` checks what a person typed (`experiment create`);
`Design.of` reads a stored row.

The control arm is the arm named `control`, or else the first arm listed: it is served no
suggestion (the pipeline runs in shadow for it), every other arm is served suggestions as usual.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from supportcue.data.tables import Experiment
from supportcue.errors import ExperimentError
from supportcue.vocab import ExperimentStatus

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
ARM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,49}")
METRICS = ("handle_seconds", "resolved", "first_reply_seconds", "match_rate")
"""The metrics an experiment can be analysed on (defined in `experiments/outcomes.py`)."""
CONTROL = "control"
IMPORTED = "imported"
"""The status of an analysis of imported arms (a split the help desk ran itself, read from the cases'
`arm` column), stored by `experiment analyze`: it never ran in supportcue."""


@dataclass(frozen=True)
class Arm:
    name: str
    weight: float
    """Its share of the cases in the experiment (the weights sum to 1)."""


@dataclass(frozen=True)
class Design:
    key: str
    arms: tuple[Arm, ...]
    control: str
    coverage: float = 1.0
    metrics: tuple[str, ...] = METRICS
    status: str = ExperimentStatus.RUNNING
    started_at: datetime | None = None
    ended_at: datetime | None = None
    simulated: bool = False
    description: str = field(default="", compare=False)

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.arms]

    @property
    def weights(self) -> list[float]:
        return [a.weight for a in self.arms]

    @property
    def running(self) -> bool:
        return self.status == ExperimentStatus.RUNNING

    @property
    def imported(self) -> bool:
        return self.status == IMPORTED

    @classmethod
    def create(
        cls,
        name: str,
        arms: Sequence[str],
        weights: Sequence[float] | None = None,
        coverage: float = 1.0,
        metrics: Sequence[str] = METRICS,
        started_at: datetime | None = None,
        simulated: bool = False,
    ) -> Design:
        """A new experiment's design from what a person gave; `ExperimentError` names what is wrong."""
        if not NAME.fullmatch(name):
            raise ExperimentError(
                f"experiment name {name[:120]!r}: use 1-100 letters, digits, '_', '.' or '-' "
                "(starting with a letter or digit)"
            )
        names = [a.strip() for a in arms]
        for arm in names:
            if not ARM.fullmatch(arm):
                raise ExperimentError(
                    f"arm {arm[:60]!r}: use 1-50 letters, digits, '_', '.' or '-' (--arms control,treatment)"
                )
        if len(names) < 2 or len(set(names)) != len(names):
            raise ExperimentError(f"--arms needs at least two different arms, got {','.join(names)!r}")
        shares = _shares(names, weights)
        if not 0 < coverage <= 1:
            raise ExperimentError(f"--coverage must be in (0, 1], got {coverage}")
        unknown = [m for m in metrics if m not in METRICS]
        if unknown or not metrics:
            raise ExperimentError(f"--metrics: {', '.join(unknown) or 'none'}; allowed: {', '.join(METRICS)}")
        return cls(
            key=name,
            arms=tuple(Arm(n, w) for n, w in zip(names, shares, strict=True)),
            control=CONTROL if CONTROL in names else names[0],
            coverage=coverage,
            metrics=tuple(dict.fromkeys(metrics)),
            started_at=started_at,
            simulated=simulated,
        )

    @classmethod
    def of(cls, row: Experiment) -> Design:
        """The design of a stored experiment."""
        arms = _stored_arms(row.arms)
        names = [a.name for a in arms]
        return cls(
            key=row.key,
            arms=arms,
            control=row.control or (CONTROL if CONTROL in names else names[0]),
            coverage=float(row.coverage if row.coverage is not None else 1.0),
            metrics=tuple(row.metrics or METRICS),
            status=row.status,
            started_at=row.started_at,
            ended_at=row.ended_at,
            simulated=bool(row.simulated),
            description=row.description or "",
        )

    def row(self) -> dict[str, Any]:
        """The `experiments` row to store."""
        return {
            "key": self.key,
            "name": self.key,
            "description": self.description,
            "arms": [{"name": a.name, "weight": a.weight} for a in self.arms],
            "control": self.control,
            "coverage": self.coverage,
            "metrics": list(self.metrics),
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "simulated": self.simulated,
        }

    def public(self) -> dict[str, Any]:
        """What `experiment list --json` prints for it: an analysis of imported arms as `stopped` (the
        contract's statuses are running and stopped; it ran in the help desk and is over) and
        `imported: true`."""
        return {
            "name": self.key,
            "status": ExperimentStatus.STOPPED if self.imported else self.status,
            "arms": self.names,
            "weights": [round(100 * w, 4) for w in self.weights],
            "control": self.control,
            "coverage": self.coverage,
            "metrics": list(self.metrics),
            "start": self.started_at.isoformat() if self.started_at else None,
            "stop": self.ended_at.isoformat() if self.ended_at else None,
            "simulated": self.simulated,
            "imported": self.imported,
        }


def _shares(names: list[str], weights: Sequence[float] | None) -> list[float]:
    """Weights as shares summing to 1 (`--weights 50,50` and `--weights 0.5,0.5` alike)."""
    if weights is None:
        return [1 / len(names)] * len(names)
    if len(weights) != len(names):
        raise ExperimentError(
            f"--weights has {len(weights)} values for {len(names)} arms ({','.join(names)})"
        )
    if any(not (w > 0) or w == float("inf") for w in weights):
        raise ExperimentError(f"--weights must all be positive numbers, got {','.join(map(str, weights))}")
    top = max(weights)  # scaled first: the sum of 1e308,1e308 is infinite (and every share 0)
    scaled = [w / top for w in weights]
    total = float(sum(scaled))
    return [w / total for w in scaled]


def _stored_arms(value: Any) -> tuple[Arm, ...]:
    """Arms as stored: a list of {name, weight}; an old mapping name -> share is read in its order."""
    if isinstance(value, dict):
        items = [(str(k), float(v)) for k, v in value.items()]
    else:
        items = [(str(a["name"]), float(a["weight"])) for a in value or []]
    if len(items) < 2:
        raise ExperimentError(f"a stored experiment has {len(items)} arm(s); it needs at least two")
    total = sum(w for _, w in items) or 1.0
    return tuple(Arm(n, w / total) for n, w in items)


def parse_list(text: str, option: str) -> list[str]:
    """`a,b,c` as a list, an empty item being an error that names the option."""
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise ExperimentError(f"{option} {text!r} has an empty item; give e.g. {option} control,treatment")
    return items


def parse_weights(text: str) -> list[float]:
    """`50,50` as numbers (an error names --weights and the value that is not one)."""
    out = []
    for item in parse_list(text, "--weights"):
        try:
            out.append(float(item))
        except ValueError:
            raise ExperimentError(f"--weights {text!r}: {item!r} is not a number") from None
    return out
