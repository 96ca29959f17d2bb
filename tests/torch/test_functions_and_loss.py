import numpy as np
import pytest
import torch

from dowhy_e2b import EntropyBalancingWeights, WeightedDoseResponse
from dowhy_e2b._torch.functions import build_family, sample_functions
from dowhy_e2b._torch.loss import CurveLoss
from dowhy_e2b.datasets import make_nonlinear


def _setup(seed=0, n=400, **kwargs):
    ds = make_nonlinear(n_samples=n, random_state=seed)
    X, a = ds.X.to_numpy(), ds.a
    stage = WeightedDoseResponse(n_knots=5, penalty=0.0).fit(a, np.zeros_like(a))
    grid = ds.default_grid(20)
    B, D = stage.design_matrix(a), stage.design_matrix(grid)
    family = build_family(X, a, B, np.random.default_rng(seed), **kwargs)
    return X, a, B, D, grid, family


def test_family_columns_are_centred_and_scaled_to_unit_total_variance():
    *_, family = _setup(interaction_share=0.25)
    np.testing.assert_allclose(family.g.mean(axis=0), 0, atol=1e-10)
    assert family.g.var(axis=0).sum() == pytest.approx(0.75)
    assert np.mean(family.hk**2, axis=0).sum() == pytest.approx(0.25)
    assert set(family.kinds) == {"linear", "quadratic", "cubic", "mlp", "propensity"}


def test_anchors_take_their_share():
    X, a, B, *_ = _setup()
    anchors = np.column_stack([X[:, 0] ** 2, X[:, 1]])
    family = build_family(
        X, a, B, np.random.default_rng(1), anchors=anchors, anchor_share=0.5, interaction_share=0.0
    )
    kinds = np.array(family.kinds)
    assert family.g[:, kinds == "outcome"].var(axis=0).sum() == pytest.approx(0.5)
    assert family.g.var(axis=0).sum() == pytest.approx(1.0)
    # the columns fitted to the outcome are flagged (the doubly robust training leaves them out of
    # the misfit measure), interactions included in the mask and never flagged
    mixed = build_family(X, a, B, np.random.default_rng(1), anchors=anchors, anchor_share=0.5)
    mask = mixed.from_outcome
    assert mask.shape == (mixed.columns.shape[1],) and mixed.hk.shape[1] > 0
    np.testing.assert_array_equal(mask[: mixed.g.shape[1]], np.array(mixed.kinds) == "outcome")
    assert mask.sum() == 2 and not mask[mixed.g.shape[1] :].any()
    with pytest.raises(ValueError, match="unknown function kinds"):
        build_family(X, a, B, np.random.default_rng(1), shares={"wavelets": 1.0})


@pytest.mark.parametrize("weights", ["uniform", "entropy"])
def test_expected_loss_equals_monte_carlo_over_explicit_draws(weights):
    """The closed form equals the average squared error of the real outcome stage on explicit draws.

    The draws include f(a), the constants and uncentred interactions, with exact true curves, and
    are scored by the numpy ``WeightedDoseResponse``: this checks the sampler's truth, the loss
    algebra and the cancellations together. Tolerance: 4 Monte-Carlo standard errors of the mean.
    """
    X, a, B, D, grid, family = _setup(seed=2, n=300, interaction_share=0.3)
    w = np.ones_like(a) if weights == "uniform" else EntropyBalancingWeights().fit(X, a).weights_
    rho = 0.3
    loss = CurveLoss(*(torch.as_tensor(v) for v in (B, D, family.columns)), noise_ratio=rho)
    expected = float(loss.expected(torch.as_tensor(w)))
    y, truth = sample_functions(
        family, B, D, 3000, np.random.default_rng(5), noise_sd=np.sqrt(rho), f_scale=2.0
    )
    stage = WeightedDoseResponse(n_knots=5, penalty=0.0).fit(a, y[:, 0], sample_weight=w)
    M = stage.design_matrix(grid) @ np.linalg.pinv((B * w[:, None]).T @ B) @ (B * w[:, None]).T
    errors = np.mean((M @ y - truth) ** 2, axis=0)
    # The projection M is the outcome stage: check on one draw against the fitted stage itself.
    np.testing.assert_allclose(M @ y[:, 0], stage.predict(grid), atol=1e-8)
    se = errors.std(ddof=1) / np.sqrt(errors.size)
    assert abs(errors.mean() - expected) < 4 * se
    parts = loss.components(torch.as_tensor(w))
    assert parts["bias2"] + rho * parts["variance"] == pytest.approx(expected)


@pytest.mark.parametrize("with_offsets", [False, True])
def test_sampled_loss_is_unbiased_for_the_expected_loss(with_offsets):
    """Explicit draws average to the closed form, with and without the doubly robust stage's
    fixed g-computation errors (offsets)."""
    X, a, B, D, _, family = _setup(seed=3, n=300)
    Bt, Dt, Zt = (torch.as_tensor(v) for v in (B, D, family.columns))
    offsets = None
    if with_offsets:
        gen = torch.Generator().manual_seed(1)
        offsets = 0.1 * torch.randn(B.shape[1], Zt.shape[1], generator=gen, dtype=Zt.dtype)
    loss = CurveLoss(Bt, Dt, Zt, noise_ratio=0.5, offsets=offsets)
    w = torch.as_tensor(EntropyBalancingWeights().fit(X, a).weights_)
    gen = torch.Generator().manual_seed(0)
    draws = [
        float(
            loss.sampled(
                w,
                torch.randn(Zt.shape[1], 50, generator=gen, dtype=Zt.dtype),
                np.sqrt(0.5) * torch.randn(300, 50, generator=gen, dtype=Zt.dtype),
            )
        )
        for _ in range(200)
    ]
    se = np.std(draws, ddof=1) / np.sqrt(len(draws))
    assert abs(np.mean(draws) - float(loss.expected(w))) < 4 * se


def test_loss_prefers_balancing_weights_to_uniform_under_confounding():
    X, a, B, D, _, family = _setup(seed=4, n=500)
    loss = CurveLoss(*(torch.as_tensor(v) for v in (B, D, family.columns)), noise_ratio=0.1)
    uniform = float(loss.expected(torch.ones(500, dtype=torch.float64)))
    eb = float(loss.expected(torch.as_tensor(EntropyBalancingWeights().fit(X, a).weights_)))
    assert eb < 0.7 * uniform
