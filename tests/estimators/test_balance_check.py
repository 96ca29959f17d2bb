"""The balance guarantee: every weighter checks its weights after fit and warns when they miss."""

import warnings

import numpy as np
import pandas as pd
import pytest

from dowhy_e2b import (
    AverageDoseResponse,
    BalanceWarning,
    EntropyBalancingWeights,
    GPSWeights,
    UnitWeights,
)
from dowhy_e2b._validation import point_fit_failure
from dowhy_e2b.balance_check import MAX_ABS_CORR, MIN_ESS_FRACTION, check_balance, measure_balance
from dowhy_e2b.datasets import load_lemonade


def _confounded(seed=0, n=400, p=4, strength=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    a = strength * X @ np.linspace(1.0, 0.2, p) + rng.normal(size=n)
    return X, a


def test_thresholds_are_cobalts_and_the_audits():
    assert MAX_ABS_CORR == 0.1 and MIN_ESS_FRACTION == 0.1


def test_balanced_weights_pass_quietly():
    X, a = _confounded()
    with warnings.catch_warnings():
        warnings.simplefilter("error", BalanceWarning)
        eb = EntropyBalancingWeights().fit(X, a)
    check = eb.balance_check_
    assert check.ok and check.max_abs_corr < 1e-6 and eb.converged_
    assert check.n == 400 and check.n_features == 4 and check.n_above == 0


@pytest.mark.parametrize(
    ("weighter", "label", "advice"),
    [
        (UnitWeights(), "unweighted", "ignores confounding"),
        (GPSWeights(clip_quantile=0.9), "GPS weighting", "entropy balancing"),
    ],
)
def test_unbalanced_weights_warn_naming_the_worst_covariates(weighter, label, advice):
    X, a = _confounded(strength=1.5)
    frame = pd.DataFrame(X, columns=["age", "income", "bmi", "steps"])
    with pytest.warns(
        BalanceWarning,
        match=rf"^{label}: max weighted \|corr\(treatment, covariate\)\| .* > 0\.1 .*\(age [+-]0\.\d\d",
    ) as record:
        weighter.fit(frame, a)
    assert advice in str(record[0].message)
    assert not weighter.balance_check_.ok and weighter.balance_check_.worst[0][0] == "age"


def test_infeasible_entropy_balancing_warns_and_is_not_converged():
    rng = np.random.default_rng(1)
    n, p = 200, 40
    X = rng.normal(size=(n, p))
    a = X[:, :5].sum(axis=1) + 0.5 * rng.normal(size=n)
    with pytest.warns(BalanceWarning, match=r"effective sample size .* \(\d% < 10%\)") as record:
        eb = EntropyBalancingWeights().fit(X, a)
    assert not eb.converged_ and not eb.balance_check_.ok
    assert any(r.category is BalanceWarning for r in record)
    assert point_fit_failure(eb).startswith("entropy balancing: max weighted |corr")


def test_low_effective_sample_size_alone_warns():
    X, a = _confounded(strength=3.0, n=300)
    with pytest.warns(
        BalanceWarning, match=r"≤ 0\.1; effective sample size .*< 10%\)\. A low effective sample size"
    ):
        eb = EntropyBalancingWeights(moments=2).fit(X, a)
    assert eb.balance_check_.corr_ok and not eb.balance_check_.ess_ok
    assert eb.converged_  # the balance target was met; only the effective sample size is low


def test_every_level_of_a_categorical_is_checked():
    # The dropped (reference) level's balance is implied by the others' and checked as well.
    rng = np.random.default_rng(3)
    n = 600
    level = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])
    X = pd.DataFrame({"g[b]": (level == 1).astype(float), "g[c]": (level == 2).astype(float)})
    a = np.where(level == 0, 1.0, 0.0) + rng.normal(size=n)
    check = measure_balance(X, a, np.ones(n))
    assert check.n_features == 3 and check.worst[0][0] == "g[reference level]"


def test_bootstrap_resamples_are_not_checked_again():
    ds = load_lemonade(n_samples=300, random_state=0)
    with pytest.warns(BalanceWarning) as record:
        AverageDoseResponse(UnitWeights(), n_bootstrap=15, random_state=0).fit(ds.X, ds.a, ds.y)
    assert sum(r.category is BalanceWarning for r in record) == 1  # the point fit, not 15 replicates
    X, a = _confounded(strength=1.5)
    fitted = UnitWeights()
    with pytest.warns(BalanceWarning):
        fitted.fit(X, a)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BalanceWarning)
        fitted.weights_for(X[:200], a[:200])


def test_check_balance_is_one_line_for_any_weighter():
    X, a = _confounded(strength=1.5)

    class Fitted:
        weights_ = np.ones(400)
        moments = 2

    est = Fitted()
    with pytest.warns(BalanceWarning, match=r"^E2B-like: .*Try this\.$"):
        check = check_balance(est, X, a, method="E2B-like", advice="Try this.")
    assert est.balance_check_ is check and check.n_features == 8  # 4 covariates, 2 powers
    assert check_balance(est, X, a, weights=EntropyBalancingWeights(moments=2).fit(X, a).weights_).ok
