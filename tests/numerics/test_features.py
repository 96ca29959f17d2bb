import numpy as np
import pytest

from dowhy_e2b._numerics import balance_features, drop_collinear


def _data(seed, n=300, d=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    a = X @ np.linspace(0.8, 0.2, d) + rng.normal(size=n)
    return X, a


def test_columns_names_and_targets():
    X, a = _data(0)
    F = balance_features(X, a, moments=2, treatment_moments=2, feature_names=["u", "v", "w"])
    assert F.matrix.shape == (300, 2 + 3 * 2 + 3 * 2)
    assert F.names[:3] == ("a", "a^2", "u")
    assert "a*w^2" in F.names
    marginal = [i for i, k in enumerate(F.kinds) if k != "interaction"]
    # Powers are centred at their sample means and scaled to unit sd.
    np.testing.assert_allclose(F.matrix[:, marginal].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(F.matrix[:, marginal].std(axis=0), 1, atol=1e-12)
    # Products are not centred: column = a* x*_j / rms(a* x*_j), whose mean times that rms is the
    # sample correlation of a with x_j (a*, x* standardised).
    inter = [i for i, k in enumerate(F.kinds) if k == "interaction" and F.power[i] == 1]
    a_std = (a - a.mean()) / a.std()
    x_std = (X - X.mean(axis=0)) / X.std(axis=0)
    rms = np.sqrt(np.mean((a_std[:, None] * x_std) ** 2, axis=0))
    corr = np.array([np.corrcoef(a, X[:, j])[0, 1] for j in range(3)])
    np.testing.assert_allclose(F.matrix[:, inter].mean(axis=0) * rms, corr, rtol=1e-10)


def test_affine_invariance_up_to_sign():
    X, a = _data(1)
    F = balance_features(X, a, moments=3)
    G = balance_features(3.0 * X - 7.0, -2.0 * a + 5.0, moments=3)
    np.testing.assert_allclose(np.abs(F.matrix), np.abs(G.matrix), atol=1e-9)


def test_target_weights_equal_duplication():
    X, a = _data(2, n=40)
    k = np.arange(40) % 3 + 1
    F = balance_features(X, a, moments=2, target_weights=k)
    D = balance_features(np.repeat(X, k, axis=0), np.repeat(a, k), moments=2)
    np.testing.assert_allclose(np.repeat(F.matrix, k, axis=0), D.matrix, atol=1e-10)


def test_drop_collinear_binary_constant_and_duplicate_columns():
    rng = np.random.default_rng(3)
    n = 200
    x = rng.normal(size=n)
    b = rng.integers(0, 2, n).astype(float)
    X = np.column_stack([x, b, np.full(n, 4.0), x])  # a 0/1 column, a constant and a duplicate
    a = x + rng.normal(size=n)
    F = balance_features(X, a, moments=3, feature_names=["x", "b", "c", "x_copy"])
    kept = [F.names[i] for i in drop_collinear(F.matrix)]
    assert kept == ["a", "x", "b", "x^2", "x^3", "a*x", "a*b", "a*x^2", "a*x^3"]


def test_drop_collinear_keeps_full_rank_in_order():
    rng = np.random.default_rng(4)
    C = rng.normal(size=(100, 6))
    np.testing.assert_array_equal(drop_collinear(C), np.arange(6))
    C[:, 4] = C[:, 0] - 2 * C[:, 2]
    np.testing.assert_array_equal(drop_collinear(C), [0, 1, 2, 3, 5])


@pytest.mark.parametrize("d", [0, 1])
def test_few_covariates(d):
    X, a = _data(5, d=max(d, 1))
    F = balance_features(X[:, :d], a, moments=2)
    assert F.matrix.shape[1] == 1 + 2 * d + 2 * d
