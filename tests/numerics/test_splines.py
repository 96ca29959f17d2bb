"""Penalised splines: basis, penalty, GCV from sufficient statistics."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import SplineTransformer

from dowhy_e2b._numerics.splines import fit_penalised, make_spline_basis, smoother_stats


def _data(seed=0, n=400):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, n)
    return x, np.sin(1.5 * x) + 0.3 * rng.normal(size=n), rng


def test_basis_is_a_partition_of_unity_and_continues_linearly():
    x, _, _ = _data()
    basis = make_spline_basis(x, n_knots=10)
    inside = np.linspace(x.min(), x.max(), 50)
    np.testing.assert_allclose(basis.design(inside).sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(basis.design(inside, deriv=1).sum(axis=1), 0.0, atol=1e-10)
    coef = np.random.default_rng(1).normal(size=basis.n_basis)
    lo, hi = basis.lower, basis.upper
    f = basis.design(np.array([lo, hi])) @ coef
    slope = basis.design(np.array([lo, hi]), deriv=1) @ coef
    out = np.array([lo - 1.0, hi + 2.0])
    np.testing.assert_allclose(basis.design(out) @ coef, [f[0] - slope[0], f[1] + 2 * slope[1]])
    np.testing.assert_allclose(basis.design(out, deriv=2), 0.0)


def test_derivative_matches_finite_differences():
    x, _, rng = _data(2)
    basis = make_spline_basis(x, n_knots=8)
    coef = rng.normal(size=basis.n_basis)
    t = np.linspace(-1.9, 1.9, 17)
    h = 1e-6
    fd = (basis.design(t + h) - basis.design(t - h)) @ coef / (2 * h)
    np.testing.assert_allclose(basis.design(t, deriv=1) @ coef, fd, atol=1e-5)


def test_penalty_is_the_integrated_squared_second_derivative():
    x, _, rng = _data(3)
    basis = make_spline_basis(x, n_knots=7)
    omega = basis.penalty()
    # Straight lines are in the null space.
    line = np.linalg.lstsq(basis.design(x), 2.0 * x - 1.0, rcond=None)[0]
    assert line @ omega @ line == pytest.approx(0.0, abs=1e-9)
    coef = rng.normal(size=basis.n_basis)
    t = np.linspace(basis.lower, basis.upper, 200001)
    second = basis.design(t, deriv=2) @ coef
    numeric = np.sum((second[1:] ** 2 + second[:-1] ** 2) / 2 * np.diff(t))
    assert coef @ omega @ coef == pytest.approx(numeric, rel=1e-4)


def test_unpenalised_fit_equals_least_squares_on_sklearn_splines():
    x, y, rng = _data(4)
    w = rng.uniform(0.2, 3.0, x.size)
    basis = make_spline_basis(x, n_knots=5)
    fit = fit_penalised(smoother_stats(basis.design(x), y, w), basis.penalty(), penalty=0.0)
    spline = SplineTransformer(n_knots=5, knots="quantile", include_bias=False).fit(x[:, None])
    ref = LinearRegression().fit(spline.transform(x[:, None]), y, sample_weight=w)
    grid = np.linspace(-1.5, 1.5, 11)
    expected = ref.predict(spline.transform(grid[:, None]))
    np.testing.assert_allclose(basis.design(grid) @ fit.coef, expected, atol=1e-8)
    assert fit.edf == pytest.approx(basis.n_basis)


def test_gcv_matches_a_direct_computation_and_adapts_to_the_truth():
    x, y, _ = _data(5)
    basis = make_spline_basis(x, n_knots=20)
    B, omega = basis.design(x), basis.penalty()
    fit = fit_penalised(smoother_stats(B, y), omega)
    H = B @ np.linalg.solve(B.T @ B + fit.penalty * omega, B.T)
    resid = y - H @ y
    n = x.size
    assert fit.edf == pytest.approx(np.trace(H), rel=1e-6)
    assert fit.score == pytest.approx(n * resid @ resid / (n - np.trace(H)) ** 2, rel=1e-6)
    # A straight-line truth is fitted with about two degrees of freedom, a wiggly one with more.
    straight = fit_penalised(
        smoother_stats(B, 0.5 * x + 0.3 * np.random.default_rng(6).normal(size=n)), omega
    )
    assert straight.edf < 3.0 < fit.edf


def test_sufficient_statistics_add_up_over_chunks():
    x, y, rng = _data(7)
    w = rng.uniform(0.5, 2.0, x.size)
    B = make_spline_basis(x).design(x)
    whole = smoother_stats(B, y, w)
    parts = smoother_stats(B[:150], y[:150], w[:150]) + smoother_stats(B[150:], y[150:], w[150:])
    np.testing.assert_allclose(parts.gram, whole.gram)
    np.testing.assert_allclose(parts.moment, whole.moment)
    assert parts.sum_sq == pytest.approx(whole.sum_sq) and parts.weight_sum == pytest.approx(whole.weight_sum)


def test_given_knots_fix_the_basis_and_few_values_get_few_knots():
    x, _, _ = _data(8)
    basis = make_spline_basis(x, knots=[-3.0, 0.0, 3.0])
    assert basis.lower == -3.0 and basis.upper == 3.0 and basis.n_basis == 5
    few = make_spline_basis(np.repeat([0.0, 1.0, 2.0, 3.0], 10), n_knots=20)
    assert few.breakpoints.size == 4
    with pytest.raises(ValueError, match="two distinct"):
        make_spline_basis(np.ones(5))


def test_leave_one_out_matches_refitting_without_each_unit():
    x, y, rng = _data(9, n=60)
    w = rng.uniform(0.2, 4.0, x.size)
    w *= w.size / w.sum()
    basis = make_spline_basis(x, n_knots=8)
    B, omega = basis.design(x), basis.penalty()
    fit = fit_penalised(smoother_stats(B, y, w), omega, penalty="loo", units=(B, y, w))
    lam = fit.penalty
    errors = []
    for i in range(x.size):
        keep = np.arange(x.size) != i
        Bk, wk = B[keep], w[keep]
        coef = np.linalg.solve((Bk * wk[:, None]).T @ Bk + lam * omega, (Bk * wk[:, None]).T @ y[keep])
        errors.append(w[i] * (y[i] - B[i] @ coef) ** 2)
    assert fit.score == pytest.approx(np.sum(errors) / w.sum(), rel=1e-4)
    with pytest.raises(ValueError, match="needs the units"):
        fit_penalised(smoother_stats(B, y, w), omega, penalty="loo")
    with pytest.raises(ValueError, match="'gcv' or 'loo'"):
        fit_penalised(smoother_stats(B, y, w), omega, penalty="aic")


def test_leave_one_dose_out_leaves_tied_doses_out_together():
    """With tied doses the criterion leaves a whole dose out: it equals refitting without it."""
    rng = np.random.default_rng(10)
    x = np.repeat(np.linspace(-2, 2, 15), 4)
    y = np.sin(x) + 0.3 * rng.normal(size=x.size)
    w = rng.uniform(0.5, 2.0, x.size)
    w *= w.size / w.sum()
    basis = make_spline_basis(x, n_knots=8)
    B, omega = basis.design(x), basis.penalty()
    fit = fit_penalised(smoother_stats(B, y, w), omega, penalty="loo", units=(B, y, w))
    errors = 0.0
    for dose in np.unique(x):
        out = x == dose
        Bk, wk = B[~out], w[~out]
        coef = np.linalg.solve(
            (Bk * wk[:, None]).T @ Bk + fit.penalty * omega, (Bk * wk[:, None]).T @ y[~out]
        )
        errors += np.sum(w[out] * (y[out] - B[out] @ coef) ** 2)
    assert fit.score == pytest.approx(errors / w.sum(), rel=1e-4)


def test_leave_one_out_sums_on_a_shared_design_and_with_unsampled_units():
    """The bootstrap's shortcuts are exact: the dose groups computed once for a design serve every
    response on it, and units of weight zero (not drawn by a replicate) change nothing, across more
    groups than one block."""
    from dowhy_e2b._numerics.splines import LOO_BLOCK, PenalisedProblem

    x, y, rng = _data(11, n=2 * LOO_BLOCK + 300)
    w = rng.poisson(1.0, x.size).astype(float)
    assert (w == 0).any()
    basis = make_spline_basis(x, n_knots=10)
    B, omega = basis.design(x), basis.penalty()
    problem = PenalisedProblem(smoother_stats(B, y, w), omega)
    lams = problem.grid()
    total, weight = problem.loo_sums(lams, B, y, w)
    shared = problem.loo_sums(lams, B, y, w, PenalisedProblem.dose_groups(B))
    drawn = w > 0
    only_drawn = problem.loo_sums(lams, B[drawn], y[drawn], w[drawn])
    np.testing.assert_array_equal(shared[0], total)
    np.testing.assert_allclose(only_drawn[0], total, rtol=1e-12)
    assert weight == shared[1] == pytest.approx(only_drawn[1])
