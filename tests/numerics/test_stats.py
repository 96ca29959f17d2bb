import numpy as np

from dowhy_e2b._numerics import weighted_corr, weighted_mean_shift


def test_weighted_corr_equals_corr_of_duplicated_rows():
    rng = np.random.default_rng(0)
    a = rng.normal(size=30)
    X = np.column_stack([a + rng.normal(size=30), rng.normal(size=30), np.ones(30)])
    k = rng.integers(1, 4, 30)
    Xd, ad = np.repeat(X, k, axis=0), np.repeat(a, k)
    expected = [np.corrcoef(ad, Xd[:, j])[0, 1] for j in range(2)] + [0.0]
    np.testing.assert_allclose(weighted_corr(a, X, k.astype(float)), expected, atol=1e-12)


def test_weighted_mean_shift_is_zero_for_equal_weights():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    np.testing.assert_allclose(weighted_mean_shift(X, np.ones(50)), 0, atol=1e-12)
    w = np.where(X[:, 0] > 0, 2.0, 1.0)
    assert weighted_mean_shift(X, w)[0] > 0.2
