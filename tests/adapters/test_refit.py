"""Cheaper refits for DoWhy's refuters: warm starts where the weighter supports them, else full refits."""

import warnings

import numpy as np
import pandas as pd
import pytest
from dowhy_e2b.adapters.audit.tasks import cheap_refit_estimate
from dowhy_e2b.adapters.dowhy_estimators import EntropyBalancingEstimator

import dowhy_e2b
from dowhy_e2b import BalanceWarning, ConvergenceWarning, EntropyBalancingWeights


class WarmWeights(EntropyBalancingWeights):
    """Entropy balancing with the warm-start interface of E2B: it counts the fits of one object."""

    def __init__(self, moments=1, warm_start=False, max_steps=300):
        super().__init__(moments=moments)
        self.warm_start = warm_start
        self.max_steps = max_steps

    def fit(self, X, a, y=None, sample_weight=None):
        self.fits_ = getattr(self, "fits_", 0) + 1 if self.warm_start else 1
        self.steps_seen_ = self.max_steps
        return super().fit(X, a, y=y, sample_weight=sample_weight)


class WarmEstimator(EntropyBalancingEstimator):
    method_name = "warm_test"

    def _make_weighter(self, **params):
        return WarmWeights(**params)


@pytest.fixture
def fitted(model, estimand, dataset):
    estimand.set_identifier_method("backdoor")  # what CausalModel.estimate_effect does first
    estimator = WarmEstimator(estimand, init_params={"n_bootstrap": 10, "random_state": 0})
    estimator.fit(dataset.data)
    return estimator, estimator.estimate_effect(dataset.data, treatment_value=1.0, control_value=0.0)


def test_refit_copies_continue_from_the_fitted_weighter(fitted, estimand, dataset):
    estimator, _ = fitted
    cheap = estimator.with_refit_params(warm_start=True, max_steps=7, not_a_parameter=1)
    copy = cheap.get_new_estimator_object(estimand)
    copy.fit(dataset.data.sample(frac=0.8, random_state=0))
    refitted = copy.adrf_.weighter_
    assert refitted.warm_start and refitted.steps_seen_ == 7
    assert refitted.fits_ == 2  # the fitted weighter's second fit: it started from its state
    original = estimator.adrf_.weighter_
    assert not original.warm_start and original.fits_ == 1 and original.max_steps == 300
    assert estimator._refit_params == {}  # the estimator itself is unchanged


def test_without_refit_params_copies_are_cold_refits(fitted, estimand, dataset):
    estimator, _ = fitted
    copy = estimator.get_new_estimator_object(estimand)
    copy.fit(dataset.data)
    assert copy.adrf_.weighter_.fits_ == 1 and not copy.adrf_.weighter_.warm_start


def test_the_audit_asks_for_warm_refits_only_where_the_weighter_has_them(fitted, model):
    _, est = fitted
    audited, note = cheap_refit_estimate(est, refit_steps=25)
    assert audited is not est and audited.estimator._refit_params == {"warm_start": True, "max_steps": 25}
    assert "warm start, at most 25 training steps" in note
    assert cheap_refit_estimate(est, refit_steps=None)[0] is est
    eb = model.estimate_effect(
        model.identify_effect(), method_name="entropy_balancing", method_params={"n_bootstrap": 5}
    )
    plain, note = cheap_refit_estimate(eb, refit_steps=25)
    assert plain is eb and "full refit" in note


def test_audit_runs_warm_refits(fitted, model, estimand):
    _, est = fitted
    report = dowhy_e2b.audit(
        model, estimand, est, checks=["placebo", "data_subset"], num_simulations=2, refit_steps=5
    )
    assert (
        report.settings["audit"]["refits"]
        == "refits start from the fitted model (warm start, at most 5 training steps)"
    )
    assert np.isfinite(report.simulations.new_effect).all()


def test_refits_of_a_relaxed_estimate_keep_its_approximate_balance():
    # n = 150, 20 confounders: exact balance holds on the data but is lost on most bootstrap
    # replicates, so the estimate relaxes it (fragile_balance). A refit copy skips the bootstrap;
    # it must not go back to exact balance, or a refuter would compare two estimators. Refitted on
    # the same data it reproduces the estimate.
    from dowhy import CausalModel

    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 20))
    a = 0.5 * X[:, :3].sum(axis=1) + rng.normal(size=150)
    names = [f"x{j}" for j in range(20)]
    data = pd.DataFrame(X, columns=names).assign(a=a, y=a + X[:, 0] + rng.normal(size=150))
    model = CausalModel(data=data, treatment="a", outcome="y", common_causes=names)
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    params = {"n_bootstrap": 20, "random_state": 0, "outcome_stage": "weighted"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(BalanceWarning, match="was lost on"):
            est = model.estimate_effect(
                estimand,
                method_name="entropy_balancing",
                treatment_value=0.5,
                control_value=-0.5,
                method_params=params,
            )
    assert est.estimator.adrf_.balance_relaxed_
    copy = est.estimator.get_new_estimator_object(estimand)
    copy.fit(data)
    assert copy.adrf_.weighter_.max_imbalance == 0.01 and not copy.adrf_.balance_relaxed_
    refit = copy.estimate_effect(data, treatment_value=0.5, control_value=-0.5).value
    assert refit == pytest.approx(est.value, abs=1e-12)
