"""Bad input through DoWhy gets a clear error; nothing is lost or mutated."""

import numpy as np
import pandas as pd
import pytest
from dowhy import CausalModel

from dowhy_e2b import ExtrapolationWarning

from .conftest import estimate


def _model(df, treatment="a", outcome="y", confounders=("x1", "x2", "x3", "x4", "x5")):
    import networkx as nx

    g = nx.DiGraph()
    t = [treatment] if isinstance(treatment, str) else list(treatment)
    for c in confounders:
        g.add_edges_from([(c, v) for v in [*t, outcome]])
    g.add_edges_from((v, outcome) for v in t)
    m = CausalModel(data=df, treatment=treatment, outcome=outcome, graph=g)
    return m, m.identify_effect(proceed_when_unidentifiable=True)


def test_misspelt_parameter_lists_the_valid_ones(model, estimand):
    with pytest.raises(
        TypeError, match=r"unknown parameter\(s\) \['momets'\].*Did you mean \['moments'\].*Valid"
    ):
        estimate(model, estimand, "entropy_balancing", method_params={"momets": 2})
    with pytest.raises(TypeError, match="unknown fit parameter"):
        estimate(model, estimand, "entropy_balancing", method_params={"fit_params": {"weights": "w"}})


def test_dowhy_own_parameters_are_accepted(model, estimand):
    est = estimate(
        model,
        estimand,
        "entropy_balancing",
        method_params={"num_null_simulations": 5, "confidence_level": 0.9},
    )
    assert est.estimator.confidence_level == 0.9


@pytest.mark.parametrize(
    ("mutate", "error", "match"),
    [
        (lambda d: d.assign(a=(d.a > 0).astype(float)), ValueError, "treatment 'a' has 2 distinct values"),
        (lambda d: d.assign(x3=d.x3.where(d.index != 5)), ValueError, "confounder 'x3' has 1 missing"),
        (lambda d: d.assign(y=np.where(d.y > 0, "hi", "lo")), TypeError, "outcome 'y' must be numeric"),
        (lambda d: d.assign(a=d.a.where(d.index != 3)), ValueError, "treatment 'a' has 1 missing"),
        (
            lambda d: d.assign(x1=d.x1.replace(d.x1.iloc[0], np.inf)),
            ValueError,
            "confounder 'x1' has 1 infinite",
        ),
    ],
)
def test_bad_data_errors_name_the_column_and_the_frame_is_untouched(dataset, mutate, error, match):
    df = mutate(dataset.data)
    before = df.copy()
    m, ie = _model(df)
    with pytest.raises(error, match=match):
        estimate(m, ie, "entropy_balancing")
    pd.testing.assert_frame_equal(df, before)


def test_values_outside_the_observed_range_warn(model, estimand):
    with pytest.warns(ExtrapolationWarning, match="outside the observed treatment range"):
        model.estimate_effect(
            estimand,
            method_name="entropy_balancing",
            treatment_value=50.0,
            control_value=0.0,
            method_params={"n_bootstrap": 0},
        )


def test_unsupported_target_units_and_multiple_treatments(model, estimand, dataset):
    with pytest.raises(ValueError, match="target_units='att' is not supported"):
        estimate(model, estimand, "entropy_balancing", target_units="att")
    df = dataset.data.assign(b=dataset.data.a + np.random.default_rng(0).normal(size=len(dataset.data)))
    m, ie = _model(df, treatment=["a", "b"])
    with pytest.raises(ValueError, match="exactly one continuous treatment"):
        m.estimate_effect(
            ie, method_name="entropy_balancing", treatment_value=[1.0, 1.0], control_value=[0.0, 0.0]
        )


def test_other_method_names_are_untouched(model, estimand):
    est = model.estimate_effect(
        estimand, method_name="backdoor.linear_regression", treatment_value=1.0, control_value=0.0
    )
    assert np.isfinite(est.value)
    with pytest.raises(IndexError):
        model.estimate_effect(estimand, method_name="linear_regression")  # DoWhy's own behaviour
