"""Shared set-up of the DoWhy contract suite: a confounded dataset and the methods under test."""

import pytest
from dowhy import CausalModel

import dowhy_e2b  # noqa: F401  (registers the estimators)
from dowhy_e2b.datasets import make_nonlinear

#: Methods under contract and parameters that keep each fit fast.
METHODS = {
    "entropy_balancing": {"moments": 2, "n_bootstrap": 30},
    "gps_weighting": {"n_bootstrap": 30},
    "unweighted": {"n_bootstrap": 30},
    "e2b": {"max_steps": 30, "n_bootstrap": 30},
}


@pytest.fixture
def dataset():
    return make_nonlinear(n_samples=600, random_state=7)


@pytest.fixture
def model(dataset):
    return CausalModel(data=dataset.data, treatment="a", outcome="y", graph=dataset.graph())


@pytest.fixture
def estimand(model):
    return model.identify_effect(proceed_when_unidentifiable=True)


def estimate(model, estimand, method, **kwargs):
    params = {"init_params": {**METHODS[method], "random_state": 0}}
    params.update(kwargs.pop("method_params", {}))
    return model.estimate_effect(
        estimand, method_name=method, treatment_value=1.0, control_value=0.0, method_params=params, **kwargs
    )
