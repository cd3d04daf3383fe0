"""`supportcue experiment analyze`: an experiment's result on one metric, with its guard rails.

`analyze` reads the experiment's outcomes from the store (`outcomes.py`); `summarize` is the pure
part, over those outcomes: per arm n, mean and variance; each other arm's relative lift over the
control arm with its interval and p-value (`analysis.py`), optionally after CUPED on each agent's
handle time before the experiment; the sample-ratio-mismatch p-value; and the guard rails, as
sentences under `warnings`:

- too few cases to detect the minimum detectable effect (`mde`, relative) with 80% power, with the
  number needed per arm;
- a sample-ratio mismatch (p < 0.001): the split differs from the weights, so the result is suspect;
- an experiment still running gets the sequential interval only (safe to look at every day);
- arms whose suggestions came from more than one pipeline version (a model changed mid-experiment);
- handle times over `max_handle_seconds` left out (`outcomes.py`: conversations left open, not
  handled), with the number per arm (also each arm's `excluded`), and, when the arms lose different
  shares of their cases to that limit (Fisher's exact test against the control arm, p < 0.01), that
  the comparison may be biased: leaving cases out by their outcome is fair only if the arms lose alike.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from supportcue.data.store import Store
from supportcue.errors import ExperimentError
from supportcue.experiments import analysis as st
from supportcue.experiments.design import METRICS, Design
from supportcue.experiments.imported import arms_source, remember
from supportcue.experiments.lifecycle import list_experiments
from supportcue.experiments.outcomes import MAX_HANDLE_SECONDS, Outcomes, read_outcomes
from supportcue.monitoring.match import DEFAULT_THRESHOLD

SEQUENTIAL = "sequential: asymptotic confidence sequence (safe to look daily)"
FIXED = "fixed horizon: Welch's t with the delta method"
ALPHA = 0.05
MDE = 0.05
POWER = 0.8
CAP_ALPHA = 0.01
"""An arm whose share of cases lost to `max_handle_seconds` is this unlikely under equal shares: a warning."""


def analyze(
    store: Store,
    name: str,
    metric: str = "handle_seconds",
    *,
    cuped: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = ALPHA,
    mde: float = MDE,
    sequential: bool | None = None,
    tuning: float = st.SEQUENTIAL_TUNING,
    arms_from: str = "auto",
    arms: Sequence[str] | None = None,
    weights: Sequence[float] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    max_handle_seconds: float | None = MAX_HANDLE_SECONDS,
) -> dict[str, Any]:
    """The experiment `name`'s result on `metric` (JSON-serialisable); `ExperimentError` for an
    unknown experiment or metric. Handle times over `max_handle_seconds` (None: no limit) are left
    out of `handle_seconds` and counted (`outcomes.py`). `sequential` defaults to whether the
    experiment still runs. The cases' arms come from the live assignments or the imported `arm`
    column (`imported.py`: `arms`, `weights`, `since` and `until` describe an imported split);
    `arms_from` and `arms_source` say which was used."""
    if metric not in METRICS:
        raise ExperimentError(f"--metric {metric!r}; allowed: {', '.join(METRICS)}")
    source = arms_source(store, name, arms_from, arms=arms, weights=weights, since=since, until=until)
    source = remember(store, source)  # imported arms under a new name: an experiment from now on
    outcomes = read_outcomes(
        store,
        source.design,
        threshold,
        match=metric == "match_rate",
        imported=source.imported,
        max_handle_seconds=max_handle_seconds,
    )
    result = summarize(
        source.design,
        outcomes,
        metric,
        cuped=cuped,
        alpha=alpha,
        mde=mde,
        sequential=sequential,
        tuning=tuning,
    )
    return {**result, "arms_from": source.kind, "arms_source": source.text}


def summarize(
    design: Design,
    outcomes: Outcomes,
    metric: str,
    *,
    cuped: bool = False,
    alpha: float = ALPHA,
    mde: float = MDE,
    sequential: bool | None = None,
    tuning: float = st.SEQUENTIAL_TUNING,
) -> dict[str, Any]:
    """The result of `metric` over `outcomes` (pure: no store)."""
    sequential = design.running if sequential is None else sequential
    counts = outcomes.counts()
    assigned = [counts.get(a, 0) for a in design.names]
    srm = st.srm_p_value(assigned, design.weights)
    raw = {arm: outcomes.values(metric, arm) for arm in design.names}
    excluded = outcomes.excluded(metric)
    values, theta, reduction = _adjusted(raw, cuped)
    stats = {arm: st.arm_stats(arm, values[arm]) for arm in design.names}
    plain = {arm: st.arm_stats(arm, raw[arm][0]) for arm in design.names}
    control = design.control
    others = [a for a in design.names if a != control]
    comparisons = [_compare(stats[control], stats[arm], plain, sequential, alpha, tuning) for arm in others]
    first = comparisons[0]
    warnings = _warnings(design, metric, stats, srm, sequential, outcomes, mde, alpha)
    warnings += _cap_warnings(design, plain, excluded, outcomes.max_handle_seconds)
    if cuped and not outcomes.agent_means:
        warnings.append("--cuped changed nothing: no agent had a handle time before the experiment started")
    return {
        "name": design.key,
        "status": design.status,
        "metric": metric,
        "control": control,
        "treatment": others[0],
        "arms": [
            {
                "name": arm,
                "control": arm == control,
                "assigned": counts.get(arm, 0),
                "n": plain[arm].n,
                "mean": _round(plain[arm].mean),
                "variance": _round(plain[arm].variance),
                "excluded": excluded.get(arm, 0),
                **({"mean_adjusted": _round(stats[arm].mean)} if cuped else {}),
            }
            for arm in design.names
        ],
        "lift": first["lift"],
        "ci_low": first["ci_low"],
        "ci_high": first["ci_high"],
        "p_value": first["p_value"],
        "difference": first["difference"],
        "comparisons": comparisons,
        "max_handle_seconds": outcomes.max_handle_seconds,
        "srm_p_value": _round(srm),
        "srm": srm < st.SRM_ALPHA,
        "sequential": sequential,
        "cuped": {"theta": _round(theta), "variance_reduction": _round(reduction)} if cuped else None,
        "method": _method(design, metric, sequential, alpha, tuning, cuped, theta, reduction),
        "interval": SEQUENTIAL if sequential else FIXED,
        "alpha": alpha,
        "mde": _mde(stats[control], stats[others[0]], mde, alpha),
        "pipeline_versions": {arm: dict(outcomes.versions.get(arm, {})) for arm in design.names},
        "start": design.started_at.isoformat() if design.started_at else None,
        "stop": design.ended_at.isoformat() if design.ended_at else None,
        "simulated": design.simulated or outcomes.simulated > 0,
        "warnings": warnings,
    }


def _adjusted(
    raw: dict[str, tuple[list[float], list[float]]], cuped: bool
) -> tuple[dict[str, list[float]], float | None, float | None]:
    """Each arm's values, after CUPED with θ pooled over every arm when asked: (values, θ, the share
    of the pooled variance removed)."""
    if not cuped:
        return {arm: ys for arm, (ys, _) in raw.items()}, None, None
    ys = [y for arm_ys, _ in raw.values() for y in arm_ys]
    xs = [x for _, arm_xs in raw.values() for x in arm_xs]
    if len(ys) < 3:
        return {arm: ys for arm, (ys, _) in raw.items()}, 0.0, 0.0
    adjusted, theta = st.cuped(ys, xs)
    before = float(np.var(ys, ddof=1))
    reduction = 1 - float(np.var(adjusted, ddof=1)) / before if before > 0 else 0.0
    out, start = {}, 0
    for arm, (arm_ys, _) in raw.items():
        out[arm] = [float(v) for v in adjusted[start : start + len(arm_ys)]]
        start += len(arm_ys)
    return out, theta, reduction


def _compare(
    a: st.ArmStats,
    b: st.ArmStats,
    plain: dict[str, st.ArmStats],
    sequential: bool,
    alpha: float,
    tuning: float,
) -> dict[str, Any]:
    """Arm `b` against the control `a`: the relative lift's interval and p-value, the difference."""
    out: dict[str, Any] = {"arm": b.name, "lift": None, "ci_low": None, "ci_high": None, "p_value": None}
    diff = plain[b.name].mean - plain[a.name].mean
    out["difference"] = {"value": _round(diff)}
    if not sequential and min(plain[a.name].n, plain[b.name].n) >= 2:
        # a fixed-horizon interval only when the experiment is over; defined when the control's mean
        # is 0, where the relative lift is not
        d = st.difference(plain[a.name], plain[b.name], alpha)
        out["difference"].update(
            ci_low=_round(d.ci_low), ci_high=_round(d.ci_high), p_value=_round(d.p_value)
        )
    try:
        effect = st.sequential_lift(a, b, alpha, tuning) if sequential else st.relative_lift(a, b, alpha)
    except ValueError as exc:
        out["error"] = str(exc)
        return out
    out.update(
        lift=_round(effect.estimate),
        ci_low=_round(effect.ci_low),
        ci_high=_round(effect.ci_high),
        p_value=_round(effect.p_value),
        se=_round(effect.se),
    )
    if not sequential:
        out["df"] = _round(effect.df)
    return out


