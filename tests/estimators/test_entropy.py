import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dowhy_e2b import (
    BalanceError,
    BalanceWarning,
    ConvergenceWarning,
    EntropyBalancingWeights,
    TooManyConstraintsError,
)
from dowhy_e2b._numerics import weighted_corr


def _data(seed, n=400, d=3, strength=0.8):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    a = strength * X @ np.linspace(1.0, 0.3, d) + rng.normal(size=n)
    return X, a


def _max_weighted_corr(X, a, w, moments=1):
    return max(np.abs(weighted_corr(a, X**k, w)).max() for k in range(1, moments + 1))


settings.register_profile("ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


@given(seed=st.integers(0, 10_000), moments=st.integers(1, 3), extra=st.integers(0, 200))
def test_weights_positive_mean_one_and_balanced(seed, moments, extra):
    # At n = 150 some draws with 19 constraints (moments=3) are infeasible (an LP confirms);
    # from n = 300 none of 40 seeds was, so the sample size grows with the moments.
    n = 100 * moments + 100 + extra
    X, a = _data(seed, n=n)
    eb = EntropyBalancingWeights(moments=moments, tol=1e-8, on_failure="raise").fit(X, a)
    w = eb.weights_
    assert np.all(w > 0) and np.all(np.isfinite(w))
    assert w.mean() == pytest.approx(1.0)
    assert eb.converged_ and eb.max_imbalance_ <= 1e-8
    assert _max_weighted_corr(X, a, w, moments) < 1e-6
    # Covariate means are kept.
    np.testing.assert_allclose(w @ X / n, X.mean(axis=0), atol=1e-6)


@given(
    seed=st.integers(0, 10_000),
    scale_x=st.floats(0.01, 100),
    shift_x=st.floats(-100, 100),
    scale_a=st.floats(-50, 50).filter(lambda v: abs(v) > 0.02),
    shift_a=st.floats(-100, 100),
)
def test_invariant_to_affine_rescaling_of_x_and_a(seed, scale_x, shift_x, scale_a, shift_a):
    X, a = _data(seed, n=200)
    w = EntropyBalancingWeights(moments=2).fit(X, a).weights_
    w2 = EntropyBalancingWeights(moments=2).fit(scale_x * X + shift_x, scale_a * a + shift_a).weights_
    np.testing.assert_allclose(w, w2, rtol=1e-5, atol=1e-7)


@given(seed=st.integers(0, 10_000))
def test_permutation_equivariant(seed):
    X, a = _data(seed, n=200)
    perm = np.random.default_rng(seed + 1).permutation(200)
    w = EntropyBalancingWeights(moments=2).fit(X, a).weights_
    w_perm = EntropyBalancingWeights(moments=2).fit(X[perm], a[perm]).weights_
    np.testing.assert_allclose(w[perm], w_perm, rtol=1e-6, atol=1e-9)


def test_already_balanced_data_gives_uniform_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    Z = np.column_stack([np.ones(300), X])
    a = rng.normal(size=300)
    a = a - Z @ np.linalg.lstsq(Z, a, rcond=None)[0]  # exactly uncorrelated with X in-sample
    eb = EntropyBalancingWeights(moments=1).fit(X, a)
    np.testing.assert_allclose(eb.weights_, 1.0, atol=1e-8)
    assert eb.n_iter_ == 0


@given(seed=st.integers(0, 10_000))
def test_integer_sample_weights_equal_duplicated_rows(seed):
    # n = 80 keeps the duplicated problem small; with moments=2 some draws are infeasible (an
    # independent LP confirms it), so first moments are balanced here.
    X, a = _data(seed, n=80, d=2)
    k = np.random.default_rng(seed).integers(1, 4, 80)
    eb = EntropyBalancingWeights(on_failure="raise").fit(X, a, sample_weight=k)
    w = eb.weights_
    w_dup = EntropyBalancingWeights(on_failure="raise").fit(np.repeat(X, k, axis=0), np.repeat(a, k)).weights_
    # A unit's weight spreads over its copies; both are normalised to mean 1 over their own rows.
    per_copy = w / k * (k.sum() / len(k))
    np.testing.assert_allclose(np.repeat(per_copy, k), w_dup, rtol=1e-6)


def test_constant_base_weights_change_nothing_and_balance_holds_with_base_weights():
    X, a = _data(1)
    w = EntropyBalancingWeights(moments=2).fit(X, a).weights_
    w_const = EntropyBalancingWeights(moments=2).fit(X, a, base_weights=np.full(400, 3.0)).weights_
    np.testing.assert_allclose(w, w_const, rtol=1e-8)
    base = np.exp(np.random.default_rng(2).normal(size=400))
    eb = EntropyBalancingWeights(moments=2, tol=1e-8).fit(X, a, base_weights=base)
    assert eb.converged_
    assert not np.allclose(eb.weights_, w)
    assert _max_weighted_corr(X, a, eb.weights_, 2) < 1e-6
    # Targets stay the unweighted sample moments (base weights only shape the solution).
    np.testing.assert_allclose(eb.weights_ @ X / 400, X.mean(axis=0), atol=1e-6)


def test_collinear_and_constant_covariates_are_dropped():
    X, a = _data(3, d=2)
    b = (X[:, 0] > 0).astype(float)
    X_ext = np.column_stack([X, b, np.ones(400), 2 * X[:, 1]])
    eb = EntropyBalancingWeights(moments=3, tol=1e-8).fit(X_ext, a)
    assert eb.converged_
    assert "x2^2" in eb.dropped_features_ and "x3" in eb.dropped_features_ and "x4" in eb.dropped_features_
    np.testing.assert_allclose(
        eb.weights_,
        EntropyBalancingWeights(moments=3, tol=1e-8).fit(np.column_stack([X, b]), a).weights_,
        rtol=1e-6,
    )


def test_infeasible_balance_warns_with_diagnostics_or_raises():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 1))
    a = 5 * X[:, 0] + 0.01 * rng.normal(size=60)  # near-deterministic: no overlap
    with pytest.warns(ConvergenceWarning, match=r"effective sample size .* of 60.*fewer moments"):
        eb = EntropyBalancingWeights(moments=3, max_iter=30).fit(X, a)
    assert not eb.converged_ and np.all(np.isfinite(eb.weights_))
    with pytest.raises(BalanceError, match="max \\|imbalance\\|"):
        EntropyBalancingWeights(moments=3, max_iter=30, on_failure="raise").fit(X, a)


