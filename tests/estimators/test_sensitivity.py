"""dowhy_e2b.sensitivity on a fitted AverageDoseResponse: bounds, robustness value, benchmarks, plot."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from dowhy_e2b import AverageDoseResponse, EntropyBalancingWeights, SensitivityResult, sensitivity
from dowhy_e2b.datasets import load_lemonade, make_linear
from dowhy_e2b.sensitivity import DEFAULT_STRENGTHS, simulated_confounder_r2


def _data(seed=0, n=400):
    ds = make_linear(n_samples=n, random_state=seed)
    rng = np.random.default_rng(seed + 100)
    X = ds.X.assign(noise=rng.normal(size=n))  # related to nothing
    return X, ds.a, ds.y


@pytest.fixture(scope="module")
def fitted():
    X, a, y = _data()
    adrf = AverageDoseResponse(EntropyBalancingWeights(), n_bootstrap=40, random_state=0, dose_grid=12)
    adrf.fit(X, a, y)
    result = sensitivity(adrf, X, a, y, treatment_value=1.0, control_value=-0.5)
    return adrf, X, a, y, result


def test_tables_layout(fitted):
    adrf, *_, result = fitted
    assert isinstance(result, SensitivityResult)
    k = len(DEFAULT_STRENGTHS)
    assert list(result.table.columns[:6]) == [
        "r2_outcome",
        "r2_treatment",
        "treatment",
        "estimate",
        "lower",
        "upper",
    ]
    assert len(result.table) == k * k * adrf.grid_.size
    assert len(result.derivative_table) == len(result.table)
    assert len(result.contrast_table) == k * k
    assert {"control", "ci_lower", "ci_upper"} <= set(result.contrast_table.columns)
    assert set(result.table.r2_outcome) == set(DEFAULT_STRENGTHS)


def test_at_strength_zero_the_bounds_are_the_estimate_and_its_bands(fitted):
    adrf, *_, result = fitted
    zero = result.table[(result.table.r2_outcome == 0) & (result.table.r2_treatment == 0)]
    curve = adrf.curve_
    np.testing.assert_allclose(zero.estimate, curve.mean_outcome, rtol=1e-9)
    np.testing.assert_array_equal(zero.lower, zero.estimate)
    np.testing.assert_array_equal(zero.upper, zero.estimate)
    np.testing.assert_allclose(zero.ci_lower, curve.ci_lower, rtol=1e-9)
    np.testing.assert_allclose(zero.band_upper, curve.band_upper, rtol=1e-9)
    c0 = result.contrast_table.iloc[0]
    assert c0.estimate == pytest.approx(adrf.predict([1.0])[0] - adrf.predict([-0.5])[0], rel=1e-9)
    assert (c0.ci_lower, c0.ci_upper) == pytest.approx(adrf.contrast_interval(1.0, -0.5), rel=1e-9)
    deriv = result.derivative_table
    d0 = deriv[(deriv.r2_outcome == 0) & (deriv.r2_treatment == 0)]
    np.testing.assert_allclose(d0.estimate, adrf.predict_derivative(adrf.grid_), rtol=1e-9)


@pytest.mark.parametrize("name", ["table", "derivative_table", "contrast_table"])
def test_bounds_widen_with_either_strength(fitted, name):
    table = getattr(fitted[-1], name)
    for by, other in (("r2_outcome", "r2_treatment"), ("r2_treatment", "r2_outcome")):
        for _, part in table.groupby([other, "treatment"]):
            part = part.sort_values(by)
            assert np.all(np.diff(part.lower) <= 1e-12) and np.all(np.diff(part.upper) >= -1e-12)
            assert np.all(np.diff(part.ci_lower) <= 1e-12) and np.all(np.diff(part.ci_upper) >= -1e-12)
            assert np.all(part.lower <= part.estimate) and np.all(part.estimate <= part.upper)


def test_the_robustness_value_is_where_the_contrast_reaches_zero(fitted):
    *_, result = fitted
    est = float(result.contrast.estimate[0])
    rv, rv_ci = result.robustness_value, result.robustness_value_ci
    assert 0 < rv_ci < rv < 1
    near = "lower" if est > 0 else "upper"
    at_rv = result.bounds(rv, rv, quantity="contrast").iloc[0]
    assert at_rv[near] == pytest.approx(0.0, abs=1e-9)
    at_ci = result.bounds(rv_ci, rv_ci, quantity="contrast").iloc[0]
    assert at_ci["ci_" + near] == pytest.approx(0.0, abs=1e-9)
    below = result.bounds(0.9 * rv, 0.9 * rv, quantity="contrast").iloc[0]
    assert np.sign(below[near]) == np.sign(est)


def test_bounds_method_agrees_with_the_table(fitted):
    *_, result = fitted
    got = result.bounds([0.05], [0.1])
    want = result.table[(result.table.r2_outcome == 0.05) & (result.table.r2_treatment == 0.1)]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    with pytest.raises(ValueError, match="quantity must be one of"):
        result.bounds(0.1, quantity="slope")


def test_benchmarks_rank_the_confounders(fitted):
    *_, result = fitted
    bench = result.benchmarks.set_index("covariate")
    assert set(bench.index) == {"x1", "x2", "x3", "x4", "x5", "noise"}
    # x1 drives both the dose and the outcome; the noise column neither: it has the narrowest bounds.
    assert result.benchmarks.covariate.iloc[0] == "x1"
    assert bench.loc["noise", "r2_outcome"] < 0.01 and bench.loc["noise", "r2_treatment"] < 0.05
    assert bench.loc["x1", "r2_outcome"] > 0.3 and bench.loc["x1", "r2_treatment"] > 0.1
    # x5 affects the outcome only (b5 = 0), x3 the dose only (c3 = 0)
    assert bench.loc["x5", "r2_outcome"] > 10 * bench.loc["x3", "r2_outcome"]
    assert bench.loc["x3", "r2_treatment"] > 2 * bench.loc["x5", "r2_treatment"]
    assert (bench.rho.abs() <= 1).all()
    width = bench.upper - bench.lower
    assert width.loc["x1"] == width.max()
    curves = result.benchmark_curves
    assert set(curves.covariate) == set(bench.index) and len(curves) == len(bench) * result.curve.values.size


def test_the_data_must_be_those_of_the_fit(fitted):
    adrf, X, a, y, _ = fitted
    with pytest.raises(ValueError, match="needs the data"):
        sensitivity(adrf)
    with pytest.raises(ValueError, match="do not reproduce the fitted curve"):
        sensitivity(adrf, X, a, y[::-1].copy(), benchmark_covariates=None)
    with pytest.raises(ValueError, match="not the treatment the curve was fitted on"):
        sensitivity(adrf, X, a + 1.0, y, benchmark_covariates=None)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"r2_outcome": [0.1, 1.0]}, "r2_outcome must be numbers in \\[0, 1\\)"),
        ({"r2_treatment": -0.1}, "r2_treatment must be numbers in \\[0, 1\\)"),
        ({"rho": 0.0}, "rho must be a number in \\(0, 1\\]"),
        ({"benchmark_covariates": ["x1", "x9"]}, "\\['x9'\\] are not confounders"),
        ({"treatment_value": 1.0, "control_value": 1.0}, "treatment_value"),
    ],
)
def test_bad_arguments_are_named(fitted, kwargs, message):
    adrf, X, a, y, _ = fitted
    with pytest.raises(ValueError, match=message):
        sensitivity(adrf, X, a, y, **kwargs)


def test_not_a_fitted_curve():
    with pytest.raises(TypeError, match="expects a DoWhy estimate"):
        sensitivity(object())


@pytest.mark.parametrize(
    "params",
    [{"outcome_stage": "weighted"}, {"dr_form": "pseudo_outcome"}, {"penalty": "gcv", "n_knots": 8}],
    ids=["weighted", "pseudo_outcome", "gcv"],
)
def test_every_outcome_stage_is_reproduced_by_its_smoother_weights(params):
    X, a, y = _data(seed=3, n=300)
    adrf = AverageDoseResponse(n_bootstrap=0, random_state=0, dose_grid=8, **params).fit(X, a, y)
    result = sensitivity(adrf, X, a, y, benchmark_covariates=["x1"])  # raises if not reproduced
    assert np.isnan(result.robustness_value_ci)  # no bootstrap: no confidence version
    assert result.table.ci_lower.isna().all() and result.table.lower.notna().all()
    assert 0 < result.robustness_value < 1


def test_categorical_confounders_and_sample_weights():
    ds = load_lemonade(n_samples=300, random_state=1)
    X, a, y = ds.X, ds.a, ds.y
    w = np.random.default_rng(0).integers(1, 3, size=a.size).astype(float)
    before = X.copy()
    state = np.random.get_state()  # noqa: NPY002
    adrf = AverageDoseResponse(n_bootstrap=10, random_state=0, dose_grid=6).fit(X, a, y, sample_weight=w)
    result = sensitivity(adrf, X, a, y)
    pd.testing.assert_frame_equal(X, before)  # the caller's data are untouched
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(s, t) for s, t in zip(state, after, strict=True))
    assert set(result.benchmarks.covariate) == set(ds.confounders)  # region with all its levels
    hi, lo = np.quantile(a, [0.75, 0.25])  # default contrast doses
    assert (result.treatment_value, result.control_value) == pytest.approx((hi, lo))


@pytest.mark.slow  # starting joblib's worker processes costs ~20 s here
def test_benchmark_refits_run_in_parallel_with_the_same_result(fitted):
    adrf, X, a, y, result = fitted
    again = sensitivity(
        adrf, X, a, y, treatment_value=1.0, control_value=-0.5, benchmark_covariates=["x1", "x2"], n_jobs=2
    )
    serial = result.benchmarks.set_index("covariate").loc[["x1", "x2"]]
    pd.testing.assert_frame_equal(again.benchmarks.set_index("covariate").loc[["x1", "x2"]], serial)


def test_plot(fitted):
    *_, result = fitted
    axes = result.plot()
    assert len(axes) == 2 and axes[1].get_xlabel().startswith("r2_treatment")
    plt.close("all")
    ax = result.plot(kind="curve", bounds="bounds", strengths=[0.05])
    assert ax.get_legend_handles_labels()[1][:2] == ["estimate", "R² = 0.05 (both)"]
    ax = result.plot(kind="curve")  # strength 0 is the curve's confidence band
    assert ax.get_legend_handles_labels()[1][1] == "strength 0: the confidence band"
    np.testing.assert_allclose(
        ax.collections[0].get_paths()[0].vertices[:, 0].min(), result.curve.values.min()
    )
    plt.close("all")
    with pytest.raises(ValueError, match="kind must be"):
        result.plot(kind="map")
    with pytest.raises(ValueError, match="strengths must be"):
        result.plot(kind="curve", strengths=[1.5])


def test_simulated_confounder_r2_reads_dowhy_strengths():
    """A linear confounder added as DoWhy does explains the share of variance the formula says."""
    rng = np.random.default_rng(5)
    n = 20_000
    X = rng.normal(size=(n, 2))
    a = X @ [1.0, 0.5] + rng.normal(size=n)
    y = a + X @ [1.0, 1.0] + rng.normal(size=n)
    ((r2_a, r2_y),) = simulated_confounder_r2(X, a, y, [0.3])
    W = rng.normal(size=n)
    a2, y2 = a + 0.3 * a.std(ddof=1) * W, y - 0.3 * y.std(ddof=1) * W

    def partial_r2(target, design):
        Z = np.column_stack([np.ones(n), design])
        full = np.var(target - Z @ np.linalg.lstsq(Z, target, rcond=None)[0])
        Zw = np.column_stack([Z, W])
        return 1 - np.var(target - Zw @ np.linalg.lstsq(Zw, target, rcond=None)[0]) / full

    assert r2_a == pytest.approx(partial_r2(a2, X), abs=0.01)
    assert r2_y == pytest.approx(partial_r2(y2, np.column_stack([a, X])), abs=0.01)
