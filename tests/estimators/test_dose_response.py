import warnings

import numpy as np
import pandas as pd
import pytest

from dowhy_e2b import (
    AverageDoseResponse,
    ConstantTreatmentWarning,
    DiscreteTreatmentWarning,
    EntropyBalancingWeights,
    ExtrapolationWarning,
    GPSWeights,
    UnitWeights,
    WeightedDoseResponse,
)
from dowhy_e2b.datasets import load_lemonade, make_nonlinear


def test_outcome_stage_recovers_a_smooth_curve_and_design_matrix_is_consistent():
    rng = np.random.default_rng(0)
    a = rng.uniform(-2, 2, 3000)
    y = np.sin(1.5 * a) + 0.1 * rng.normal(size=3000)
    model = WeightedDoseResponse(n_knots=6).fit(a, y)
    grid = np.linspace(-1.8, 1.8, 25)
    np.testing.assert_allclose(model.predict(grid), np.sin(1.5 * grid), atol=0.05)
    np.testing.assert_allclose(model.design_matrix(grid) @ model.coef_, model.predict(grid))


def test_outcome_stage_uses_the_weights():
    rng = np.random.default_rng(1)
    a = rng.normal(size=500)
    y = np.where(rng.random(500) < 0.5, 0.0, 1.0)
    w = np.where(y == 1.0, 3.0, 1.0)
    flat = WeightedDoseResponse().fit(a, y).predict([0.0])[0]
    weighted = WeightedDoseResponse().fit(a, y, sample_weight=w).predict([0.0])[0]
    assert weighted > flat + 0.15


def test_outcome_stage_on_a_constant_treatment_is_the_weighted_mean():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    model = WeightedDoseResponse().fit(np.full(4, 2.0), y, sample_weight=[1, 1, 1, 5])
    np.testing.assert_allclose(model.predict([0.0, 10.0]), [3.25, 3.25])
    assert model.knots_ is None


def _nonlinear(seed=0, n=800):
    ds = make_nonlinear(n_samples=n, random_state=seed)
    return ds.X.to_numpy(), ds.a, ds.y, ds


def test_pipeline_result_shape_bands_and_contrast():
    X, a, y, _ = _nonlinear()
    adrf = AverageDoseResponse(EntropyBalancingWeights(), dose_grid=30, n_bootstrap=60, random_state=0).fit(
        X, a, y
    )
    curve = adrf.curve_
    assert list(curve.columns) == ["treatment", "mean_outcome", "ci_lower", "ci_upper"]
    assert len(curve) == 30
    lo, hi = np.percentile(a, [5, 95])
    assert curve.treatment.iloc[0] == pytest.approx(lo) and curve.treatment.iloc[-1] == pytest.approx(hi)
    assert np.all(curve.ci_lower <= curve.mean_outcome + 1e-9) and np.all(
        curve.mean_outcome <= curve.ci_upper + 1e-9
    )
    assert adrf.bootstrap_coef_.shape[0] == 60 and adrf.n_bootstrap_failed_ == 0
    c = adrf.contrast(1.0, 0.0)
    assert c == pytest.approx(float(adrf.predict(1.0)[0] - adrf.predict(0.0)[0]))
    lo_c, hi_c = adrf.contrast_interval(1.0, 0.0)
    assert lo_c < c < hi_c
    assert adrf.contrast_std_error(1.0, 0.0) > 0
    assert 0.0 <= adrf.contrast_p_value(1.0, 0.0) <= 1.0


def test_pipeline_is_reproducible_and_parallel_bootstrap_matches_serial():
    X, a, y, _ = _nonlinear(1, n=400)
    kwargs = {"weighter": EntropyBalancingWeights(), "n_bootstrap": 20, "random_state": 3}
    serial = AverageDoseResponse(**kwargs).fit(X, a, y)
    np.random.seed(12345)  # noqa: NPY002  (the global RNG state must not matter)
    _ = np.random.random(10)  # noqa: NPY002
    again = AverageDoseResponse(**kwargs).fit(X, a, y)
    parallel = AverageDoseResponse(**kwargs, n_jobs=2).fit(X, a, y)
    pd.testing.assert_frame_equal(serial.curve_, again.curve_)
    np.testing.assert_allclose(serial.bootstrap_coef_, parallel.bootstrap_coef_)