def _method(
    design: Design,
    metric: str,
    sequential: bool,
    alpha: float,
    tuning: float,
    cuped: bool,
    theta: float | None,
    reduction: float | None,
) -> str:
    level = f"{1 - alpha:.0%}"
    if sequential:
        text = (
            f"relative lift of each arm over {design.control!r} on {metric}: {level} asymptotic confidence "
            f"sequence (Waudby-Smith, Howard et al. 2023; gbstats' sequential test) tuned for "
            f"{tuning:,.0f} cases, and its anytime-valid p-value"
        )
        if design.running:
            text += (
                "; the experiment is running, so only the sequential interval is given (safe to look daily)"
            )
    else:
        text = (
            f"relative lift of each arm over {design.control!r} on {metric}: Welch's t with the delta "
            f"method for a ratio of means, {level} fixed-horizon interval (gbstats' two-sided t-test)"
        )
    if cuped:
        text += (
            f"; CUPED with each agent's mean handle time before {design.started_at:%Y-%m-%d} as covariate "
            f"(theta {theta:.4g}, variance -{100 * (reduction or 0):.1f}%)"
            if design.started_at is not None
            else "; CUPED"
        )
    return text


def _mde(a: st.ArmStats, b: st.ArmStats, mde: float, alpha: float) -> dict[str, Any]:
    needed = st.cases_needed(a, b, mde, alpha, POWER) if a.n > 1 and b.n > 1 else None
    return {
        "relative": mde,
        "power": POWER,
        "needed_per_arm": needed,
        "smallest_arm": min(a.n, b.n),
        "detectable_now": _round(st.detectable_effect(a, b, alpha, POWER)),
    }


