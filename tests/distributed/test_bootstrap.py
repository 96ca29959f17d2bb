"""The batched bootstrap: reproducible, independent of the chunking, close to the exact replicates."""

import warnings

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from dowhy_e2b import AverageDoseResponse, EntropyBalancingWeights
from dowhy_e2b.exceptions import BalanceWarning, ConvergenceWarning

from .conftest import COVARIATES, frame

SYNC = {"scheduler": "synchronous"}


def fit(ddf, mode="batched", **params):
    params = {"weighter": EntropyBalancingWeights(moments=2), "n_bootstrap": 6, "random_state": 0, **params}
    with dask.config.set({**SYNC, "dowhy-e2b.bootstrap": mode}):
        return AverageDoseResponse(**params).fit(ddf[COVARIATES], ddf["a"], ddf["y"])


def test_batched_is_reproducible_and_independent_of_chunking():
    df = frame(600)
    one = fit(dd.from_pandas(df, npartitions=2))
    np.random.default_rng(0).normal(size=10)  # the global generators play no part
    np.random.seed(5)  # noqa: NPY002
    two = fit(dd.from_pandas(df, npartitions=5))
    np.testing.assert_allclose(one.bootstrap_coef_, two.bootstrap_coef_, rtol=0, atol=1e-8)
    other = fit(dd.from_pandas(df, npartitions=2), random_state=1)
    assert np.max(np.abs(other.bootstrap_coef_ - one.bootstrap_coef_)) > 1e-3


@pytest.mark.parametrize("multipliers", ["poisson", "exponential"])
def test_batched_weighted_stage_reproduces_exact_replicates(multipliers):
    # The replicate's entropy-balancing dual is solved exactly: the weighted curve's replicates agree
    # to the tolerance of the exact replicate's own solver (which stops at imbalance <= 1e-6).
    ddf = dd.from_pandas(frame(500), npartitions=3)
    batched = fit(ddf, outcome_stage="weighted", bootstrap_multipliers=multipliers)
    exact = fit(ddf, "exact", outcome_stage="weighted", bootstrap_multipliers=multipliers)
    assert batched.n_bootstrap_failed_ == exact.n_bootstrap_failed_ == 0
    grid = exact.grid_
    diff = np.abs(batched.bootstrap_predictions(grid) - exact.bootstrap_predictions(grid))
    assert diff.max() < 1e-4  # measured 1.4e-6; the replicates' spread is 0.74


@pytest.mark.parametrize("dr_form", ["augmented", "pseudo_outcome"])
def test_batched_doubly_robust_is_close_to_exact(dr_form):
    # The outcome models are refitted on the point fit's features (the exact replicate re-chooses
    # their knots and scales): the replicates differ by a small share of the bootstrap spread. On
    # this data (n = 800, 8 replicates) the mean difference was 0.03 (augmented) and 0.11
    # (pseudo-outcome) standard deviations; holding the outcome models fixed gave 0.36 and 0.48.
    ddf = dd.from_pandas(frame(800), npartitions=3)
    batched = fit(ddf, dr_form=dr_form, n_bootstrap=8)
    exact = fit(ddf, "exact", dr_form=dr_form, n_bootstrap=8)
    grid = exact.grid_
    b, e = batched.bootstrap_predictions(grid), exact.bootstrap_predictions(grid)
    sd = e.std(axis=0, ddof=1)
    assert np.mean(np.abs(b - e) / sd) < 0.25
    assert 0.8 < np.mean(b.std(axis=0, ddof=1) / sd) < 1.25


def test_exact_poisson_replicates_that_miss_the_balance_the_data_reached_fail():
    # n = 100, 20 covariates: exact balance holds on the data, not on its resamples; as in memory
    # (and as the batched mode's replicates above its tolerance), such a replicate is dropped and
    # counted instead of entering the bands with its weights on one unit.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 20))
    a = 0.5 * X[:, :3].sum(axis=1) + rng.normal(size=100)
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(20)]).assign(
        a=a, y=a + X[:, 0] + rng.normal(size=100)
    )
    ddf = dd.from_pandas(df, npartitions=2)
    with dask.config.set({**SYNC, "dowhy-e2b.bootstrap": "exact"}), pytest.warns(ConvergenceWarning):
        est = AverageDoseResponse(
            EntropyBalancingWeights(max_iter=20),  # the point fit takes 7; failing replicates all 20
            outcome_stage="weighted",
            n_bootstrap=2,
            bootstrap_multipliers="poisson",
            fragile_balance="drop",
            random_state=0,
        ).fit(ddf[[f"x{j}" for j in range(20)]], ddf["a"], ddf["y"])
    assert est.weighter_.converged_ and est.n_bootstrap_failed_ == 2
    assert next(iter(est.bootstrap_errors_)).startswith("BalanceError: balance, reached on the data")


def test_fragile_exact_balance_is_relaxed_as_in_memory():
    # n = 150, 20 covariates: exact balance holds on the data but not on all Poisson replicates
    # (with 5 replicates, 1 or more lost is more than a tenth; the batched replicates that miss the
    # tolerance count as lost, as the exact ones). As in memory, the weights are refitted with
    # approximate balance (max_imbalance=0.01; its replicates run in the exact mode) and
    # bootstrapped again. A borderline replicate may fail in one solver and not the other
    # (measured: 1 of 5 in memory, 0 on Dask), so the replicates are not compared here (the bounded
    # weights' equality is tested in test_equal_in_memory).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 20))
    a = 0.5 * X[:, :3].sum(axis=1) + rng.normal(size=150)
    y = a + X[:, 0] + rng.normal(size=150)
    names = [f"x{j}" for j in range(20)]
    df = pd.DataFrame(X, columns=names).assign(a=a, y=y)
    params = {"outcome_stage": "weighted", "n_bootstrap": 5, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", BalanceWarning)
        mem = AverageDoseResponse(**params).fit(df[names], a, y)
        ddf = dd.from_pandas(df, npartitions=3)
        with dask.config.set(SYNC), pytest.warns(BalanceWarning, match="was lost on [0-9] of 5"):
            dist = AverageDoseResponse(**params).fit(ddf[names], ddf["a"], ddf["y"])
    assert mem.balance_relaxed_ and dist.balance_relaxed_ and dist.weighter_.max_imbalance == 0.01
    np.testing.assert_allclose(dist.predict(mem.grid_), mem.predict(mem.grid_), rtol=0, atol=1e-6)
    num = ["corr_unweighted", "corr_weighted"]
    np.testing.assert_allclose(dist.balance_table_[num], mem.balance_table_[num], atol=1e-6)
    assert dist.bootstrap_coef_.shape[0] >= 3 and dist.curve_.ci_lower.notna().all()


def test_a_refit_in_memory_forgets_the_dask_fit():
    # The same estimator fitted on Dask, then in memory: the bootstrap uses the in-memory data.
    df = frame(300)
    est = fit(dd.from_pandas(df, npartitions=2), n_bootstrap=3)
    mem = AverageDoseResponse(EntropyBalancingWeights(moments=2), n_bootstrap=3, random_state=0)
    est.fit(df[COVARIATES], df["a"], df["y"])
    mem.fit(df[COVARIATES], df["a"], df["y"])
    np.testing.assert_array_equal(est.bootstrap_coef_, mem.bootstrap_coef_)
