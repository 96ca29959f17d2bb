import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import approx_fprime, check_grad

from dowhy_e2b._numerics import (
    balance_features,
    drop_collinear,
    dual_gradient,
    dual_hessian,
    dual_objective,
    effective_sample_size,
    entropy_weights,
    solve_entropy_balance,
)


def _problem(seed, n=80, d=2, moments=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    a = X @ np.linspace(0.7, 0.3, d) + rng.normal(size=n)
    F = balance_features(X, a, moments=moments)
    return F.matrix[:, drop_collinear(F.matrix)], rng


@pytest.mark.parametrize("ridge", [0.0, 0.3])
def test_gradient_and_hessian_match_finite_differences(ridge):
    C, rng = _problem(0)
    log_q = rng.normal(size=C.shape[0])
    lam = 0.3 * rng.normal(size=C.shape[1])
    assert check_grad(dual_objective, dual_gradient, lam, C, log_q, ridge) < 1e-5
    H = dual_hessian(lam, C, log_q, ridge)
    H_fd = np.column_stack(
        [
            approx_fprime(lam, lambda v, i=i: dual_gradient(v, C, log_q, ridge)[i], 1e-7)
            for i in range(lam.size)
        ]
    )
    np.testing.assert_allclose(H, H_fd.T, atol=1e-5)
    assert np.linalg.eigvalsh(H).min() > -1e-12


def _primal(C, q, max_imbalance=0.0, ridge=0.0):
    """Independent primal solve with cvxpy: min KL(p || q) subject to balance."""
    n = C.shape[0]
    p = cp.Variable(n, nonneg=True)
    imbalance = C.T @ p
    objective = cp.sum(cp.rel_entr(p, q / q.sum()))
    constraints = [cp.sum(p) == 1]
    if ridge > 0:
        objective = objective + cp.sum_squares(imbalance) / (2 * ridge)
    elif max_imbalance > 0:
        constraints.append(cp.abs(imbalance) <= max_imbalance)
    else:
        constraints.append(imbalance == 0)
    cp.Problem(cp.Minimize(objective), constraints).solve(
        solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11, max_iter=500
    )
    return p.value * n


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    ("max_imbalance", "ridge", "with_base"),
    [(0.0, 0.0, False), (0.0, 0.0, True), (0.05, 0.0, False), (0.0, 0.05, True)],
)
def test_dual_solution_matches_independent_primal_solve(seed, max_imbalance, ridge, with_base):
    C, rng = _problem(seed, n=60, d=2, moments=2)
    q = np.exp(0.5 * rng.normal(size=C.shape[0])) if with_base else np.ones(C.shape[0])
    # L-BFGS-B (bounded imbalance) reaches the bound to ~5e-9; Newton (the others) to ~1e-13.
    tol = 1e-7 if max_imbalance else 1e-10
    res = solve_entropy_balance(C, np.log(q), max_imbalance=max_imbalance, ridge=ridge, tol=tol)
    assert res.converged
    w_ref = _primal(C, q, max_imbalance=max_imbalance, ridge=ridge)
    np.testing.assert_allclose(res.weights, w_ref, rtol=1e-5, atol=1e-6)


def test_exact_balance_weights_are_positive_mean_one_and_balanced():
    C, _ = _problem(4, n=500, d=4, moments=3)
    res = solve_entropy_balance(C, tol=1e-8)
    assert res.converged and res.max_imbalance <= 1e-8
    assert np.all(res.weights > 0)
    assert res.weights.mean() == pytest.approx(1.0)
    np.testing.assert_allclose(C.T @ res.weights / C.shape[0], 0, atol=1e-8)
    assert res.effective_sample_size == pytest.approx(effective_sample_size(res.weights))


def test_bounded_imbalance_respects_the_bound_and_keeps_more_sample():
    C, _ = _problem(5, n=300, d=3, moments=2)
    exact = solve_entropy_balance(C)
    loose = solve_entropy_balance(C, max_imbalance=0.05, tol=1e-7)
    assert loose.converged
    assert loose.max_imbalance <= 0.05 + 1e-7
    assert loose.effective_sample_size > exact.effective_sample_size


def test_infeasible_problem_is_reported_and_weights_stay_finite():
    rng = np.random.default_rng(6)
    C = np.column_stack([rng.normal(size=50), np.abs(rng.normal(size=50)) + 0.5])  # mean 0 impossible
    res = solve_entropy_balance(C, max_iter=50)
    assert not res.converged
    assert res.max_imbalance > 0.1
    assert np.all(np.isfinite(res.weights)) and res.weights.mean() == pytest.approx(1.0)


def test_zero_constraints_return_base_weights():
    q = np.array([1.0, 2.0, 3.0, 2.0])
    res = solve_entropy_balance(np.empty((4, 0)), np.log(q))
    np.testing.assert_allclose(res.weights, q / q.mean())
    assert res.converged


def test_entropy_weights_are_a_stable_softmax():
    C = np.array([[1000.0], [-1000.0], [0.0]])
    p = entropy_weights(np.array([1.0]), C)
    assert np.all(np.isfinite(p)) and p.sum() == pytest.approx(1.0)


def test_effective_sample_size():
    assert effective_sample_size(np.ones(10)) == pytest.approx(10)
    assert effective_sample_size(np.array([1.0, 0, 0, 0])) == pytest.approx(1)
    assert effective_sample_size(np.zeros(3)) == 0.0
