import copy
import dataclasses
import random
import warnings

import numpy as np
import pytest
import torch

from dowhy_e2b import AverageDoseResponse, E2BWeights, EntropyBalancingWeights
from dowhy_e2b._numerics import weighted_corr
from dowhy_e2b.datasets import make_nonlinear

FAST = {"max_steps": 40}


def _data(seed=0, n=400):
    ds = make_nonlinear(n_samples=n, random_state=seed)
    return ds.X.to_numpy(), ds.a, ds.y


def test_constant_network_gives_plain_entropy_balancing():
    X, a, y = _data()
    e2b = E2BWeights(max_steps=0, random_state=0).fit(X, a, y)
    eb = EntropyBalancingWeights(ridge=e2b.ridge_).fit(X, a)
    np.testing.assert_allclose(e2b.weights_, eb.weights_, rtol=1e-6)
    np.testing.assert_allclose(e2b.base_weights_, 1.0)


def test_training_lowers_the_heldout_loss_and_keeps_balance():
    X, a, y = _data(1, n=600)
    e2b = E2BWeights(max_steps=150, random_state=1).fit(X, a, y)
    curve = e2b.validation_curve_
    assert curve[e2b.best_step_] < 0.7 * curve[0]
    assert e2b.loss_curve_.shape == e2b.validation_curve_.shape == (e2b.n_steps_ + 1,)
    assert e2b.converged_
    # Good overlap: the chosen ridge is small and the correlations of the treatment with the
    # confounders (up to 0.54 here) shrink at least fivefold.
    assert e2b.ridge_ <= 0.03
    before = np.abs(weighted_corr(a, X)).max()
    after = np.abs(weighted_corr(a, X, e2b.weights_)).max()
    assert before > 0.2 and after < before / 5
    assert e2b.weights_.mean() == pytest.approx(1.0) and np.all(e2b.weights_ > 0)
    assert not np.allclose(e2b.base_weights_, 1.0)
    parts = e2b.loss_components(X, a)
    eb_parts = e2b.loss_components(X, a, EntropyBalancingWeights(ridge=e2b.ridge_).fit(X, a).weights_)
    assert parts["loss"] < eb_parts["loss"]


def test_same_seed_same_weights_even_after_using_global_rngs():
    X, a, y = _data(2, n=300)
    w1 = E2BWeights(**FAST, random_state=7).fit(X, a, y).weights_
    np.random.seed(1)  # noqa: NPY002
    np.random.random(5)  # noqa: NPY002
    torch.manual_seed(123)
    torch.rand(5)
    random.random()
    state = torch.random.get_rng_state()
    w2 = E2BWeights(**FAST, random_state=7).fit(X, a, y).weights_
    np.testing.assert_array_equal(w1, w2)
    assert torch.equal(state, torch.random.get_rng_state())  # global torch RNG untouched
    w3 = E2BWeights(**FAST, random_state=8).fit(X, a, y).weights_
    assert not np.allclose(w1, w3)


def test_mlp_reproducible_and_thread_setting_restored():
    X, a, y = _data(3, n=300)
    threads = torch.get_num_threads()
    w1 = E2BWeights(base_model="mlp", hidden=(16,), **FAST, random_state=0).fit(X, a, y).weights_
    w2 = E2BWeights(base_model="mlp", hidden=(16,), **FAST, random_state=0).fit(X, a, y).weights_
    np.testing.assert_array_equal(w1, w2)
    assert torch.get_num_threads() == threads


def test_weights_for_reuses_the_network_and_cross_fit_runs():
    X, a, y = _data(4, n=400)
    e2b = E2BWeights(**FAST, random_state=0).fit(X, a, y)
    np.testing.assert_allclose(e2b.weights_for(X, a), e2b.weights_, rtol=1e-8)
    idx = np.random.default_rng(0).integers(0, 400, 400)
    w_b = e2b.weights_for(X[idx], a[idx])
    assert w_b.shape == (400,) and w_b.mean() == pytest.approx(1.0)
    cf = E2BWeights(**FAST, cross_fit=2, random_state=0).fit(X, a, y)
    assert len(cf.models_) == 2 and np.all(np.isfinite(cf.weights_))
    assert not np.allclose(cf.weights_, e2b.weights_)


