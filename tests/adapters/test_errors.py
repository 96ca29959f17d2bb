"""Bad input through DoWhy gets a clear error; nothing is lost or mutated."""

import warnings

import numpy as np
import pandas as pd
import pytest
from dowhy import CausalModel

from dowhy_e2b import (
    BalanceWarning,
    ColumnTypeError,
    ContrastError,
    DuplicateColumnError,
    EmptyDataError,
    ExtrapolationWarning,
    TooManyConstraintsError,
    TooManyLevelsError,
)

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


@pytest.mark.parametrize(
    ("mutate", "error", "match"),
    [
        (
            lambda d: d.assign(x2=pd.date_range("2020-01-01", periods=len(d), freq="D")),
            ColumnTypeError,
            r"confounder 'x2' holds dates .*\.dt\.days",
        ),
        (
            lambda d: d.assign(x2=[f"${abs(v) * 1e4:,.0f}" for v in d.x2]),
            ColumnTypeError,
            r"confounder 'x2' holds numbers written as text \(e\.g\. '\$",
        ),
        (
            lambda d: d.assign(x2=[f"shop {i}" for i in range(len(d))]),
            TooManyLevelsError,
            "confounder 'x2' is text or categorical with 600 distinct values",
        ),
        (lambda d: d.assign(x2=np.nan), EmptyDataError, "confounder 'x2' has no values"),
        (lambda d: d.iloc[:0], EmptyDataError, "the data have no rows"),
        (lambda d: pd.concat([d, d[["x1"]]], axis=1), DuplicateColumnError, r"\{'x1': 2\}"),
        (lambda d: pd.concat([d, d[["a"]]], axis=1), DuplicateColumnError, "2 columns named 'a'"),
    ],
)
def test_data_that_are_not_what_they_seem_get_typed_errors(dataset, mutate, error, match):
    df = mutate(dataset.data)
    m, ie = _model(df)
    with pytest.raises(error, match=match):
        estimate(m, ie, "entropy_balancing")


def test_more_constraints_than_rows_names_the_columns(dataset):
    df = dataset.data.iloc[:30]
    m, ie = _model(df)
    with pytest.raises(TooManyConstraintsError, match=r"30 rows, 31 constraints \(moments=3.*'x1': 6"):
        m.estimate_effect(
            ie,
            method_name="entropy_balancing",
            treatment_value=1.0,
            control_value=0.0,
            method_params={"moments": 3, "n_bootstrap": 0},
        )


def test_equal_contrast_doses_are_refused(model, estimand):
    with pytest.raises(ContrastError, match="treatment_value and control_value are both 1"):
        model.estimate_effect(
            estimand,
            method_name="entropy_balancing",
            treatment_value=1.0,
            control_value=[1.0],
            method_params={"n_bootstrap": 0},
        )


def test_balance_warning_reaches_the_user_once(model, estimand):
    with pytest.warns(BalanceWarning, match=r"^unweighted: max weighted \|corr") as record:
        est = model.estimate_effect(
            estimand,
            method_name="unweighted",
            treatment_value=1.0,
            control_value=0.0,
            confidence_intervals=True,
            method_params={"n_bootstrap": 20, "random_state": 0},
        )
        est.get_confidence_intervals()
    assert sum(r.category is BalanceWarning for r in record) == 1  # not once per bootstrap replicate
    with warnings.catch_warnings():
        warnings.simplefilter("error", BalanceWarning)  # nor once per refuter refit
        model.refute_estimate(
            estimand,
            est,
            method_name="placebo_treatment_refuter",
            placebo_type="permute",
            num_simulations=3,
            random_state=0,
        )


def test_e2b_that_does_not_balance_warns_through_dowhy():
    # Many covariates, few rows (the case that used to return the unweighted answer silently).
    rng = np.random.default_rng(0)
    n, p = 200, 40
    X = rng.normal(size=(n, p))
    a = X[:, :5] @ np.full(5, 0.8) + rng.normal(size=n)
    y = a + X[:, :5].sum(axis=1) + rng.normal(size=n)
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)]).assign(a=a, y=y)
    m, ie = _model(df, confounders=[f"x{j}" for j in range(p)])
    # E2B runs the balance check itself (after its own guarantee), under its own label.
    with pytest.warns(BalanceWarning, match=r"^E2B: max weighted \|corr\(treatment, covariate\)\| .* > 0\.1"):
        est = m.estimate_effect(
            ie,
            method_name="e2b",
            treatment_value=1.0,
            control_value=0.0,
            method_params={"max_steps": 5, "ridge": 1.0, "n_bootstrap": 0, "random_state": 0},
        )
    assert not est.estimator.adrf_.weighter_.balance_check_.ok


def test_dowhy_pandas_deprecation_warnings_are_filtered_at_the_plugin_boundary(model, estimand):
    from dowhy_e2b.adapters.registration import DOWHY_PANDAS_WARNING

    if DOWHY_PANDAS_WARNING is None:
        pytest.skip("pandas < 3 has no Pandas4Warning")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DOWHY_PANDAS_WARNING)
        model.estimate_effect(estimand, method_name="backdoor.linear_regression", treatment_value=1.0)
