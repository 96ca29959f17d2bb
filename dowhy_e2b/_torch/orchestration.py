r"""One E2B training run: calibrate, build the losses, choose the ridge, train.

On a training sample (at most ``max_train_samples`` rows):

1. **Calibration** (:mod:`dowhy_e2b._calibration`): the noise ratio and the outcome anchors (each
   unit's leave-one-out prediction at fixed doses).
2. **Losses** (:mod:`dowhy_e2b._torch.loss`) over families of random response functions
   (:mod:`dowhy_e2b._torch.functions`). The training loss uses the anchors. The held-out loss,
   which decides early stopping, the parameters kept and ``ridge="auto"``, uses fresh random
   features and **anchors refitted on other folds** (:data:`VALIDATION_FOLDS`): the same
   functions estimated with other noise, so weights tailored to the training anchors' own
   estimation noise gain nothing there, while the repair of this sample's imbalances — where
   E2B's gain lies — still counts.
3. **Ridge** (``ridge="auto"``): the dual ridge whose plain entropy-balancing weights have the
   lowest held-out loss.
4. **Training** (:mod:`dowhy_e2b._torch.training`), from zero (plain entropy balancing) or from a
   previous fit's parameters (warm start).

Under the doubly robust outcome stage (``outcome_stage="doubly_robust"``) both losses measure that
stage's error instead (:mod:`dowhy_e2b._dr_map`): the random functions' residuals after a
cross-fitted outcome model (fitted to the real outcome) are smoothed by the weights, and the
g-computation's error of each function is added as it is; both are scaled to the share of the
real outcome's residual that such functions explain (what the outcome model leaves to the weights),
measured without the anchors: fitted to the real outcome, they would explain its noise too.

With ``validation_fraction > 0`` a share of the units is held out instead: the training loss is
the curve error on the other units (anchors fitted to their outcomes alone), the held-out loss that
on the held-out units (anchors fitted to theirs); all units are balanced together in every step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._calibration import ANCHOR_QUANTILES, DEFAULT_NOISE_RATIO, cross_fitted_anchors, fit_outcome
from .._dr_map import DoublyRobustMap, fit_dr_map
from .._numerics import balance_features, drop_collinear
from ..balance_check import measure_balance
from .balancing import balance
from .functions import build_family
from .loss import CurveLoss
from .network import MLPBaseWeights, TensorBaseWeights
from .training import TrainResult, train_base_weights

__all__ = [
    "MIN_VALIDATION_UNITS",
    "RIDGE_GRID",
    "Objective",
    "Plan",
    "Setup",
    "TrainedRun",
    "build_objective",
    "make_plan",
    "train_run",
]

#: Candidate dual ridges for ``ridge="auto"``.
RIDGE_GRID = (0.0, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
#: Fewest held-out units (below it the held-out loss uses the training units instead).
MIN_VALIDATION_UNITS = 30
#: Folds of the validation anchors: refitted so that each unit's comes from the other fold(s)
#: (below 2: the training anchors are used, which cannot see tailoring to their noise).
VALIDATION_FOLDS = 2


@dataclass(frozen=True)
class Setup:
    """The training hyperparameters of :class:`~dowhy_e2b.E2BWeights` (see its docstring)."""

    moments: int
    ridge: str | float
    base_model: str
    hidden: tuple[int, ...]
    function_shares: dict[str, float] | None
    interaction_share: float
    n_random_features: int
    outcome_share: float
    noise: str | float
    loss: str
    n_functions: int
    max_steps: int
    learning_rate: float
    weight_decay: float
    patience: int
    validation_fraction: float
    verbose: bool = False
    outcome_stage: str = "weighted"


@dataclass(frozen=True)
class Plan:
    """What one training run takes from the outcome: held-out units, noise ratio, anchors.

    Together with the covariates and the treatment it determines the trained objective exactly
    (:func:`build_objective`), so a fitted estimator keeps it to measure that objective later.

    Attributes
    ----------
    train, valid : ndarray of int
        Rows of the training sample in the training loss and in the held-out loss (``valid``
        empty: no held-out units).
    noise_ratio : float
    anchors_train, anchors_valid : ndarray or None
        Anchors of the ``train`` and ``valid`` rows, each fitted to those rows' outcomes alone.
    family_seed : int
        Seed of the random functions.
    dr_train, dr_valid : DoublyRobustMap or None
        Under the doubly robust stage, the outcome model cross-fitted on the ``train`` and on the
        ``valid`` rows (the same map when there are no held-out units); ``None`` otherwise.
    """

    train: np.ndarray
    valid: np.ndarray
    noise_ratio: float
    anchors_train: np.ndarray | None
    anchors_valid: np.ndarray | None
    family_seed: int
    dr_train: DoublyRobustMap | None = None
    dr_valid: DoublyRobustMap | None = None


@dataclass
class Objective:
    """Training and held-out losses of one sample, and the rows each one measures."""

    train_loss: CurveLoss
    valid_loss: CurveLoss
    train_rows: torch.Tensor
    valid_rows: torch.Tensor

    def training(self, w: torch.Tensor) -> torch.Tensor:
        return self.train_loss.expected(w[self.train_rows])

    def validation(self, w: torch.Tensor) -> torch.Tensor:
        return self.valid_loss.expected(w[self.valid_rows])


@dataclass
class TrainedRun:
    """A trained base-weight model and what its training chose."""

    model: torch.nn.Module
    result: TrainResult
    ridge: float
    plan: Plan


def _tensor(v: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(v, dtype=torch.float64, device=device)


def _split(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n_valid = round(fraction * n)
    if n_valid < MIN_VALIDATION_UNITS or n - n_valid < MIN_VALIDATION_UNITS:
        return np.arange(n), np.zeros(0, dtype=int)
    perm = rng.permutation(n)
    return np.sort(perm[n_valid:]), np.sort(perm[:n_valid])


def make_plan(
    X: np.ndarray,
    a: np.ndarray,
    y: np.ndarray | None,
    setup: Setup,
    rng: np.random.Generator,
    sample_weight: np.ndarray | None = None,
) -> Plan:
    """Choose the held-out units and calibrate the noise and the anchors (and, under the doubly
    robust stage, the outcome model) on the training sample."""
    train, valid = _split(a.shape[0], float(setup.validation_fraction), rng)
    family_seed = int(rng.integers(np.iinfo(np.int32).max))
    if y is None:
        ratio = DEFAULT_NOISE_RATIO if setup.noise == "auto" else float(setup.noise)
        return Plan(train, valid, ratio, None, None, family_seed)
    doses = np.quantile(a, ANCHOR_QUANTILES)
    fit_t = fit_outcome(X[train], a[train], y[train], doses)
    ratio = fit_t.noise_ratio if setup.noise == "auto" else float(setup.noise)
    dr: dict[str, DoublyRobustMap | None] = {}
    if setup.outcome_stage == "doubly_robust":  # folds from their own stream: the rest is unchanged
        dr_rng = np.random.default_rng(family_seed + 1)

        def dr_map(rows: np.ndarray) -> DoublyRobustMap:
            sw = None if sample_weight is None else sample_weight[rows]
            return fit_dr_map(X[rows], a[rows], y[rows], dr_rng, fit_t.signal_variance, sw)

        dr["dr_train"] = dr_map(train)
        dr["dr_valid"] = dr_map(valid) if valid.size else dr["dr_train"]
    if float(setup.outcome_share) <= 0:
        return Plan(train, valid, ratio, None, None, family_seed, **dr)
    if valid.size:
        anchors_v = fit_outcome(X[valid], a[valid], y[valid], doses).anchors
    elif VALIDATION_FOLDS < 2:  # the training anchors themselves (an ablation)
        anchors_v = None
    else:
        folds = rng.permutation(train.size) % VALIDATION_FOLDS
        anchors_v = cross_fitted_anchors(X, a, y, doses, folds, fit_t.alpha)
    return Plan(train, valid, ratio, fit_t.anchors, anchors_v, family_seed, **dr)


def build_objective(
    X: np.ndarray,
    a: np.ndarray,
    plan: Plan,
    setup: Setup,
    *,
    design: Callable[[np.ndarray], np.ndarray],
    grid: np.ndarray,
    device: torch.device,
) -> Objective:
    """The training and held-out losses of a plan on its sample (the same for the same inputs)."""
    rng = np.random.default_rng(plan.family_seed)
    kwargs: dict[str, Any] = {
        "shares": setup.function_shares,
        "interaction_share": float(setup.interaction_share),
        "n_random": int(setup.n_random_features),
        "anchor_share": float(setup.outcome_share),
    }
    B = design(a)
    D_grid = design(grid)
    D = _tensor(D_grid, device)

    def loss_on(rows: np.ndarray, anchors: np.ndarray | None, dr: DoublyRobustMap | None) -> CurveLoss:
        family = build_family(X[rows], a[rows], B[rows], rng, anchors=anchors, **kwargs)
        columns, offsets = family.columns, None
        if dr is not None:  # the weights smooth residuals; the g-computation's error is fixed
            columns, gcomp = dr.apply(X[rows], a[rows], columns, grid)
            scale = dr.misfit_scale(columns, explaining=~family.from_outcome)
            columns, gcomp = scale * columns, scale * gcomp
            offsets = _tensor(np.linalg.lstsq(D_grid, gcomp, rcond=None)[0], device)
        return CurveLoss(
            _tensor(B[rows], device), D, _tensor(columns, device), plan.noise_ratio, offsets=offsets
        )

    train_loss = loss_on(plan.train, plan.anchors_train, plan.dr_train)
    if plan.valid.size:
        valid_rows, valid_loss = plan.valid, loss_on(plan.valid, plan.anchors_valid, plan.dr_valid)
    else:  # the same units, anchors refitted on other folds, fresh random features
        anchors = plan.anchors_train if plan.anchors_valid is None else plan.anchors_valid
        valid_rows, valid_loss = plan.train, loss_on(plan.train, anchors, plan.dr_valid)
    return Objective(
        train_loss,
        valid_loss,
        torch.as_tensor(plan.train, device=device),
        torch.as_tensor(valid_rows, device=device),
    )


def train_run(
    X: np.ndarray,
    a: np.ndarray,
    y: np.ndarray | None,
    sample_weight: np.ndarray | None,
    setup: Setup,
    *,
    features: Callable[[np.ndarray, np.ndarray], np.ndarray],
    design: Callable[[np.ndarray], np.ndarray],
    grid: np.ndarray,
    seed: int,
    n_spline: int = 0,
    device: torch.device,
    init_state: dict[str, Any] | None = None,
) -> TrainedRun:
    """Train a base-weight model on one sample.

    Parameters
    ----------
    X, a, y, sample_weight
        The training sample (``y`` may be ``None``: no anchors, default noise ratio).
    setup : Setup
    features : callable ``(X, a) -> ndarray``
        Input features of the base-weight model: the factors ``[B(a), T(x)]`` of the tensor
        basis, or standardised ``(x, a)`` for the MLP.
    design : callable ``values -> ndarray``
        The outcome stage's design (intercept first), fitted beforehand.
    grid : ndarray
        Treatment values where the curve error is measured.
    n_spline : int
        Columns of ``B(a)`` among the tensor basis's factors.
    seed : int
        Seeds the held-out units and the random functions, and torch (network initialisation,
        sampled loss) inside ``torch.random.fork_rng``.
    device : torch.device
    init_state : dict, optional
        Parameters to start from (warm start) when their shapes fit the model; zero (plain
        entropy balancing) otherwise.
    """
    plan = make_plan(X, a, y, setup, np.random.default_rng(seed), sample_weight)
    objective = build_objective(X, a, plan, setup, design=design, grid=grid, device=device)

    bal = balance_features(X, a, moments=int(setup.moments), target_weights=sample_weight)
    C = _tensor(bal.matrix[:, drop_collinear(bal.matrix)], device)
    Phi = _tensor(features(X, a), device)
    log_offset = None if sample_weight is None else _tensor(np.log(np.maximum(sample_weight, 1e-300)), device)
    ridge = (
        _choose_ridge(C, objective.validation, log_offset, _balance_ok(X, a, setup))
        if setup.ridge == "auto"
        else float(setup.ridge)
    )
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        if setup.base_model == "tensor":
            model: torch.nn.Module = TensorBaseWeights(n_spline, Phi.shape[1] - n_spline).to(device)
        else:
            model = MLPBaseWeights(Phi.shape[1], hidden=tuple(setup.hidden)).to(device)
        if init_state is not None and _same_shapes(model, init_state):
            model.load_state_dict(init_state)
        result = train_base_weights(
            model,
            Phi,
            C,
            _loss_function(objective, setup, seed, plan.noise_ratio, device),
            objective.validation,
            ridge=ridge,
            max_steps=int(setup.max_steps),
            learning_rate=float(setup.learning_rate),
            weight_decay=float(setup.weight_decay),
            patience=int(setup.patience),
            log_offset=log_offset,
            verbose=bool(setup.verbose),
        )
    model.load_state_dict(result.state)
    model.eval()
    return TrainedRun(model=model, result=result, ridge=ridge, plan=plan)


def _same_shapes(model: torch.nn.Module, state: dict[str, Any]) -> bool:
    """Whether a warm start's parameters fit the model (the number of covariates may have changed)."""
    own = model.state_dict()
    return own.keys() == state.keys() and all(own[k].shape == state[k].shape for k in own)


