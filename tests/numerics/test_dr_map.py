"""The doubly robust stage as a linear map (dowhy_e2b._dr_map), used to train E2B under that stage."""

import numpy as np
import pytest

from dowhy_e2b._dr_map import fit_dr_map
from dowhy_e2b.outcome_models import OutcomeFit


def _data(seed=0, n=400, misfit=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    a = X[:, 0] + rng.normal(size=n)
    # tanh of a 3-way product: outside the outcome model's features (splines, pairwise products)
    y = np.sin(a) + X[:, 1] + misfit * np.tanh(3 * X[:, 0] * X[:, 1] * X[:, 2]) + 0.5 * rng.normal(size=n)
    return X, a, y


@pytest.mark.parametrize("weighted", [False, True])
def test_the_map_of_the_real_outcome_reproduces_its_cross_fit(weighted):
    """Applied to the outcome it was fitted on, the map returns the cross-fitted residual and the
    g-computation curve of the fold models themselves (same features, penalty and folds)."""
    X, a, y = _data()
    sw = np.random.default_rng(1).uniform(0.5, 2.0, a.size) if weighted else None
    dr = fit_dr_map(X, a, y, np.random.default_rng(2), signal_variance=1.0, sample_weight=sw)
    doses = np.linspace(-2, 2, 9)
    resid, gcomp = dr.apply(X, a, np.column_stack([y, 2 * y]), doses)
    np.testing.assert_allclose(resid[:, 0], dr.residual, atol=1e-8)
    np.testing.assert_allclose(resid[:, 1], 2 * dr.residual, atol=1e-8)
    at_doses = np.empty((a.size, doses.size))
    for k, model in enumerate(dr.models):
        test = dr.folds == k
        at_doses[test] = model.predict_doses(X[test], doses)
    fit = OutcomeFit(dr.residual, at_doses, doses, dr.folds)
    np.testing.assert_allclose(gcomp[:, 0], fit.mean_curve(sw), atol=1e-8)


def test_misfit_scale_follows_what_the_outcome_model_misses():
    """A column the outcome model cannot fit and that drives the real residual keeps its full
    scale; when the outcome lies in the model's span (nothing left to explain) the random
    functions' residuals are scaled to (nearly) nothing."""
    X, a, y = _data(misfit=0.0)
    dr = fit_dr_map(X, a, y, np.random.default_rng(0), signal_variance=1.0)
    column = np.tanh(3 * X[:, 0] * X[:, 1] * X[:, 2])[:, None]
    resid, _ = dr.apply(X, a, column - column.mean(), np.linspace(-1, 1, 5))
    assert dr.misfit_scale(resid) < 0.2
    X, a, y = _data(misfit=2.0)
    dr = fit_dr_map(X, a, y, np.random.default_rng(0), signal_variance=1.0)
    resid, _ = dr.apply(X, a, column - column.mean(), np.linspace(-1, 1, 5))
    assert dr.misfit_scale(resid) == 1.0


def test_columns_fitted_to_the_outcome_do_not_count_as_misfit():
    """A column fitted to the real outcome (as E2B's anchors are) carries its noise: in sample it
    explains the residual even when the outcome model misses nothing. Left out of the regression
    (``explaining``), the scale is what the other columns explain; it still scales every column."""
    X, a, y = _data(misfit=0.0)
    dr = fit_dr_map(X, a, y, np.random.default_rng(0), signal_variance=1.0)
    noise_fit = dr.residual + 0.1 * np.random.default_rng(3).normal(size=a.size)
    column = np.tanh(3 * X[:, 0] * X[:, 1] * X[:, 2])
    resid = np.column_stack([column - column.mean(), noise_fit])
    from_outcome = np.array([False, True])
    assert dr.misfit_scale(resid) > 0.5  # the whole residual (variance 0.25) counted as misfit
    assert dr.misfit_scale(resid, explaining=~from_outcome) < 0.2
