"""The statistics of an experiment, as functions over arrays (no store, no model objects).

For a metric Y (one value per case) and arms A (control) and B (treatment), with n, mean and sample
variance s² per arm:

- **relative lift** L = mean_B / mean_A - 1, and its variance by the delta method for a ratio of
  independent means: Var(L) = s²_B / (n_B mean_A²) + s²_A mean_B² / (n_A mean_A⁴);
- **fixed-horizon interval and p-value**: Welch's t with the Welch-Satterthwaite degrees of freedom
  df = (s²_A/n_A + s²_B/n_B)² / ((s²_A/n_A)²/(n_A-1) + (s²_B/n_B)²/(n_B-1)); CI = L ± t(1-α/2, df) ·
  √Var(L); p = 2 (1 - F_t(|L| / √Var(L), df)). This is GrowthBook's frequentist engine (gbstats'
  `TwoSidedTTest`, relative); the absolute difference mean_B - mean_A is Welch's t-test itself;
- **sequential interval** (safe to look at every day): the asymptotic confidence sequence of
  Waudby-Smith, Howard et al. ("Time-uniform central limit theory and asymptotic confidence
  sequences", 2023), as gbstats computes it. With N = n_A + n_B, s² = Var(L) · N and a tuning
  parameter N* (the sample size where the interval is narrowest; GrowthBook's default is 5,000),
  ρ² = (-2 ln α + ln(-2 ln α + 1)) / N*, half-width = √s² · √(2 (Nρ² + 1) / (N² ρ²) · ln(√(Nρ² + 1) / α)),
  and the anytime-valid p-value = min(1, √(Nρ² + 1) · exp(-ρ² N L² / (2 Var(L) (Nρ² + 1)))), the
  inverse of the mixture martingale's e-value (gbstats, after eq. 155 of the paper): it is below α
  exactly when the interval excludes 0;
- **CUPED** (Deng et al. 2013): with a covariate X measured before the experiment, θ = Cov(Y, X) / Var(X)
  pooled over both arms, and Y' = Y - θ (X - mean X); the same test on Y' has the same expected lift
  and a narrower interval by the share of Y's variance that X explains;
- **neither arm varies** (every case of each arm the same value, as 3 of 3 resolved against 0 of 3):
  the standard error is 0 and there is nothing to estimate an error from, so no interval and no
  p-value (None in the JSON; the report warns that nothing varies), rather than a zero-width
  interval with p = 0 that read as a decisive result;
- **sample-ratio mismatch**: Pearson's chi-square of the cases per arm against the shares the weights
  promise (flagged at p < 0.001: the split itself is broken, so no result can be trusted);
- **cases needed** for a relative minimum detectable effect δ with power 1-β:
  n per arm = (z(1-α/2) + z(1-β))² · (s²_A + s²_B) / (δ mean_A)².
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

SRM_ALPHA = 0.001
SEQUENTIAL_TUNING = 5000.0
Values = Sequence[float] | npt.NDArray[np.float64]


@dataclass(frozen=True)
class ArmStats:
    """One arm's metric: n, mean and sample variance (ddof = 1)."""

    name: str
    n: int
    mean: float
    variance: float


@dataclass(frozen=True)
class Effect:
    """Treatment against control: the point estimate, its standard error and interval, the p-value."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    df: float | None = None
    """Welch-Satterthwaite degrees of freedom (None for the sequential interval)."""


def arm_stats(name: str, values: Values) -> ArmStats:
    """n, mean and sample variance of one arm's values."""
    y = np.asarray(values, dtype=float)
    n = int(y.size)
    mean = float(y.mean()) if n else math.nan
    variance = float(y.var(ddof=1)) if n > 1 else math.nan
    return ArmStats(name, n, mean, variance)


def welch_df(a: ArmStats, b: ArmStats) -> float:
    """The Welch-Satterthwaite degrees of freedom of two arms' means."""
    va, vb = a.variance / a.n, b.variance / b.n
    denominator = va**2 / (a.n - 1) + vb**2 / (b.n - 1)
    return (va + vb) ** 2 / denominator if denominator > 0 else float(a.n + b.n - 2)


def relative_variance(a: ArmStats, b: ArmStats) -> float:
    """Var(mean_B / mean_A - 1) by the delta method (independent arms)."""
    return b.variance / (a.mean**2 * b.n) + a.variance * b.mean**2 / (a.mean**4 * a.n)


def _t_effect(estimate: float, se: float, df: float, alpha: float) -> Effect:
    if se == 0:  # nothing varies in either arm: no error to estimate, so no interval and no p
        return Effect(estimate, 0.0, math.nan, math.nan, math.nan, df)
    width = float(stats.t.ppf(1 - alpha / 2, df)) * se
    p = float(2 * stats.t.sf(abs(estimate) / se, df))
    return Effect(estimate, se, estimate - width, estimate + width, p, df)