def _loss_function(
    objective: Objective, setup: Setup, seed: int, noise_ratio: float, device: torch.device
) -> Callable[[torch.Tensor, int], torch.Tensor]:
    """The training loss of the weights of all rows: its expectation, or a batch of draws."""
    if setup.loss == "expected":
        return lambda w, step: objective.training(w)
    gen = torch.Generator(device=device).manual_seed(seed)
    loss, rows = objective.train_loss, objective.train_rows
    Z = loss.Z
    noise_sd = float(np.sqrt(noise_ratio))
    k = int(setup.n_functions)

    def sampled(w: torch.Tensor, step: int) -> torch.Tensor:
        coef = torch.randn(Z.shape[1], k, generator=gen, dtype=Z.dtype, device=device)
        noise = torch.randn(Z.shape[0], k, generator=gen, dtype=Z.dtype, device=device)
        return loss.sampled(w[rows], coef, noise_sd * noise)

    return sampled


def _balance_ok(X: np.ndarray, a: np.ndarray, setup: Setup) -> Callable[[torch.Tensor], bool]:
    """Under the doubly robust stage: whether weights pass the package's balance check (largest
    weighted |corr| of the treatment with a balanced feature at most
    :data:`~dowhy_e2b.balance_check.MAX_ABS_CORR`). Under the weighted stage every ridge is
    admissible: its loss sees the whole confounding of the random functions."""
    if setup.outcome_stage != "doubly_robust":
        return lambda w: True

    def ok(w: torch.Tensor) -> bool:
        return measure_balance(X, a, w.detach().cpu().numpy(), moments=int(setup.moments)).corr_ok

    return ok


