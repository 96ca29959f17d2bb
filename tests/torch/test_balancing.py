from types import SimpleNamespace

import numpy as np
import pytest
import torch

from dowhy_e2b._numerics import balance_features, drop_collinear, solve_entropy_balance
from dowhy_e2b._torch.balancing import balance, solve_dual


def _problem(seed, n=60, d=2, moments=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    a = X @ np.linspace(0.8, 0.4, d) + rng.normal(size=n)
    F = balance_features(X, a, moments=moments)
    C = F.matrix[:, drop_collinear(F.matrix)]
    return torch.as_tensor(C), torch.as_tensor(0.5 * rng.normal(size=n))


@pytest.mark.parametrize("ridge", [0.0, 0.1])
def test_balance_holds_for_any_base_weights(ridge):
    C, log_base = _problem(0, n=300, moments=2)
    w, lam, converged = balance(log_base, C, ridge=ridge)
    assert converged
    imbalance = C.T @ w / C.shape[0]
    torch.testing.assert_close(imbalance, -ridge * lam, atol=1e-8, rtol=0)
    assert float(w.mean()) == pytest.approx(1.0) and bool((w > 0).all())


@pytest.mark.parametrize("ridge", [0.0, 0.1])
def test_layer_matches_the_numpy_solver(ridge):
    C, log_base = _problem(1, n=200, moments=2)
    w, _, _ = balance(log_base, C, ridge=ridge)
    ref = solve_entropy_balance(C.numpy(), log_base.numpy(), ridge=ridge, tol=1e-12)
    np.testing.assert_allclose(w.detach().numpy(), ref.weights, rtol=1e-7)


@pytest.mark.parametrize("ridge", [0.0, 0.2])
def test_gradient_through_the_dual_matches_finite_differences(ridge):
    C, log_base = _problem(2, n=25, d=2)
    probe = torch.as_tensor(np.random.default_rng(3).normal(size=25))

    def f(lb):
        w, _, _ = balance(lb, C, ridge=ridge, tol=1e-13, max_iter=100)
        return (w * probe).sum()[None]

    assert torch.autograd.gradcheck(
        f, (log_base.clone().requires_grad_(True),), eps=1e-6, atol=1e-6, rtol=1e-5
    )


def test_extreme_base_weights_still_converge():
    C, _ = _problem(4, n=400, moments=1)
    log_base = torch.as_tensor(np.linspace(-6, 16, 400))  # 22 nats of spread
    lam, converged = solve_dual(log_base, C, max_iter=100)
    assert converged
    ref = solve_entropy_balance(C.numpy(), log_base.numpy())
    assert ref.converged
    w, _, _ = balance(log_base, C, lam0=lam)
    np.testing.assert_allclose(w.detach().numpy(), ref.weights, rtol=1e-5)


def test_automatic_ridge_keeps_the_balance_check():
    """A held-out loss that only sees variance prefers the top of the ridge grid; under strong
    confounding that ridge leaves the treatment correlated with a covariate beyond the package's
    check, so under the doubly robust stage ``ridge="auto"`` takes the best ridge that passes it
    instead (the weighted stage admits every ridge)."""
    from dowhy_e2b._torch.orchestration import RIDGE_GRID, _balance_ok, _choose_ridge
    from dowhy_e2b.balance_check import measure_balance

    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 3))
    a = 1.5 * X[:, 0] + 0.5 * rng.normal(size=500)
    F = balance_features(X, a, moments=1)
    C = torch.as_tensor(F.matrix[:, drop_collinear(F.matrix)])

    def variance_only(w):
        return (w**2).mean()

    weighted = SimpleNamespace(outcome_stage="weighted", moments=1)
    assert _choose_ridge(C, variance_only, None, _balance_ok(X, a, weighted)) == RIDGE_GRID[-1]
    top = balance(torch.zeros(500, dtype=C.dtype), C, ridge=RIDGE_GRID[-1])[0].numpy()
    assert not measure_balance(X, a, top).corr_ok
    setup = SimpleNamespace(outcome_stage="doubly_robust", moments=1)
    chosen = _choose_ridge(C, variance_only, None, _balance_ok(X, a, setup))
    assert chosen < RIDGE_GRID[-1]
    w = balance(torch.zeros(500, dtype=C.dtype), C, ridge=chosen)[0].numpy()
    assert measure_balance(X, a, w).corr_ok
    larger = [r for r in RIDGE_GRID if r > chosen]
    assert all(
        not measure_balance(X, a, balance(torch.zeros(500, dtype=C.dtype), C, ridge=r)[0].numpy()).corr_ok
        for r in larger
    )
