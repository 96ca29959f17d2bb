"""Omitted-variable-bias formulas: the smoother weights, the bound, the robustness value, the scale's s.e."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dowhy_e2b import WeightedDoseResponse
from dowhy_e2b._numerics.sensitivity import (
    bias_bound,
    bias_factor,
    robustness_value,
    scale_standard_error,
    second_moment,
    smoother_matrix,
)


@pytest.mark.parametrize("penalty", ["loo", 0.0, 5.0])
def test_smoother_matrix_reproduces_the_weighted_fit(penalty):
    rng = np.random.default_rng(0)
    a = rng.normal(size=300)
    v = np.sin(a) + rng.normal(size=300)
    w = rng.exponential(size=300)
    fit = WeightedDoseResponse(penalty=penalty).fit(a, v, sample_weight=w)
    grid = np.linspace(-2.5, 2.5, 11)  # beyond the data too: the linear continuation
    for deriv, predict in ((0, fit.predict), (1, fit.predict_derivative)):
        D = fit.design_matrix(grid, deriv=deriv)
        ell = smoother_matrix(D, fit.design_matrix(a), w, fit._penalty_matrix(), fit.penalty_)
        np.testing.assert_allclose(ell @ v, predict(grid), rtol=1e-8, atol=1e-10)
    # Linear in the response, and the weights of each dose sum to 1 (the intercept is unpenalised).
    ell = smoother_matrix(
        fit.design_matrix(grid), fit.design_matrix(a), w, fit._penalty_matrix(), fit.penalty_
    )
    np.testing.assert_allclose(ell.sum(axis=1), 1.0, rtol=1e-8)


@given(
    ry=st.floats(0.0, 0.99),
    rd=st.floats(0.0, 0.99),
    rho=st.floats(0.01, 1.0),
    scale=st.floats(0.01, 100.0),
)
@settings(max_examples=60, deadline=None)
def test_bias_bound_formula_and_monotonicity(ry, rd, rho, scale):
    expected = rho * scale * np.sqrt(ry * rd / (1 - rd))
    assert bias_bound(scale, ry, rd, rho) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert bias_factor(min(ry + 0.005, 0.999), rd, rho) >= bias_factor(ry, rd, rho)
    assert bias_factor(ry, min(rd + 0.005, 0.999), rho) >= bias_factor(ry, rd, rho)


def test_bias_factor_edges():
    assert bias_factor(0.0, 0.5) == 0.0 and bias_factor(0.5, 0.0) == 0.0
    assert np.isinf(bias_factor(0.3, 1.0))
    assert bias_factor(0.0, 1.0) == 0.0  # no outcome strength: no bias whatever the weights do


@given(ratio=st.floats(1e-3, 1e3), scale=st.floats(1e-3, 50.0), rho=st.floats(0.05, 1.0))
@settings(max_examples=80, deadline=None)
def test_robustness_value_is_where_the_bound_reaches_the_estimate(ratio, scale, rho):
    # ratio = estimate / (rho * scale): up to 1000, the robustness value stays below 1 - 1e-6
    estimate = ratio * rho * scale
    rv = robustness_value(estimate, scale, rho)
    assert 0 < rv < 1
    assert bias_bound(scale, rv, rv, rho) == pytest.approx(estimate, rel=1e-7)
    assert robustness_value(2 * estimate, scale, rho) > rv  # a larger effect is more robust


def test_robustness_value_edges():
    assert robustness_value(0.0, 1.0) == 0.0
    assert robustness_value(-0.3, 1.0) == 0.0  # an estimate already past 0 (a confidence bound)
    assert robustness_value(1.0, 0.0) == 1.0


def test_second_moment_with_unit_weights_equals_duplicated_rows():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 50))
    counts = rng.integers(1, 4, size=50)
    np.testing.assert_allclose(second_moment(x, counts), second_moment(np.repeat(x, counts, axis=1)))


def test_scale_standard_error_matches_the_spread_over_samples():
    """Over 400 samples of n = 2000 (r normal, alpha log-normal), the delta-method s.e. of
    S = sqrt(mean r² · mean alpha²) is within 15% of the spread of S (its own s.e. at 400 samples is
    about 3.5%)."""
    rng = np.random.default_rng(2)
    scales, ses = [], []
    for _ in range(400):
        r = rng.normal(scale=1.5, size=2000)
        alpha = rng.lognormal(sigma=0.5, size=(1, 2000))
        scales.append(np.sqrt(second_moment(r) * second_moment(alpha)[0]))
        ses.append(scale_standard_error(r, alpha)[0])
    assert np.mean(ses) == pytest.approx(np.std(scales, ddof=1), rel=0.15)
