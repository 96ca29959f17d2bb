"""The estimators on Dask collections give the in-memory results on the same data."""

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pytest

from dowhy_e2b import (
    AverageDoseResponse,
    E2BWeights,
    EntropyBalancingWeights,
    GPSWeights,
    UnitWeights,
)

from .conftest import COVARIATES, frame

WEIGHTERS = {
    "eb_moments3": EntropyBalancingWeights(moments=3),
    "eb_bounded": EntropyBalancingWeights(moments=2, max_imbalance=0.01),
    "eb_ridge": EntropyBalancingWeights(moments=2, ridge=1e-3),
    "gps_clipped": GPSWeights(clip_quantile=0.95),
    "unit": UnitWeights(),
}


@pytest.mark.parametrize("name", list(WEIGHTERS))
def test_weights_equal_in_memory(client, name):
    df = frame(600)
    ddf = dd.from_pandas(df, npartitions=3)
    est = WEIGHTERS[name]
    mem = type(est)(**est.get_params()).fit(df[COVARIATES], df["a"], sample_weight=df["sw"])
    dist = type(est)(**est.get_params()).fit(ddf[COVARIATES], ddf["a"], sample_weight=ddf["sw"])
    assert isinstance(dist.weights_, da.Array)
    np.testing.assert_allclose(dist.weights_.compute(), mem.weights_, rtol=0, atol=1e-6)
    assert dist.balance_check_.max_abs_corr == pytest.approx(mem.balance_check_.max_abs_corr, abs=1e-9)
    assert dist.balance_check_.effective_sample_size == pytest.approx(
        mem.balance_check_.effective_sample_size
    )
    if isinstance(est, EntropyBalancingWeights):
        assert dist.balance_features_ == mem.balance_features_ and dist.converged_ == mem.converged_
        np.testing.assert_allclose(dist.dual_coef_, mem.dual_coef_, atol=1e-6)


def test_dask_arrays_equal_in_memory(client):
    df = frame(600)
    X, a = df[COVARIATES].to_numpy(), df["a"].to_numpy()
    mem = EntropyBalancingWeights(moments=2).fit(X, a)
    dist = EntropyBalancingWeights(moments=2).fit(
        da.from_array(X, chunks=(150, 2)), da.from_array(a, chunks=250)
    )
    np.testing.assert_allclose(dist.weights_.compute(), mem.weights_, rtol=0, atol=1e-6)


CURVES = {
    "augmented": {},
    "pseudo_outcome": {"dr_form": "pseudo_outcome"},
    "weighted": {"outcome_stage": "weighted"},
    "loo": {"penalty": "loo"},
    "fixed_penalty_gps": {"penalty": 0.3, "weighter": GPSWeights()},
}


@pytest.mark.parametrize("name", list(CURVES))
def test_curve_equal_in_memory(client, name):
    df = frame(500)
    ddf = dd.from_pandas(df, npartitions=3)
    cols = [*COVARIATES, "region"]
    params = {"n_bootstrap": 0, "random_state": 1, **CURVES[name]}
    mem = AverageDoseResponse(**params).fit(df[cols], df["a"], df["y"], sample_weight=df["sw"])
    dist = AverageDoseResponse(**params).fit(ddf[cols], ddf["a"], ddf["y"], sample_weight=ddf["sw"])
    np.testing.assert_allclose(dist.grid_, mem.grid_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dist.predict(mem.grid_), mem.predict(mem.grid_), rtol=0, atol=1e-6)
    np.testing.assert_allclose(dist.weights_.compute(), mem.weights_, rtol=0, atol=1e-6)
    assert dist.feature_names_ == mem.feature_names_
    assert dist.smoother_.penalty_ == pytest.approx(mem.smoother_.penalty_)
    np.testing.assert_allclose(dist.curve_["local_ess"], mem.curve_["local_ess"], atol=1e-8)
    num = ["corr_unweighted", "corr_weighted", "mean_shift"]
    assert list(dist.balance_table_.covariate) == list(mem.balance_table_.covariate)
    np.testing.assert_allclose(dist.balance_table_[num], mem.balance_table_[num], atol=1e-9)
    if mem.outcome_fit_ is not None:
        np.testing.assert_allclose(
            dist.outcome_fit_.at_observed.compute(), mem.outcome_fit_.at_observed, atol=1e-6
        )


@pytest.mark.parametrize("multipliers", ["poisson", "exponential"])
def test_exact_bootstrap_equals_in_memory(client, multipliers):
    df = frame(400)
    ddf = dd.from_pandas(df, npartitions=3)
    params = {
        "weighter": EntropyBalancingWeights(moments=2),
        "n_bootstrap": 2,
        "bootstrap_multipliers": multipliers,
        "random_state": 2,
    }
    mem = AverageDoseResponse(**params).fit(df[COVARIATES], df["a"], df["y"], sample_weight=df["sw"])
    with dask.config.set({"dowhy-e2b.bootstrap": "exact"}):
        dist = AverageDoseResponse(**params).fit(ddf[COVARIATES], ddf["a"], ddf["y"], sample_weight=ddf["sw"])
    assert dist.bootstrap_coef_.shape == mem.bootstrap_coef_.shape == (2, mem.smoother_.coef_.size)
    np.testing.assert_allclose(
        dist.bootstrap_predictions(mem.grid_), mem.bootstrap_predictions(mem.grid_), atol=1e-6
    )
    np.testing.assert_allclose(dist.curve_.ci_lower, mem.curve_.ci_lower, atol=1e-6)


def test_e2b_balances_every_row_with_the_trained_model(client):
    df = frame(1500)
    ddf = dd.from_pandas(df, npartitions=3)
    e2b = E2BWeights(max_steps=20, max_train_samples=300, random_state=0)
    e2b.fit(ddf[COVARIATES], ddf["a"], ddf["y"])
    assert e2b.n_features_in_ == len(COVARIATES)
    # the weights of all rows are those of the trained model's balancing in memory
    in_memory = e2b.weights_for(df[COVARIATES].to_numpy(), df["a"].to_numpy())
    np.testing.assert_allclose(e2b.weights_.compute(), in_memory, rtol=0, atol=1e-6)