def test_pipeline_does_not_mutate_inputs_and_encodes_categoricals():
    ds = load_lemonade(n_samples=600, random_state=0)
    X, a, y = ds.X, ds.a, ds.y
    X_before, a_before, y_before = X.copy(), a.copy(), y.copy()
    adrf = AverageDoseResponse(EntropyBalancingWeights(), n_bootstrap=5, random_state=0).fit(X, a, y)
    pd.testing.assert_frame_equal(X, X_before)
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(y, y_before)
    assert adrf.feature_names_ == [
        "sugar",
        "temperature",
        "age",
        "region[coast]",
        "region[mountain]",
        "region[valley]",
    ]
    table = adrf.balance_table_
    # every level of the categorical: the dropped one is added back (cobalt's convention)
    assert set(table.covariate) == {*adrf.feature_names_, "region[reference level]"}
    assert table.corr_weighted.abs().max() < 1e-5 < table.corr_unweighted.abs().max()


def test_dose_grid_array_and_extrapolation_warnings():
    X, a, y, _ = _nonlinear(2, n=300)
    with pytest.warns(ExtrapolationWarning, match="outside the observed treatment range"):
        adrf = AverageDoseResponse(dose_grid=[0.5, -0.5, 99.0], n_bootstrap=0).fit(X, a, y)
    np.testing.assert_array_equal(adrf.grid_, [-0.5, 0.5, 99.0])
    assert adrf.curve_.ci_lower.isna().all()
    with pytest.warns(ExtrapolationWarning):
        adrf.contrast(50.0, 0.0)
    with pytest.raises(ValueError, match="dose_grid must be an int >= 2"):
        AverageDoseResponse(dose_grid=1).fit(X, a, y)


def test_constant_treatment_warns_and_gives_zero_effect():
    X, _, y, _ = _nonlinear(3, n=200)
    with pytest.warns(ConstantTreatmentWarning):
        adrf = AverageDoseResponse(n_bootstrap=10, random_state=0).fit(X, np.zeros(200), y)
    assert adrf.contrast(1.0, 0.0) == 0.0
    np.testing.assert_allclose(adrf.curve_.mean_outcome, y.mean())
    np.testing.assert_array_equal(adrf.weights_, 1.0)


def test_no_confounders_gives_uniform_weights():
    X, a, y, _ = _nonlinear(4, n=300)
    adrf = AverageDoseResponse(n_bootstrap=0).fit(np.empty((300, 0)), a, y)
    np.testing.assert_array_equal(adrf.weights_, 1.0)
    np.testing.assert_allclose(
        adrf.predict([0.0]),
        UnitWeights().fit(X, a)
        and AverageDoseResponse(UnitWeights(), n_bootstrap=0).fit(X, a, y).predict([0.0]),
    )


@pytest.mark.parametrize(
    ("a", "y", "error", "match"),
    [
        (np.repeat([0.0, 1.0], 50), None, ValueError, "2 distinct values"),
        (np.r_[np.repeat([0.0, 1.0], 49), 0.3, 0.7], None, ValueError, "near-binary"),
        (np.array(["x"] * 100), None, TypeError, "treatment 'treatment' must be numeric"),
        (None, np.r_[np.nan, np.ones(99)], ValueError, "outcome 'outcome' has 1 missing"),
        (None, np.array(["lo", "hi"] * 50), TypeError, "outcome 'outcome' must be numeric"),
    ],
)
def test_bad_inputs_get_clear_errors(a, y, error, match):
    X, a0, y0, _ = _nonlinear(5, n=100)
    with pytest.raises(error, match=match):
        AverageDoseResponse(n_bootstrap=0).fit(X, a0 if a is None else a, y0 if y is None else y)


def test_few_distinct_treatment_values_warn():
    X, a, y, _ = _nonlinear(6, n=400)
    with pytest.warns(DiscreteTreatmentWarning, match="only 5 distinct values") as record:
        AverageDoseResponse(GPSWeights(), n_bootstrap=3).fit(X, np.round(np.clip(a, -2.4, 2.4)), y)
    assert sum(r.category is DiscreteTreatmentWarning for r in record) == 1


def test_bootstrap_can_be_added_later():
    X, a, y, _ = _nonlinear(7, n=300)
    adrf = AverageDoseResponse(n_bootstrap=0, random_state=1).fit(X, a, y)
    assert adrf.curve_.ci_lower.isna().all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        adrf.bootstrap(X, a, y, n_bootstrap=25)
    assert adrf.bootstrap_coef_.shape[0] == 25 and adrf.curve_.ci_lower.notna().all()
