"""The DoWhy 0.14 contract of the plugin (ARCHITECTURE.md, "Living with DoWhy 0.14"): the tripwire
for DoWhy upgrades."""

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
from dowhy import CausalModel
from dowhy_e2b.adapters import REGISTERED

from .conftest import METHODS, estimate

CLASS_PATHS = {name: f"backdoor.{cls.__module__}.{cls.__name__}" for name, cls in REGISTERED.items()}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_method_name_forms_and_parameter_styles_agree(model, estimand, method):
    nested = estimate(model, estimand, method).value
    params = {**METHODS[method], "random_state": 0}
    for name in (f"backdoor.{method}", CLASS_PATHS[method]):
        est = model.estimate_effect(
            estimand,
            method_name=name,
            treatment_value=1.0,
            control_value=0.0,
            method_params={"init_params": params},
        )
        assert est.value == pytest.approx(nested, rel=1e-12)
    flat = model.estimate_effect(
        estimand, method_name=method, treatment_value=1.0, control_value=0.0, method_params=params
    )
    assert flat.value == pytest.approx(nested, rel=1e-12)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_estimate_carries_value_curve_weights_and_balance(model, estimand, dataset, method):
    est = estimate(
        model, estimand, method, method_params={"init_params": {**METHODS[method], "dose_grid": 15}}
    )
    assert isinstance(est.value, float)
    curve = est.dose_response
    assert list(curve.columns) == [
        "treatment",
        "mean_outcome",
        "ci_lower",
        "ci_upper",
        "band_lower",
        "band_upper",
        "local_ess",
    ]
    # The grid's 15 points and the two contrast doses (0 and 1 lie inside the grid's range).
    assert len(curve) == 17 and {0.0, 1.0} <= set(curve.treatment)
    assert curve.treatment.is_monotonic_increasing
    assert curve[["ci_lower", "ci_upper", "band_lower", "band_upper"]].notna().all().all()
    assert np.all(curve.band_lower <= curve.ci_lower) and np.all(curve.ci_upper <= curve.band_upper)
    mu = est.estimator.predict_dose_response([0.0, 1.0])
    assert est.value == pytest.approx(mu[1] - mu[0])
    w = est.estimator.weights_
    assert w.shape == (600,) and w.mean() == pytest.approx(1.0) and np.all(w >= 0)
    table = est.estimator.balance_table()
    assert {"covariate", "corr_unweighted", "corr_weighted"} <= set(table.columns)
    assert set(table.covariate) == set(dataset.confounders)
    assert est.effective_sample_size == pytest.approx(w.sum() ** 2 / (w**2).sum())


@pytest.mark.parametrize("method", sorted(METHODS))
def test_private_attributes_that_refuters_read(model, estimand, method):
    est = estimate(model, estimand, method)
    e = est.estimator
    assert e._target_units == "ate"
    assert e._treatment_value == 1.0 and e._control_value == 0.0
    assert e._fit_params == {}
    assert e._effect_modifier_names == []
    assert isinstance(e._observed_common_causes, pd.DataFrame)
    assert list(e._observed_common_causes.columns) == sorted(
        e._observed_common_causes.columns, key=list(e._observed_common_causes.columns).index
    )
    assert set(e._observed_common_causes.columns) == {f"x{i}" for i in range(1, 6)}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_fit_on_a_copy_is_a_cold_refit(model, estimand, dataset, method):
    est = estimate(model, estimand, method)
    other = dataset.data.sample(frac=1.0, replace=True, random_state=1).reset_index(drop=True)
    refit = est.estimator.get_new_estimator_object(estimand)
    refit.fit(other, effect_modifier_names=[], **refit._fit_params)
    value = refit.estimate_effect(other, treatment_value=1.0, control_value=0.0).value
    fresh = estimate(
        CausalModel(data=other, treatment="a", outcome="y", graph=dataset.graph()), estimand, method
    )
    assert value == pytest.approx(fresh.value, rel=1e-10)
    # The original is untouched by the copy's refit.
    assert est.estimator.predict_dose_response([1.0]) - est.estimator.predict_dose_response(
        [0.0]
    ) == pytest.approx(est.value)


