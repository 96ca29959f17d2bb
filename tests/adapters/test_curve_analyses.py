"""The curve analyses through DoWhy: outcome stages, derivative, tests, effect curves, subgroups."""

import numpy as np
import pandas as pd
import pytest
from dowhy import CausalModel

import dowhy_e2b  # noqa: F401  (registers the estimators)
from dowhy_e2b.datasets import load_lemonade

from .conftest import estimate


@pytest.mark.parametrize("stage", ["weighted", "doubly_robust"])
@pytest.mark.parametrize("nested", [True, False])
def test_outcome_stage_is_accepted_flat_or_nested(model, estimand, stage, nested):
    params = {"moments": 2, "n_bootstrap": 20, "random_state": 0, "outcome_stage": stage}
    est = model.estimate_effect(
        estimand,
        method_name="entropy_balancing",
        treatment_value=1.0,
        control_value=0.0,
        method_params={"init_params": params} if nested else params,
    )
    assert est.estimator.adrf_.outcome_stage_ == stage


def test_bootstrap_options_reach_the_pipeline(model, estimand):
    params = {"fragile_balance": "drop", "bootstrap_multipliers": "exponential"}
    est = estimate(model, estimand, "entropy_balancing", method_params=params)
    adrf = est.estimator.adrf_
    assert (adrf.fragile_balance, adrf.bootstrap_multipliers) == ("drop", "exponential")
    with pytest.raises(ValueError, match="fragile_balance must be one of"):
        estimate(model, estimand, "entropy_balancing", method_params={"fragile_balance": "keep"})


def test_unknown_outcome_stage_is_an_error(model, estimand):
    with pytest.raises(ValueError, match="outcome_stage must be one of"):
        estimate(model, estimand, "entropy_balancing", method_params={"outcome_stage": "magic"})


def test_derivative_tests_and_effect_curve_through_dowhy(model, estimand):
    est = estimate(model, estimand, "entropy_balancing")
    e = est.estimator
    grid = est.dose_response.treatment.to_numpy()
    h = 1e-5
    fd = (e.predict_dose_response(grid + h) - e.predict_dose_response(grid - h)) / (2 * h)
    np.testing.assert_allclose(e.predict_derivative(grid), fd, atol=1e-4)
    flat = e.test_dose_response("flat")
    assert 0.0 <= flat.p_value <= 1.0 and flat["p_value"] == flat.p_value
    assert e.test_dose_response("linear").hypothesis == "linear"
    effect = e.effect_curve()  # relative to the control value
    assert effect.loc[np.isclose(effect.treatment, 0.0), "effect"].empty or np.allclose(
        effect.loc[np.isclose(effect.treatment, 0.0), "effect"], 0.0
    )
    assert {"derivative", "band_lower"} <= set(e.derivative_frame().columns)


def test_effect_modifier_gives_one_curve_per_level():
    ds = load_lemonade(n_samples=1200, random_state=3)
    data = ds.data.copy()
    model = CausalModel(
        data=data, treatment="lemon", outcome="rating", graph=ds.graph(), effect_modifiers=["region"]
    )
    estimand = model.identify_effect()
    est = model.estimate_effect(
        estimand,
        method_name="entropy_balancing",
        treatment_value=11.0,
        control_value=6.0,
        method_params={"n_bootstrap": 20, "random_state": 0, "dose_grid": 10},
    )
    pd.testing.assert_frame_equal(data, ds.data)  # not mutated
    curves = est.dose_response
    assert list(curves.columns[:2]) == ["region", "treatment"]
    assert sorted(curves.region.astype(str).unique()) == ["city", "coast", "mountain", "valley"]
    assert (curves.groupby("region", observed=True).size() == 12).all()  # 10 grid points + 2 contrast doses
    assert len(est.average_dose_response) == 12
    assert isinstance(est.value, float)
    assert est.value == pytest.approx(est.estimator.predict_dose_response([11.0, 6.0]) @ [1, -1])
    assert set(est.conditional_estimates.index.astype(str)) == {"city", "coast", "mountain", "valley"}
