"""The flexible outcome regression shared by E2B's calibration and the doubly robust stage."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from dowhy_e2b._flexible import ALPHAS, FlexibleDesign, RidgeLOO, ridge_cv
from dowhy_e2b._numerics.basis import covariate_pairs, treatment_screen


@pytest.mark.parametrize(("n", "p"), [(40, 12), (25, 60)])  # the primal and the dual form
def test_ridge_loo_matches_refitting_without_each_unit(n, p):
    rng = np.random.default_rng(0)
    F = rng.standard_normal((n, p))
    y = F[:, 0] - F[:, 1] + rng.standard_normal(n)
    G = rng.standard_normal((n, p))  # each unit's row at "another dose"
    fit = RidgeLOO(F, y)
    for alpha in (0.05, 3.0):
        np.testing.assert_allclose(fit.predict(G, alpha), Ridge(alpha=alpha).fit(F, y).predict(G), atol=1e-9)
        loo_resid = np.empty(n)
        loo_pred = np.empty(n)
        for i in range(n):
            model = Ridge(alpha=alpha).fit(np.delete(F, i, 0), np.delete(y, i))
            loo_resid[i] = y[i] - model.predict(F[i : i + 1])[0]
            loo_pred[i] = model.predict(G[i : i + 1])[0]
        np.testing.assert_allclose(fit.loo_residuals(alpha)[:, 0], loo_resid, atol=1e-8)
        np.testing.assert_allclose(fit.loo_predict(G, alpha), loo_pred, atol=1e-8)


def test_ridge_cv_matches_one_sklearn_fit_per_fold_and_penalty():
    rng = np.random.default_rng(1)
    F = rng.standard_normal((60, 8))
    y = F @ rng.standard_normal(8) + rng.standard_normal(60)
    folds = np.arange(60) % 5
    errors = np.zeros(ALPHAS.size)
    for k in range(5):
        train = folds != k
        for j, alpha in enumerate(ALPHAS):
            pred = Ridge(alpha=alpha).fit(F[train], y[train]).predict(F[~train])
            errors[j] += np.sum((y[~train] - pred) ** 2)
    alpha, mse = ridge_cv(F, y, folds)
    assert alpha == ALPHAS[np.argmin(errors)]
    assert mse == pytest.approx(errors.min() / 60)


def test_design_grows_linearly_and_keeps_the_products_of_treatment_related_covariates():
    rng = np.random.default_rng(2)
    n, d = 500, 40
    X = rng.standard_normal((n, d))
    a = X[:, 31] + (X[:, 7] ** 2 - 1) + 0.5 * rng.standard_normal(n)
    X[:, 3] = rng.integers(0, 2, n)  # binary: no square
    pairs = covariate_pairs(X, a)
    assert pairs.shape == (105, 2)
    assert {7, 31} <= set(pairs.ravel())  # a linear and a U-shaped assignment are both seen
    score = treatment_screen(X, a)
    assert score[7] > 0.5 and score[31] > 0.5
    design = FlexibleDesign().fit(X, a)
    F = design.transform(X, a)
    n_spline = design.spline.n_features_out_
    assert F.shape[1] == n_spline + d + (d - 1) + 105 + n_spline * d
    # Column order does not matter: permuting the covariates permutes the products.
    perm = rng.permutation(d)
    pairs_perm = covariate_pairs(X[:, perm], a)
    assert {tuple(sorted(perm[p])) for p in pairs_perm} == {tuple(p) for p in pairs}