def _warnings(
    design: Design,
    metric: str,
    stats: dict[str, st.ArmStats],
    srm: float,
    sequential: bool,
    outcomes: Outcomes,
    mde: float,
    alpha: float,
) -> list[str]:
    out = []
    a = stats[design.control]
    for arm, b in stats.items():
        if arm == design.control:
            continue
        if a.n < 2 or b.n < 2:
            out.append(
                f"too few cases with {metric} to compare {arm} with {design.control} ({b.n} and {a.n})"
            )
            continue
        if a.variance == 0 and b.variance == 0:
            out.append(
                f"{metric} is the same for every case ({a.mean:g} and {b.mean:g}): nothing varies to compare"
            )
            continue
        needed = st.cases_needed(a, b, mde, alpha, POWER)
        if needed is not None and min(a.n, b.n) < needed:
            out.append(
                f"too few cases to detect a {mde:.0%} change in {metric} with {POWER:.0%} power: "
                f"{needed:,} per arm needed, {min(a.n, b.n):,} in the smallest arm"
            )
    if srm < st.SRM_ALPHA:
        counts = outcomes.counts()
        split = ", ".join(f"{arm} {counts.get(arm, 0):,}" for arm in design.names)
        promised = "/".join(f"{100 * w:g}" for w in design.weights)
        out.append(
            f"sample ratio mismatch (p = {srm:.2g}): {split} is not the {promised} split the weights "
            "promise; something assigns or loses cases unevenly: do not trust this result until it is found"
        )
    if design.running:
        out.append(
            "the experiment is still running: only the sequential interval is given"
            if sequential
            else "the experiment is still running: a fixed-horizon interval is only valid at the planned end"
        )
    mixed = {arm: v for arm, v in outcomes.versions.items() if len(v) > 1}
    if mixed or len({frozenset(v) for v in outcomes.versions.values()}) > 1:
        detail = "; ".join(
            f"{arm}: " + ", ".join(f"{version} ({n:,})" for version, n in v.most_common())
            for arm, v in outcomes.versions.items()
        )
        out.append(f"the arms' suggestions came from mixed pipeline versions ({detail})")
    return out