@torch.no_grad()
def _choose_ridge(
    C: torch.Tensor,
    validation: Callable[[torch.Tensor], torch.Tensor],
    log_offset: torch.Tensor | None,
    balance_ok: Callable[[torch.Tensor], bool] = lambda w: True,
) -> float:
    """The dual ridge whose plain entropy-balancing weights have the lowest held-out loss, among
    those ``balance_ok`` admits (all converged ones when it admits none).

    Under the doubly robust stage, with an outcome model that leaves little, the held-out loss is
    mostly variance and would choose the top of the grid even where that leaves the treatment
    visibly correlated with a confounder (|corr| 0.35 on the fertiliser survey of the graph-first
    notebook): the weights are what protects against the outcome model's errors, including those
    the random functions do not represent, and that protection would rest on a balance the
    package's own check rejects.
    """
    log_base = torch.zeros(C.shape[0], dtype=C.dtype, device=C.device)
    if log_offset is not None:
        log_base = log_base + log_offset
    losses, passing = [], []
    for ridge in RIDGE_GRID:
        w, _, converged = balance(log_base, C, ridge=ridge)
        losses.append(float(validation(w)) if converged else np.inf)
        passing.append(bool(converged) and balance_ok(w))
    if any(passing):
        losses = [loss if ok else np.inf for loss, ok in zip(losses, passing, strict=True)]
    return float(RIDGE_GRID[int(np.argmin(losses))])
