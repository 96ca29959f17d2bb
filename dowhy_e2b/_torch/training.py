"""E2B's training loop: fit the base-weight model so that the balanced, weighted curve is accurate.

One small Adam loop. Each step balances once: the weights at the current parameters give both the
held-out loss of those parameters (for early stopping and model selection) and the training loss
whose gradient makes the step. The learning rate rises linearly over the first
:data:`WARMUP_STEPS` steps. The loop keeps the parameters with the best held-out loss,
multiplies the learning rate by :data:`PLATEAU_DECAY` after ``patience // 2`` steps without a
relative improvement of :data:`MIN_IMPROVEMENT`, and stops after ``patience`` such steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from .balancing import balance

__all__ = ["MIN_IMPROVEMENT", "PLATEAU_DECAY", "WARMUP_STEPS", "TrainResult", "train_base_weights"]

#: Relative decrease of the held-out loss that counts as an improvement for early stopping.
MIN_IMPROVEMENT = 1e-3
#: Steps over which the learning rate rises linearly to its value (large first steps from the
#: starting point can overshoot so that the held-out loss never returns below it).
WARMUP_STEPS = 25
#: Factor applied to the learning rate after ``patience // 2`` steps without improvement (a plateau:
#: smaller steps often find the next improvement before early stopping ends training). 1 disables.
PLATEAU_DECAY = 0.5


@dataclass
class TrainResult:
    """Outcome of training: the selected parameters and the curves.

    ``loss_curve[k]`` and ``validation_curve[k]`` are the training and held-out losses of the
    parameters after ``k`` steps (``k = 0``: the starting point).
    """

    state: dict
    loss_curve: list[float] = field(default_factory=list)
    validation_curve: list[float] = field(default_factory=list)
    best_step: int = 0
    n_steps: int = 0
    stopped_early: bool = False
    balance_converged: bool = True


def train_base_weights(
    model: torch.nn.Module,
    features: torch.Tensor,
    C: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, int], torch.Tensor],
    validation_fn: Callable[[torch.Tensor], torch.Tensor],
    *,
    ridge: float,
    max_steps: int,
    learning_rate: float,
    weight_decay: float,
    patience: int,
    log_offset: torch.Tensor | None = None,
    verbose: bool = False,
    description: str = "E2B",
) -> TrainResult:
    """Train ``model`` (log base weights from ``features``) end to end through the balancing layer.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``features`` to log base weights.
    features : Tensor of shape (n, p)
    C : Tensor of shape (n, k)
        Balancing features (centred, independent columns).
    loss_fn : callable ``(weights, step) -> scalar``
        Training loss of the weights of all ``n`` rows.
    validation_fn : callable ``weights -> scalar``
        Held-out loss of the same weights, for early stopping and model selection.
    ridge : float
        Dual ridge of the balancing layer.
    max_steps : int
        Largest number of Adam steps.
    learning_rate : float
    weight_decay : float
        Coefficient of :math:`\\tfrac12\\lVert\\theta\\rVert^2` added to the training loss.
    patience : int
        Stop after this many steps without a relative improvement of :data:`MIN_IMPROVEMENT` of
        the held-out loss.
    log_offset : Tensor of shape (n,), optional
        Added to the log base weights (log sample weights).
    verbose : bool
        Show a progress bar.

    Returns
    -------
    TrainResult
    """
    params = [p for p in model.parameters() if p.requires_grad]
    # Adam: L-BFGS's strong-Wolfe line search returned zero steps after the first iteration on
    # this loss in our tests.
    opt = torch.optim.Adam(params, lr=learning_rate)
    lam: torch.Tensor | None = None
    converged = True

    def penalty() -> torch.Tensor:
        zero = torch.zeros((), dtype=C.dtype, device=C.device)
        return 0.5 * weight_decay * sum((p.square().sum() for p in params), zero)

    result = TrainResult(state={k: v.detach().clone() for k, v in model.state_dict().items()})
    best = math.inf
    since_best = 0
    bar = tqdm(total=max_steps, desc=description, disable=not verbose, leave=False)
    for step in range(max_steps + 1):
        last = step == max_steps
        with torch.set_grad_enabled(not last):
            log_base = model(features)
            if log_offset is not None:
                log_base = log_base + log_offset
            w, lam, converged = balance(log_base, C, ridge=ridge, lam0=lam)
            loss = loss_fn(w, step)
        with torch.no_grad():
            val = float(validation_fn(w.detach()))
        result.loss_curve.append(float(loss.detach()))
        result.validation_curve.append(val)
        if not math.isfinite(val):
            break
        if val < best * (1 - MIN_IMPROVEMENT) or step == 0:
            best, since_best = val, 0
            if step > 0:
                result.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            result.best_step = step
        else:
            since_best += 1
            if since_best == max(patience // 2, 1) and PLATEAU_DECAY != 1:
                for group in opt.param_groups:
                    group["lr"] *= PLATEAU_DECAY
        if since_best >= patience:
            result.stopped_early = True
            break
        if last:
            break
        if step < WARMUP_STEPS:
            for group in opt.param_groups:
                group["lr"] = learning_rate * (step + 1) / WARMUP_STEPS
        opt.zero_grad()
        (loss + penalty()).backward()
        opt.step()
        bar.update(1)
        if verbose:
            bar.set_postfix(loss=f"{float(loss):.4g}", heldout=f"{val:.4g}")
    bar.close()
    result.n_steps = len(result.loss_curve) - 1
    result.balance_converged = bool(converged)
    return result