def relative_lift(a: ArmStats, b: ArmStats, alpha: float = 0.05) -> Effect:
    """B's relative lift over A with Welch's t and the delta method (fixed horizon)."""
    _check(a, b)
    estimate = b.mean / a.mean - 1
    return _t_effect(estimate, math.sqrt(relative_variance(a, b)), welch_df(a, b), alpha)


def difference(a: ArmStats, b: ArmStats, alpha: float = 0.05) -> Effect:
    """mean_B - mean_A with Welch's t-test (unequal variances; defined when mean_A is 0)."""
    _check(a, b, relative=False)
    se = math.sqrt(a.variance / a.n + b.variance / b.n)
    return _t_effect(b.mean - a.mean, se, welch_df(a, b), alpha)


def sequential_rho(alpha: float, tuning: float = SEQUENTIAL_TUNING) -> float:
    """The confidence sequence's ρ, tuned so the interval is narrowest near `tuning` cases."""
    minus2log = -2 * math.log(alpha)
    return math.sqrt((minus2log + math.log(minus2log + 1)) / tuning)


def sequential_lift(
    a: ArmStats, b: ArmStats, alpha: float = 0.05, tuning: float = SEQUENTIAL_TUNING
) -> Effect:
    """B's relative lift over A with an asymptotic confidence sequence: valid at every look."""
    _check(a, b)
    estimate = b.mean / a.mean - 1
    variance = relative_variance(a, b)
    se = math.sqrt(variance)
    n = a.n + b.n
    rho2 = sequential_rho(alpha, tuning) ** 2
    spread = n * rho2 + 1
    s2 = variance * n
    if s2 == 0:  # nothing varies in either arm, as in `_t_effect`
        return Effect(estimate, 0.0, math.nan, math.nan, math.nan)
    half = math.sqrt(s2) * math.sqrt(2 * spread / (n * n * rho2) * math.log(math.sqrt(spread) / alpha))
    # the e-value of the mixture martingale at this look; its inverse is an anytime-valid p-value
    log_e = rho2 * (estimate**2 * n / variance) / (2 * spread) - 0.5 * math.log(spread)
    p = min(1.0, math.exp(-log_e))
    return Effect(estimate, se, estimate - half, estimate + half, p)


def cuped(values: Values, covariate: Values) -> tuple[npt.NDArray[np.float64], float]:
    """Y - θ (X - mean X) with θ = Cov(Y, X) / Var(X) over all cases (both arms): the adjusted values
    and θ (0 when X does not vary)."""
    y = np.asarray(values, dtype=float)
    x = np.asarray(covariate, dtype=float)
    if y.shape != x.shape:
        raise ValueError(f"CUPED needs one covariate per value: {y.size} values, {x.size} covariates")
    var_x = float(x.var(ddof=1)) if x.size > 1 else 0.0
    theta = float(np.cov(y, x, ddof=1)[0, 1] / var_x) if var_x > 0 else 0.0
    return y - theta * (x - x.mean()), theta


def srm_p_value(counts: Sequence[int], weights: Sequence[float]) -> float:
    """Pearson chi-square p-value of the cases per arm against the split the weights promise."""
    total = sum(counts)
    if total == 0 or len(counts) < 2:
        return 1.0
    shares = np.asarray(weights, dtype=float) / float(sum(weights))
    return float(stats.chisquare(np.asarray(counts, dtype=float), f_exp=shares * total).pvalue)


def loss_p_value(lost_a: int, kept_a: int, lost_b: int, kept_b: int) -> float:
    """Fisher's exact (two-sided) p-value that two arms lose the same share of their cases (to a
    filter on the outcome, such as the handle-time cap): exact, as the losses are often a handful."""
    if lost_a + lost_b == 0 or kept_a + kept_b == 0:
        return 1.0
    return float(stats.fisher_exact([[lost_a, kept_a], [lost_b, kept_b]]).pvalue)


def cases_needed(a: ArmStats, b: ArmStats, mde: float, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Cases per arm to detect a relative change of `mde` with `power` (two-sided, level `alpha`),
    from the arms' variances; None when the control mean is 0 or a variance is unknown."""
    if not a.mean or math.isnan(a.variance) or math.isnan(b.variance) or mde <= 0:
        return None
    z = float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    return math.ceil(z**2 * (a.variance + b.variance) / (mde * a.mean) ** 2)


def detectable_effect(a: ArmStats, b: ArmStats, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """The smallest relative change detectable with `power` at the arms' current sizes."""
    if not a.mean or a.n < 2 or b.n < 2:
        return None
    z = float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    return z * math.sqrt(a.variance / a.n + b.variance / b.n) / abs(a.mean)


def _check(a: ArmStats, b: ArmStats, relative: bool = True) -> None:
    if a.n < 2 or b.n < 2:
        raise ValueError(
            f"each arm needs at least 2 cases with the metric ({a.name}: {a.n}, {b.name}: {b.n})"
        )
    if relative and a.mean == 0:
        raise ValueError(f"the {a.name} arm's mean is 0: a relative lift is undefined")
