"""scikit-learn's shared estimator checks on the core estimators, with justified exemptions.

The weighting estimators take ``fit(X, a)``: the treatment is ``a``, and a binary treatment is
rejected on purpose (clear error pointing to DoWhy's propensity-score estimators). Several of
sklearn's checks fit on targets with two distinct values, so those checks cannot pass; the
properties they test are covered with continuous treatments in ``test_api_properties`` below.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from dowhy_e2b import EntropyBalancingWeights, GPSWeights, UnitWeights, WeightedDoseResponse

BINARY = "the check fits on a treatment with two distinct values, which is rejected by design"
NAMED_A = "the second argument of fit is the treatment `a` (the public API), not `y`"
WEIGHTER_EXEMPTIONS = {
    "check_fit_score_takes_y": NAMED_A,
    "check_sample_weight_equivalence_on_dense_data": NAMED_A,
    "check_estimators_dtypes": BINARY,
    "check_sample_weights_pandas_series": BINARY,
    "check_sample_weights_not_an_array": BINARY,
    "check_sample_weights_shape": BINARY,
    "check_sample_weights_not_overwritten": BINARY,
    "check_all_zero_sample_weights_error": BINARY,
    "check_pipeline_consistency": BINARY,
    "check_estimators_nan_inf": BINARY,
    "check_estimators_pickle": BINARY,
    "check_fit2d_1feature": BINARY,
    "check_fit_idempotent": BINARY,
    "check_fit_check_is_fitted": BINARY,
    "check_n_features_in": BINARY,
}
WEIGHTERS = [EntropyBalancingWeights(), GPSWeights(), UnitWeights()]


def expected_failures(estimator):
    if isinstance(estimator, WeightedDoseResponse):
        return {
            "check_fit1d": "a 1-d treatment vector is the natural input of a dose-response curve",
            "check_sample_weight_equivalence_on_dense_data": (
                "knots sit at quantiles of the observed treatment whatever the weights, so that all "
                "weighting methods share one basis; duplicated rows move them"
            ),
        }
    return WEIGHTER_EXEMPTIONS


@parametrize_with_checks([*WEIGHTERS, WeightedDoseResponse()], expected_failed_checks=expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _data(seed=0, n=200):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ [0.6, 0.3, 0.1] + rng.normal(size=n)


@pytest.mark.parametrize("estimator", WEIGHTERS, ids=lambda e: type(e).__name__)
def test_api_properties_with_a_continuous_treatment(estimator):
    X, a = _data()
    with pytest.raises(NotFittedError):
        estimator.weights_for(X, a)
    fitted = estimator.fit(X, a)
    assert fitted is estimator and estimator.n_features_in_ == 3
    w = estimator.weights_.copy()
    # Pickle round trip, idempotent refit, float32/int inputs, lists and Series for sample weights.
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(estimator)).weights_, w)
    np.testing.assert_allclose(estimator.fit(X, a).weights_, w)
    np.testing.assert_allclose(estimator.fit(X.astype(np.float32), a).weights_, w, rtol=1e-4)
    sw = np.arange(1.0, 201.0)
    sw_copy = sw.copy()
    w_sw = estimator.fit(X, a, sample_weight=sw).weights_
    np.testing.assert_array_equal(sw, sw_copy)
    np.testing.assert_allclose(estimator.fit(X, a, sample_weight=list(sw)).weights_, w_sw)
    np.testing.assert_allclose(estimator.fit(X, a, sample_weight=pd.Series(sw)).weights_, w_sw)
    with pytest.raises(ValueError, match="positive sum"):
        estimator.fit(X, a, sample_weight=np.zeros(200))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(200,\)"):
        estimator.fit(X, a, sample_weight=np.ones(10))
    X_inf = X.copy()
    X_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        estimator.fit(X_inf, a)
    with pytest.raises(ValueError, match="1 sample"):
        estimator.fit(X[:1], a[:1])
    # A fitted estimator can be cloned into a pipeline-like copy without state.
    from sklearn.base import clone

    assert not hasattr(clone(estimator), "weights_")
