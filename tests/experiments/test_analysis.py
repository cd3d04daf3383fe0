"""The statistics, against values computed here independently (numpy and scipy), on fixtures with a
known effect: Welch's t with the delta method, SRM, CUPED, and the sequential interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from supportcue.experiments import analysis as st

MU, EFFECT, N = 300.0, -0.06, 4000


@pytest.fixture(scope="module")
def known() -> tuple[np.ndarray, np.ndarray]:
    """Handle times (lognormal, like real ones) with treatment 6% faster on average."""
    rng = np.random.default_rng(20261201)
    sigma = 0.6
    scale = MU / math.exp(sigma**2 / 2)
    control = rng.lognormal(math.log(scale), sigma, N)
    treatment = rng.lognormal(math.log(scale * (1 + EFFECT)), sigma, N + 150)
    return control, treatment


def test_arm_stats_are_n_mean_and_sample_variance(known: tuple[np.ndarray, np.ndarray]) -> None:
    control, _ = known
    a = st.arm_stats("control", control)
    assert a.n == N and a.mean == pytest.approx(control.mean())
    assert a.variance == pytest.approx(np.var(control, ddof=1))


def test_relative_lift_matches_an_independent_computation(known: tuple[np.ndarray, np.ndarray]) -> None:
    control, treatment = known
    effect = st.relative_lift(st.arm_stats("c", control), st.arm_stats("t", treatment))
    # independently: the ratio's delta-method variance, Welch-Satterthwaite df, scipy's t
    ma, mb = control.mean(), treatment.mean()
    va, vb = control.var(ddof=1) / control.size, treatment.var(ddof=1) / treatment.size
    lift = mb / ma - 1
    se = math.sqrt(vb / ma**2 + va * mb**2 / ma**4)
    df = (va + vb) ** 2 / (va**2 / (control.size - 1) + vb**2 / (treatment.size - 1))
    half = stats.t.ppf(0.975, df) * se
    assert effect.estimate == pytest.approx(lift, rel=1e-12)
    assert effect.se == pytest.approx(se, rel=1e-12)
    assert effect.df == pytest.approx(df, rel=1e-12)
    assert (effect.ci_low, effect.ci_high) == pytest.approx((lift - half, lift + half), rel=1e-12)
    assert effect.p_value == pytest.approx(2 * stats.t.sf(abs(lift) / se, df), rel=1e-9)
    # and the known effect is found
    assert effect.ci_low < EFFECT < effect.ci_high and effect.ci_high < 0 and effect.p_value < 0.01


def test_difference_is_welchs_t_test_as_scipy_computes_it(known: tuple[np.ndarray, np.ndarray]) -> None:
    control, treatment = known
    d = st.difference(st.arm_stats("c", control), st.arm_stats("t", treatment))
    reference = stats.ttest_ind(treatment, control, equal_var=False)
    low, high = reference.confidence_interval(0.95)
    assert d.estimate == pytest.approx(treatment.mean() - control.mean())
    assert d.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert (d.ci_low, d.ci_high) == pytest.approx((low, high), rel=1e-9)


def test_no_effect_gives_intervals_that_cover_zero_at_the_nominal_rate() -> None:
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(400):
        a, b = rng.exponential(200, 300), rng.exponential(200, 300)
        e = st.relative_lift(st.arm_stats("a", a), st.arm_stats("b", b))
        covered += e.ci_low <= 0 <= e.ci_high
    assert 0.92 <= covered / 400 <= 0.98


# -- sample-ratio mismatch -----------------------------------------------------------------------


def test_srm_is_pearsons_chi_square_and_flags_a_skewed_split() -> None:
    fair, skewed = [5020, 4980], [5300, 4700]
    assert st.srm_p_value(fair, [50, 50]) == pytest.approx(stats.chisquare(fair).pvalue)
    assert st.srm_p_value(fair, [50, 50]) > st.SRM_ALPHA
    p = st.srm_p_value(skewed, [50, 50])
    assert p == pytest.approx(stats.chisquare(skewed, f_exp=[5000, 5000]).pvalue) and p < st.SRM_ALPHA
    # against unequal weights: 2000/8000 is what 20/80 promises
    assert st.srm_p_value([2000, 8000], [20, 80]) > 0.5
    assert st.srm_p_value([2500, 7500], [20, 80]) < st.SRM_ALPHA


# -- CUPED ---------------------------------------------------------------------------------------


def test_cuped_narrows_the_interval_with_a_correlated_pre_period_covariate() -> None:
    rng = np.random.default_rng(11)
    n = 3000
    agent_speed = rng.normal(300, 60, 2 * n)  # the covariate: each case's agent's earlier mean
    y = agent_speed * rng.lognormal(0, 0.3, 2 * n)
    y[n:] *= 1 + EFFECT  # treatment
    plain = st.relative_lift(st.arm_stats("c", y[:n]), st.arm_stats("t", y[n:]))
    adjusted, theta = st.cuped(y, agent_speed)
    # independently: theta is the OLS slope of y on the covariate over both arms
    assert theta == pytest.approx(stats.linregress(agent_speed, y).slope, rel=1e-9)
    assert adjusted.mean() == pytest.approx(y.mean())  # the adjustment is centred
    cuped = st.relative_lift(st.arm_stats("c", adjusted[:n]), st.arm_stats("t", adjusted[n:]))
    ratio = (cuped.ci_high - cuped.ci_low) / (plain.ci_high - plain.ci_low)
    # the interval shrinks by sqrt(1 - r^2), r the correlation of the metric and the covariate
    r = np.corrcoef(y, agent_speed)[0, 1]
    assert ratio < 0.9 and ratio == pytest.approx(math.sqrt(1 - r**2), abs=0.03)
    assert cuped.ci_low < EFFECT < cuped.ci_high


def test_cuped_without_a_varying_covariate_changes_nothing() -> None:
    y = np.arange(10.0)
    adjusted, theta = st.cuped(y, np.full(10, 3.0))
    assert theta == 0 and list(adjusted) == list(y)


# -- sequential ----------------------------------------------------------------------------------


def test_sequential_interval_is_the_confidence_sequence(known: tuple[np.ndarray, np.ndarray]) -> None:
    control, treatment = known
    a, b = st.arm_stats("c", control), st.arm_stats("t", treatment)
    seq = st.sequential_lift(a, b, tuning=5000)
    fixed = st.relative_lift(a, b)
    # independently, from Waudby-Smith et al. (2023) as gbstats tunes it
    n = a.n + b.n
    alpha = 0.05
    rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / 5000
    s2 = fixed.se**2 * n
    half = math.sqrt(s2 * 2 * (n * rho2 + 1) / (n**2 * rho2) * math.log(math.sqrt(n * rho2 + 1) / alpha))
    assert seq.estimate == fixed.estimate
    assert (seq.ci_low, seq.ci_high) == pytest.approx((fixed.estimate - half, fixed.estimate + half))
    assert seq.ci_high - seq.ci_low > fixed.ci_high - fixed.ci_low  # the price of looking any time
    # its p-value is below alpha exactly when the interval excludes 0
    assert (seq.p_value < alpha) == (seq.ci_high < 0 or seq.ci_low > 0)


def test_peeking_daily_keeps_the_sequential_false_positive_rate() -> None:
    """With no effect and 15 looks per experiment, the fixed interval 'finds' an effect far more
    often than 5%; the confidence sequence stays under it."""
    rng = np.random.default_rng(3)
    runs, looks = 300, np.linspace(100, 3000, 15).astype(int)
    fixed_hits = seq_hits = 0
    for _ in range(runs):
        a, b = rng.exponential(250, looks[-1]), rng.exponential(250, looks[-1])
        fixed_any = seq_any = False
        for k in looks:
            sa, sb = st.arm_stats("a", a[:k]), st.arm_stats("b", b[:k])
            fixed_any |= st.relative_lift(sa, sb).p_value < 0.05
            seq_any |= st.sequential_lift(sa, sb, tuning=2 * looks[-1]).p_value < 0.05
        fixed_hits += fixed_any
        seq_hits += seq_any
    assert fixed_hits / runs > 0.12
    assert seq_hits / runs <= 0.05


# -- power ---------------------------------------------------------------------------------------


def test_cases_needed_is_the_two_sample_formula() -> None:
    a = st.ArmStats("c", 1000, 300.0, 250.0**2)
    b = st.ArmStats("t", 1000, 290.0, 250.0**2)
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert st.cases_needed(a, b, 0.05) == math.ceil(z**2 * 2 * 250.0**2 / (0.05 * 300) ** 2)
    mde = st.detectable_effect(a, b)
    assert mde is not None and mde == pytest.approx(z * math.sqrt(2 * 250.0**2 / 1000) / 300)


def test_too_few_cases_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at least 2 cases"):
        st.relative_lift(st.arm_stats("c", [1.0]), st.arm_stats("t", [1.0, 2.0]))
    with pytest.raises(ValueError, match="mean is 0"):
        st.relative_lift(st.arm_stats("c", [0.0, 0.0]), st.arm_stats("t", [1.0, 2.0]))


def test_the_difference_is_defined_when_the_control_mean_is_zero() -> None:
    """A control arm where nothing matched (mean 0) made the absolute difference an error too ("a
    relative lift is undefined"), though Welch's t-test of mean_B - mean_A is well defined."""
    control, treatment = np.zeros(30), np.array([1.0] * 12 + [0.0] * 18)
    d = st.difference(st.arm_stats("c", control), st.arm_stats("t", treatment))
    expected = stats.ttest_ind(treatment, control, equal_var=False)
    ci = expected.confidence_interval(0.95)
    assert d.estimate == pytest.approx(0.4) and d.p_value == pytest.approx(expected.pvalue)
    assert (d.ci_low, d.ci_high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    with pytest.raises(ValueError, match="mean is 0"):
        st.relative_lift(st.arm_stats("c", control), st.arm_stats("t", treatment))


@pytest.mark.parametrize("sequential", [False, True])
def test_arms_where_nothing_varies_get_no_interval_and_no_p_value(sequential: bool) -> None:
    """Every control case resolved and no treatment case (3 of 3 against 0 of 3): with no variance
    in either arm the standard error is 0, and the interval was the point itself with p = 0, which
    the dashboard showed as a decisive result while the report warned that nothing varies."""
    control, treatment = st.arm_stats("c", [1.0, 1.0, 1.0]), st.arm_stats("t", [0.0, 0.0, 0.0])
    effects = (
        [st.sequential_lift(control, treatment)]
        if sequential
        else [
            st.relative_lift(control, treatment),
            st.difference(control, treatment),
        ]
    )
    for effect in effects:
        assert effect.estimate == pytest.approx(-1.0)
        assert math.isnan(effect.ci_low) and math.isnan(effect.ci_high) and math.isnan(effect.p_value)
    same = st.relative_lift(st.arm_stats("c", [1.0, 1.0]), st.arm_stats("t", [1.0, 1.0]))
    assert same.estimate == 0 and math.isnan(same.p_value)