def _cap_warnings(
    design: Design, plain: dict[str, st.ArmStats], excluded: Counter[str], cap: float | None
) -> list[str]:
    """What leaving handle times over the cap out did: how many per arm, and whether the arms lost
    different shares (then the cases kept are not alike across arms, and the comparison is biased)."""
    if not excluded or cap is None:
        return []
    total = sum(excluded.values())
    split = ", ".join(f"{arm} {excluded.get(arm, 0):,}" for arm in design.names)
    out = [
        f"{total:,} case{'s' if total != 1 else ''} with a handle time over {cap:,.0f} s ({cap / 86400:g} "
        f"days, [experiments] max_handle_seconds) left out: {split}. Conversations left open that long "
        "were not handled for that long; they still count as resolved"
    ]
    control = design.control
    for arm in design.names:
        if arm == control:
            continue
        table = [(excluded.get(a, 0), plain[a].n) for a in (control, arm)]
        p_value = st.loss_p_value(*table[0], *table[1])
        if p_value < CAP_ALPHA:
            shares = ", ".join(
                f"{a} {k / max(1, k + n):.1%}" for a, (k, n) in zip((control, arm), table, strict=True)
            )
            out.append(
                f"the arms lose different shares of cases to the cap ({shares}; Fisher's exact p = "
                f"{p_value:.2g}): the cases left are not alike across arms, so the handle-time comparison "
                "may be biased; compare --metric resolved, and a larger --max-handle-seconds"
            )
    return out


def _round(value: float | None, digits: int = 6) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


def overview(
    store: Store,
    threshold: float = DEFAULT_THRESHOLD,
    limit: int = 3,
    max_handle_seconds: float | None = MAX_HANDLE_SECONDS,
) -> list[dict[str, Any]]:
    """The newest `limit` experiments, each with its split, the sample-ratio check and every metric of
    interest's result (for the dashboard; the intervals as `analyze` gives them by default)."""
    out = []
    for design in list_experiments(store)[:limit]:
        imported = arms_source(store, design.key).imported
        outcomes = read_outcomes(
            store,
            design,
            threshold,
            match="match_rate" in design.metrics,
            imported=imported,
            max_handle_seconds=max_handle_seconds,
        )
        results = [summarize(design, outcomes, metric) for metric in design.metrics]
        warnings = list(dict.fromkeys(w for r in results for w in r["warnings"]))
        first = results[0]
        out.append(
            {
                **design.public(),
                "assigned": {a["name"]: a["assigned"] for a in first["arms"]},
                "srm": first["srm"],
                "srm_p_value": first["srm_p_value"],
                "sequential": first["sequential"],
                "interval": first["interval"],
                "treatment": first["treatment"],
                "results": [
                    {
                        "metric": r["metric"],
                        "means": {a["name"]: a["mean"] for a in r["arms"]},
                        "n": {a["name"]: a["n"] for a in r["arms"]},
                        "lift": r["lift"],
                        "ci_low": r["ci_low"],
                        "ci_high": r["ci_high"],
                        "p_value": r["p_value"],
                    }
                    for r in results
                ],
                "simulated": first["simulated"],
                "warnings": warnings,
            }
        )
    return out