REFUTERS = [
    ("placebo_treatment_refuter", {"placebo_type": "permute", "num_simulations": 10}),
    ("random_common_cause", {"num_simulations": 10}),
    ("data_subset_refuter", {"subset_fraction": 0.8, "num_simulations": 10}),
    ("bootstrap_refuter", {"num_simulations": 10}),
    ("dummy_outcome_refuter", {"num_simulations": 10}),
    (
        "add_unobserved_common_cause",
        {
            "confounders_effect_on_treatment": "linear",
            "confounders_effect_on_outcome": "linear",
            "effect_strength_on_treatment": 0.05,
            "effect_strength_on_outcome": 0.05,
        },
    ),
]


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize(("refuter", "kwargs"), REFUTERS, ids=[r for r, _ in REFUTERS])
def test_refuters_run_and_do_not_mutate_the_data(model, estimand, dataset, method, refuter, kwargs):
    before = dataset.data.copy()
    est = estimate(model, estimand, method)
    res = model.refute_estimate(estimand, est, method_name=refuter, random_seed=0, **kwargs)
    res = res[0] if isinstance(res, list) else res
    assert np.isfinite(res.new_effect)
    if refuter in ("placebo_treatment_refuter", "dummy_outcome_refuter"):
        # Null refuters: the true effect of the placebo/dummy is 0; the real contrast is ~1.3
        # with a bootstrap s.e. below 0.25 at n = 600, so 0.5 leaves a wide margin.
        assert (abs(res.new_effect) < 0.5 and abs(est.value) > 0.5) or method == "unweighted"
    pd.testing.assert_frame_equal(dataset.data, before)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_default_placebo_with_a_float_treatment_does_not_crash(model, estimand, method):
    # DoWhy's default placebo for a float treatment is a constant zero column.
    est = estimate(model, estimand, method)
    with pytest.warns(UserWarning, match="treatment is constant"):
        res = model.refute_estimate(estimand, est, method_name="placebo_treatment_refuter", num_simulations=3)
    assert res.new_effect == 0.0


@pytest.mark.parametrize("method", ["entropy_balancing", "e2b"])
def test_refuter_with_two_jobs_and_pickling(model, estimand, method):
    est = estimate(model, estimand, method)
    res = model.refute_estimate(estimand, est, method_name="random_common_cause", num_simulations=4, n_jobs=2)
    assert np.isfinite(res.new_effect)
    clone = pickle.loads(pickle.dumps(est.estimator))
    np.testing.assert_allclose(
        clone.predict_dose_response([0.0, 1.0]), est.estimator.predict_dose_response([0.0, 1.0])
    )
    assert pickle.loads(pickle.dumps(est)).value == est.value
    assert copy.deepcopy(est.estimator).weights_.shape == (600,)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_confidence_intervals_std_error_and_significance(model, estimand, method):
    est = estimate(model, estimand, method, confidence_intervals=True, test_significance=True)
    lo, hi = est.get_confidence_intervals()
    assert lo < est.value < hi
    se = est.get_standard_error()
    assert 0 < se < hi - lo
    p = est.test_stat_significance()["p_value"]
    assert 0 <= p <= 1
    assert "confidence interval" in str(est)


def test_dowhy_own_bootstrap_path_still_works(model, estimand):
    est = estimate(
        model,
        estimand,
        "entropy_balancing",
        confidence_intervals="bootstrap",
        method_params={"num_simulations": 5},
    )
    lo, hi = est.get_confidence_intervals()
    assert lo <= hi


def test_ci_computed_on_demand_for_a_copy_without_bands(model, estimand, dataset):
    est = estimate(model, estimand, "entropy_balancing")
    cp = est.estimator.get_new_estimator_object(estimand)
    cp.fit(dataset.data)
    cp.estimate_effect(dataset.data, treatment_value=1.0, control_value=0.0)
    assert cp.adrf_.curve_.ci_lower.isna().all()
    lo, hi = cp._estimate_confidence_intervals(0.9)
    assert lo < hi


def test_categorical_confounder_and_many_confounders():
    from dowhy_e2b.datasets import load_lemonade

    ds = load_lemonade(n_samples=800, random_state=2)
    m = CausalModel(data=ds.data, treatment=ds.treatment, outcome=ds.outcome, graph=ds.graph())
    ie = m.identify_effect()
    est = m.estimate_effect(
        ie,
        method_name="entropy_balancing",
        treatment_value=11.0,
        control_value=6.0,
        method_params={"n_bootstrap": 10, "random_state": 0},
    )
    assert {"region[coast]", "region[mountain]", "region[valley]"} <= set(
        est.estimator._observed_common_causes
    )
    assert np.isfinite(est.value)