def test_sampled_loss_option_and_no_outcome():
    X, a, _ = _data(5, n=300)
    e2b = E2BWeights(loss="sampled", n_functions=16, **FAST, random_state=0).fit(X, a)
    assert e2b.noise_ratio_ == pytest.approx(0.3)  # default without an outcome
    assert np.all(np.isfinite(e2b.weights_))


def test_in_the_pipeline_with_bootstrap_bands():
    X, a, y = _data(6, n=400)
    adrf = AverageDoseResponse(E2BWeights(**FAST), n_bootstrap=20, random_state=0).fit(X, a, y)
    assert adrf.weighter_.dose_grid is not None  # the pipeline's grid was passed on
    assert adrf.curve_[["ci_lower", "ci_upper"]].notna().all().all()
    assert adrf.weighter_.random_state is None  # its own parameters untouched


def test_sample_weights_are_used():
    X, a, y = _data(7, n=300)
    sw = np.random.default_rng(0).integers(1, 4, 300).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = E2BWeights(**FAST, random_state=0).fit(X, a, y, sample_weight=sw).weights_
    assert w.mean() == pytest.approx(1.0)
    assert not np.allclose(w, E2BWeights(**FAST, random_state=0).fit(X, a, y).weights_)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"base_model": "cnn"}, "base_model must be 'tensor' or 'mlp'"),
        ({"noise": "loud"}, "noise must be 'auto' or a float"),
        ({"loss": "hinge"}, "loss must be 'expected' or 'sampled'"),
        ({"cross_fit": 1}, "cross_fit == 1, must be >= 2"),
        ({"ridge": "big"}, "ridge must be 'auto' or a float"),
        ({"outcome_share": 1.5}, "outcome_share == 1.5"),
        ({"n_threads": 0}, "n_threads == 0, must be >= 1"),
        ({"outcome_stage": "pseudo"}, "outcome_stage must be None, 'weighted' or 'doubly_robust'"),
    ],
)
def test_invalid_parameters(params, match):
    X, a, y = _data(8, n=100)
    with pytest.raises(ValueError, match=match):
        E2BWeights(**params).fit(X, a, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without a GPU")
def test_cuda_without_a_gpu_is_a_clear_error():
    X, a, y = _data(9, n=100)
    with pytest.raises(ValueError, match="no CUDA device"):
        E2BWeights(device="cuda").fit(X, a, y)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    X, a, y = _data(10, n=400)
    cpu = E2BWeights(**FAST, random_state=0).fit(X, a, y).weights_
    gpu = E2BWeights(**FAST, random_state=0, device="cuda").fit(X, a, y).weights_
    np.testing.assert_allclose(cpu, gpu, rtol=1e-5)


@pytest.mark.parametrize("stage", ["weighted", "doubly_robust"])
def test_loss_components_measure_the_objective_that_was_trained(stage):
    X, a, y = _data(11, n=400)
    e2b = E2BWeights(**FAST, outcome_stage=stage, random_state=0).fit(X, a, y)
    parts = e2b.loss_components(X, a)
    if e2b.final_ridge_ == e2b.ridge_:  # the final weights are the trained ones
        assert parts["loss"] == pytest.approx(e2b.loss_curve_[e2b.best_step_], rel=1e-5)
        assert parts["heldout_loss"] == pytest.approx(e2b.validation_curve_[e2b.best_step_], rel=1e-5)
    eb = EntropyBalancingWeights(ridge=e2b.ridge_).fit(X, a).weights_
    eb_parts = e2b.loss_components(X, a, eb)
    assert eb_parts["loss"] == pytest.approx(e2b.loss_curve_[0], rel=1e-5)
    assert eb_parts["heldout_loss"] == pytest.approx(e2b.validation_curve_[0], rel=1e-5)
    with pytest.raises(ValueError, match="the sample passed to fit"):
        e2b.loss_components(X[:10], a[:10])


def test_training_design_does_not_follow_the_outcome_stage_defaults(monkeypatch):
    """E2B trains for its own fixed spline design; changing WeightedDoseResponse's defaults
    (as a later outcome stage may) must not change its weights."""
    from dowhy_e2b import dose_response

    X, a, y = _data(12, n=300)
    before = E2BWeights(**FAST, random_state=0).fit(X, a, y).weights_
    defaults = list(dose_response.WeightedDoseResponse.__init__.__defaults__)
    defaults[0] = 9  # n_knots
    monkeypatch.setattr(dose_response.WeightedDoseResponse.__init__, "__defaults__", tuple(defaults))
    assert dose_response.WeightedDoseResponse().n_knots == 9
    after = E2BWeights(**FAST, random_state=0).fit(X, a, y).weights_
    np.testing.assert_array_equal(before, after)


def test_warm_start_continues_from_the_previous_parameters():
    X, a, y = _data(13, n=400)
    idx = np.random.default_rng(1).integers(0, 400, 400)
    trained = E2BWeights(max_steps=60, random_state=0).fit(X, a, y)
    state = {k: v.clone() for k, v in trained.models_[0].state_dict().items()}
    warm0 = copy.deepcopy(trained).set_params(warm_start=True, max_steps=0).fit(X[idx], a[idx], y[idx])
    # max_steps=0: the resample's weights come from the previous parameters, unchanged.
    for k, v in warm0.models_[0].state_dict().items():
        torch.testing.assert_close(v, state[k])
    assert warm0.n_steps_ == 0 and not np.allclose(warm0.base_weights_, 1.0)
    cold0 = copy.deepcopy(trained).set_params(max_steps=0).fit(X[idx], a[idx], y[idx])
    np.testing.assert_allclose(cold0.base_weights_, 1.0)  # without warm start: from zero
    warm5 = copy.deepcopy(trained).set_params(warm_start=True, max_steps=5).fit(X[idx], a[idx], y[idx])
    assert warm5.n_steps_ <= 5
    assert warm5.loss_curve_[0] == pytest.approx(warm0.loss_curve_[0])  # it started there
    assert warm5.loss_curve_[0] != pytest.approx(cold0.loss_curve_[0])


def test_final_balance_is_never_worse_than_entropy_balancing(monkeypatch):
    """Base weights that pull the treatment towards a covariate: with a loose ridge they leave more
    imbalance than plain entropy balancing with that ridge; the final solve tightens the ridge,
    or falls back to entropy balancing (and the estimator warns)."""
    from dowhy_e2b import _guarantee as e2b_module
    from dowhy_e2b._numerics import balance_features

    X, a, _ = _data(14, n=400)
    C = balance_features(X, a).matrix
    log_base = 1.5 * (a - a.mean()) * (X[:, 0] - X[:, 0].mean()) / (a.std() * X[:, 0].std())
    zero = np.zeros_like(a)
    final = e2b_module.balance_no_worse_than_eb(C, log_base, zero, ridge=1.0)
    assert final.ridge < 1.0 and not final.fell_back
    assert final.result.max_imbalance <= final.eb.max_imbalance + e2b_module.BALANCE_TOLERANCE
    loose = e2b_module.solve_entropy_balance(C, log_base, ridge=1.0)
    assert loose.max_imbalance > final.eb.max_imbalance + 0.01  # the case needed it
    # The largest such ridge (up to one bisection step): a ridge twice as large misses the target.
    looser = e2b_module.solve_entropy_balance(C, log_base, ridge=min(2 * final.ridge, 1.0))
    assert looser.max_imbalance > final.eb.max_imbalance + e2b_module.BALANCE_TOLERANCE
    # A target no ridge can meet (here: a non-convergent solver) falls back to entropy balancing.
    real_solve = e2b_module.solve_entropy_balance

    def failing(C, log_base, ridge):
        result = real_solve(C, log_base, ridge=ridge)
        return result if log_base is zero else dataclasses.replace(result, converged=False)

    monkeypatch.setattr(e2b_module, "solve_entropy_balance", failing)
    fallback = e2b_module.balance_no_worse_than_eb(C, log_base, zero, ridge=1.0)
    assert fallback.fell_back and fallback.result is fallback.eb


def test_estimator_falls_back_with_a_balance_warning(monkeypatch):
    from dowhy_e2b import BalanceWarning
    from dowhy_e2b import _guarantee as e2b_module

    def never(C, log_base, log_eb, ridge):
        eb = e2b_module.solve_entropy_balance(C, log_eb, ridge=ridge)
        return e2b_module.FinalBalance(eb, ridge, True, eb)

    monkeypatch.setattr(e2b_module, "balance_no_worse_than_eb", never)
    X, a, y = _data(15, n=300)
    with pytest.warns(BalanceWarning, match="plain entropy balancing's"):
        e2b = E2BWeights(**FAST, random_state=0).fit(X, a, y)
    assert e2b.fell_back_ and e2b.converged_
    eb = EntropyBalancingWeights(ridge=e2b.ridge_).fit(X, a)
    np.testing.assert_allclose(e2b.weights_, eb.weights_, rtol=1e-6)


def test_warm_start_keeps_the_basis_terms_and_survives_a_new_column():
    """A bootstrap resample may rank the covariates differently; a warm start keeps the products of
    the previous basis so that its parameters keep their meaning. A refuter's extra column changes
    the model's shape: the refit then starts from zero."""
    rng = np.random.default_rng(16)
    X = rng.standard_normal((300, 20))
    a = X[:, :3].sum(axis=1) + rng.standard_normal(300)
    y = a + X[:, 0] ** 2 + rng.standard_normal(300)
    fitted = E2BWeights(**FAST, random_state=0).fit(X, a, y)
    idx = rng.integers(0, 300, 300)
    warm = copy.deepcopy(fitted).set_params(warm_start=True, max_steps=0).fit(X[idx], a[idx], y[idx])
    np.testing.assert_array_equal(warm.basis_.pairs, fitted.basis_.pairs)
    wider = np.column_stack([X, rng.standard_normal(300)])
    refit = copy.deepcopy(fitted).set_params(warm_start=True, max_steps=0).fit(wider, a, y)
    np.testing.assert_allclose(refit.base_weights_, 1.0)


def test_trained_for_the_outcome_stage_of_its_pipeline():
    """In AverageDoseResponse, E2B is trained for the pipeline's outcome stage unless it names
    its own; the doubly robust objective differs from the weighted one (other weights)."""
    X, a, y = _data(13, n=300)

    def fitted(weighter, stage):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = AverageDoseResponse(weighter, outcome_stage=stage, n_bootstrap=0).fit(X, a, y)
        return est.weighter_

    dr = fitted(E2BWeights(**FAST, random_state=0), "doubly_robust")
    assert dr.outcome_stage == "doubly_robust" and dr._plans[0].dr_train is not None
    assert fitted(E2BWeights(**FAST, random_state=0), "weighted")._plans[0].dr_train is None
    own = fitted(E2BWeights(**FAST, random_state=0, outcome_stage="weighted"), "doubly_robust")
    assert own.outcome_stage == "weighted" and own._plans[0].dr_train is None
    assert not np.allclose(dr.weights_, own.weights_)
    alone = E2BWeights(**FAST, random_state=0).fit(X, a, y)  # alone: the weighted stage
    np.testing.assert_allclose(alone.weights_, own.weights_)


def test_strict_weights_for_refuses_a_sample_where_balance_fails():
    """``weights_for(strict=True)``, as the bootstrap calls it: on a sample where the treatment is one
    of the covariates, no positive weights make them uncorrelated; the fitted model (exact balance,
    ``ridge=0``, reached on its data) raises instead of warning. (With a ridge the balancing problem
    always has a solution: there is nothing to refuse.)"""
    from dowhy_e2b.exceptions import BalanceError, ConvergenceWarning

    X, a, y = _data(5, n=300)
    e2b = E2BWeights(max_steps=5, ridge=0.0, random_state=0).fit(X, a, y=y)
    assert e2b.converged_ and e2b.final_ridge_ == 0
    rows = X[:60]
    with pytest.raises(BalanceError):
        e2b.weights_for(rows, rows[:, 0], strict=True)
    with pytest.warns(ConvergenceWarning):
        e2b.weights_for(rows, rows[:, 0])
