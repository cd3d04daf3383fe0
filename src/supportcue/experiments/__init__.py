"""Controlled experiments: does showing suggestions make agents faster?

An experiment splits new cases between arms by a deterministic hash (`assignment.py`); the control
arm is served no suggestion (its pipeline runs in shadow, so its would-be suggestions are still
measured). `design.py` holds an experiment's arms, weights and coverage, `lifecycle.py` creates and
stops them (one runs at a time), `outcomes.py` reads what each case measured, `analysis.py` has the
statistics (Welch's t with the delta method, CUPED, sequential intervals, sample-ratio mismatch) and
`report.py` puts them together with the guard rails for `supportcue experiment analyze`.
"""

from supportcue.experiments.assignment import (
    Assignment,
    assign_case,
    bucket,
    bucket_ranges,
    choose_arm,
    fnv1a32,
    running_experiment,
    with_assignment,
)
from supportcue.experiments.design import METRICS, Arm, Design
from supportcue.experiments.lifecycle import (
    create_experiment,
    get_experiment,
    list_experiments,
    stop_experiment,
)
from supportcue.experiments.report import analyze, summarize

__all__ = [
    "METRICS",
    "Arm",
    "Assignment",
    "Design",
    "analyze",
    "assign_case",
    "bucket",
    "bucket_ranges",
    "choose_arm",
    "create_experiment",
    "fnv1a32",
    "get_experiment",
    "list_experiments",
    "running_experiment",
    "stop_experiment",
    "summarize",
    "with_assignment",
]
