"""Bases of E2B's training: the fixed outcome design and the tensor basis of the base weights."""

import numpy as np
from sklearn.preprocessing import SplineTransformer

from dowhy_e2b._numerics.basis import TRAINING_KNOTS, fit_spline_design, fit_tensor_basis


def test_training_design_is_a_cubic_spline_with_quantile_knots_and_an_intercept():
    rng = np.random.default_rng(0)
    a = rng.gamma(2.0, size=300)
    grid = np.linspace(-1, 12, 40)  # beyond the data: linear extrapolation
    knots = np.quantile(a, np.linspace(0, 1, TRAINING_KNOTS))
    reference = SplineTransformer(
        knots=knots[:, None], degree=3, extrapolation="linear", include_bias=False
    ).fit(a[:, None])
    design = fit_spline_design(a)
    expected = np.column_stack([np.ones(grid.size), reference.transform(grid[:, None])])
    np.testing.assert_allclose(design(grid), expected)
    assert design(a).shape == (300, TRAINING_KNOTS + 2)


def test_training_design_with_tied_quantiles_uses_uniform_knots():
    a = np.repeat([0.0, 1.0, 2.0, 3.0], [200, 5, 5, 5])
    design = fit_spline_design(a)
    knots = design.spline.bsplines_[0].t[3:-3]
    np.testing.assert_allclose(knots, np.linspace(0, 3, TRAINING_KNOTS))


def test_tensor_basis_terms():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 4))
    X[:, 2] = rng.integers(0, 2, 200)
    a = X[:, 0] + rng.standard_normal(200)
    basis = fit_tensor_basis(X, a, n_knots=4)
    # 1, four covariates, three squares (not of the binary one), six products.
    assert basis.n_covariate_terms == 1 + 4 + 3 + 6
    Phi = basis.transform(X, a)
    assert Phi.shape == (200, basis.n_features)
    # The spline columns sum to one, so the covariate terms are recovered by summing blocks.
    terms = Phi.reshape(200, -1, basis.n_covariate_terms).sum(axis=1)
    np.testing.assert_allclose(terms, basis.covariate_terms(X), atol=1e-12)
