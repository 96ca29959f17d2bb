import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression

from dowhy_e2b import GPSWeights, UnitWeights
from dowhy_e2b._numerics import weighted_corr


def _data(seed, n=2000):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    a = X @ np.array([0.8, 0.5, 0.0]) + rng.normal(size=n)
    return X, a


def test_stabilised_weights_match_the_normal_density_ratio():
    X, a = _data(0)
    gps = GPSWeights().fit(X, a)
    resid = a - LinearRegression().fit(X, a).predict(X)
    sigma = np.sqrt(np.sum(resid**2) / (len(a) - 4))
    ratio = (
        np.exp(-0.5 * ((a - a.mean()) / a.std()) ** 2)
        / a.std()
        / (np.exp(-0.5 * (resid / sigma) ** 2) / sigma)
    )
    np.testing.assert_allclose(gps.weights_, ratio / ratio.mean(), rtol=1e-10)
    assert gps.sigma_ == pytest.approx(sigma)


def test_weights_reduce_confounding_correlation():
    X, a = _data(1)
    w = GPSWeights().fit(X, a).weights_
    before = np.abs(weighted_corr(a, X[:, :2])).max()
    after = np.abs(weighted_corr(a, X[:, :2], w)).max()
    assert before > 0.4 and after < 0.1


def test_clipping_caps_weights_and_unstabilised_differs():
    X, a = _data(2)
    w = GPSWeights().fit(X, a).weights_
    w_clip = GPSWeights(clip_quantile=0.95).fit(X, a).weights_
    assert w_clip.max() / w_clip.min() < w.max() / w.min()
    assert w_clip.mean() == pytest.approx(1.0)
    assert not np.allclose(GPSWeights(stabilized=False).fit(X, a).weights_, w)
    with pytest.raises(ValueError, match="clip_quantile"):
        GPSWeights(clip_quantile=0.2).fit(X, a)


def test_custom_regressor_is_cloned_not_fitted_in_place():
    X, a = _data(3, n=300)
    rf = RandomForestRegressor(n_estimators=10, random_state=0)
    gps = GPSWeights(regressor=rf).fit(X, a)
    assert not hasattr(rf, "estimators_")
    assert hasattr(gps.regressor_, "estimators_")


def test_unit_weights_are_ones_or_normalised_sample_weights():
    X, a = _data(4, n=50)
    np.testing.assert_array_equal(UnitWeights().fit(X, a).weights_, np.ones(50))
    sw = np.arange(1, 51, dtype=float)
    np.testing.assert_allclose(UnitWeights().fit(X, a, sample_weight=sw).weights_, sw / sw.mean())
    with pytest.raises(ValueError, match="sample_weight must be finite and non-negative"):
        UnitWeights().fit(X, a, sample_weight=-sw)