def test_approximate_balance_respects_bound_and_raises_ess():
    X, a = _data(5, strength=1.5)
    exact = EntropyBalancingWeights(moments=2).fit(X, a)
    approx = EntropyBalancingWeights(moments=2, max_imbalance=0.02).fit(X, a)
    assert approx.converged_ and approx.max_imbalance_ <= 0.02 + 1e-6
    assert approx.effective_sample_size_ > exact.effective_sample_size_
    ridge = EntropyBalancingWeights(moments=2, ridge=0.001).fit(X, a)
    assert ridge.converged_ and ridge.effective_sample_size_ > exact.effective_sample_size_


def test_converged_only_when_the_balance_target_is_met():
    # The solver meets max_imbalance=0.05 (in unweighted standard deviations), but weighting
    # shrinks the spread: the weighted correlation of x0 with the treatment is 0.15 > 0.1.
    X, a = _data(5, strength=1.5)
    with pytest.warns(BalanceWarning, match=r"entropy balancing: max weighted \|corr.*x0 \+0\.15.*smaller"):
        loose = EntropyBalancingWeights(moments=2, max_imbalance=0.05).fit(X, a)
    assert loose.max_imbalance_ <= 0.05 + 1e-6 and not loose.converged_
    assert not loose.balance_check_.corr_ok and loose.balance_check_.max_abs_corr > 0.1
    with pytest.raises(BalanceError, match=r"max weighted \|corr"):
        EntropyBalancingWeights(moments=2, max_imbalance=0.05, on_failure="raise").fit(X, a)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"moments": 0}, "moments == 0, must be >= 1"),
        ({"moments": 1.5}, "moments must be an instance of int"),
        ({"max_imbalance": -1.0}, "max_imbalance == -1.0, must be >= 0.0"),
        ({"on_failure": "ignore"}, "on_failure must be 'warn' or 'raise'"),
    ],
)
def test_invalid_parameters_are_named(params, match):
    X, a = _data(6)
    with pytest.raises((ValueError, TypeError), match=match):
        EntropyBalancingWeights(**params).fit(X, a)


def test_bad_data_errors():
    X, a = _data(7, n=50)
    with pytest.raises(TooManyConstraintsError, match=r"12 rows, 31 constraints .*'x0': 6"):
        EntropyBalancingWeights(moments=3).fit(np.random.default_rng(0).normal(size=(12, 5)), a[:12])
    with pytest.raises(ValueError, match="2 distinct values"):
        EntropyBalancingWeights().fit(X, (a > 0).astype(float))
    with pytest.raises(ValueError, match="treatment is constant"):
        EntropyBalancingWeights().fit(X, np.ones(50))
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        EntropyBalancingWeights().fit(X_nan, a)
    with pytest.raises(ValueError, match="base_weights"):
        EntropyBalancingWeights().fit(X, a, base_weights=np.zeros(50))


def test_inputs_are_not_mutated_and_dataframes_keep_names():
    X, a = _data(8)
    df = pd.DataFrame(X, columns=["u", "v", "w"])
    df_copy, a_copy = df.copy(), a.copy()
    eb = EntropyBalancingWeights(moments=2).fit(df, a)
    pd.testing.assert_frame_equal(df, df_copy)
    np.testing.assert_array_equal(a, a_copy)
    assert eb.balance_features_[:3] == ("a", "u", "v")
    assert list(eb.feature_names_in_) == ["u", "v", "w"]


def test_weights_for_refits_from_scratch():
    X, a = _data(9)
    eb = EntropyBalancingWeights(moments=2).fit(X, a)
    w0 = eb.weights_.copy()
    idx = np.random.default_rng(0).integers(0, 400, 400)
    np.testing.assert_allclose(
        eb.weights_for(X[idx], a[idx]), EntropyBalancingWeights(moments=2).fit(X[idx], a[idx]).weights_
    )
    np.testing.assert_array_equal(eb.weights_, w0)


def test_weighting_removes_confounding_bias_of_the_treatment_effect_on_a_linear_outcome():
    # Sanity check with a tolerance far above Monte-Carlo error: OLS slope of y on a alone.
    X, a = _data(10, n=3000)
    y = 2.0 * a + X @ np.array([1.5, -1.0, 0.5]) + np.random.default_rng(11).normal(size=3000)
    w = EntropyBalancingWeights().fit(X, a).weights_
    naive = np.polyfit(a, y, 1)[0]
    weighted = np.polyfit(a, y, 1, w=np.sqrt(w))[0]
    assert abs(naive - 2.0) > 0.3
    assert abs(weighted - 2.0) < 0.1


def test_refit_is_idempotent():
    X, a = _data(12)
    eb = EntropyBalancingWeights(moments=2)
    w1 = eb.fit(X, a).weights_.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w2 = eb.fit(X, a).weights_
    np.testing.assert_array_equal(w1, w2)
