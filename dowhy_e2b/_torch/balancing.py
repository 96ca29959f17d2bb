r"""Differentiable entropy balancing.

For log base weights :math:`l` and centred balancing features :math:`C`, the weights are
:math:`w = n\,\mathrm{softmax}(l + C\lambda^*)` with
:math:`\lambda^* = \arg\min_\lambda \log\sum_i e^{l_i + c_i^\top\lambda}
+ \tfrac{\rho}{2}\lVert\lambda\rVert^2`.
Balance (:math:`C^\top w = -n\rho\lambda^*`, exact for :math:`\rho = 0`) holds for every :math:`l`.

:math:`\lambda^*` is found by Newton's method without gradients; one more Newton step, taken with
gradients from :math:`\lambda^*`, carries the exact implicit derivative
:math:`d\lambda^*/dl = -H^{-1} \partial g / \partial l` (the step's own derivative at a root of the
gradient :math:`g`). The Hessian of that step is the solver's last one, held constant: at a root
its own derivative is multiplied by :math:`g = 0`, so only :math:`g` needs gradients, which costs
:math:`O(nk)` instead of the Hessian's :math:`O(nk^2)`.
"""

from __future__ import annotations

import torch

__all__ = ["balance", "solve_dual"]


def _gradient(
    log_base: torch.Tensor, C: torch.Tensor, lam: torch.Tensor, ridge: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Dual gradient and the weights (a probability vector): O(nk)."""
    p = torch.softmax(log_base + C @ lam, dim=0)
    return C.T @ p + ridge * lam, p


def _hessian(C: torch.Tensor, p: torch.Tensor, ridge: float) -> torch.Tensor:
    """Dual Hessian, the ``p``-weighted covariance of ``C`` plus the ridge: O(nk^2)."""
    mean = C.T @ p
    H = (C * p[:, None]).T @ C - torch.outer(mean, mean)
    if ridge:
        H = H + ridge * torch.eye(H.shape[0], dtype=H.dtype, device=H.device)
    return H


def _objective(log_base: torch.Tensor, C: torch.Tensor, lam: torch.Tensor, ridge: float) -> torch.Tensor:
    return torch.logsumexp(log_base + C @ lam, dim=0) + 0.5 * ridge * lam @ lam


def _solve(H: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    L, info = torch.linalg.cholesky_ex(H)
    if int(info) == 0:
        return torch.cholesky_solve(g[:, None], L)[:, 0]
    jitter = 1e-9 * (torch.diagonal(H).mean() + 1.0)
    return torch.linalg.solve(H + jitter * torch.eye(H.shape[0], dtype=H.dtype, device=H.device), g)


@torch.no_grad()
def _newton(
    log_base: torch.Tensor,
    C: torch.Tensor,
    ridge: float,
    lam0: torch.Tensor | None,
    tol: float,
    max_iter: int,
) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Damped Newton solve of the dual: ``(lambda*, Hessian at lambda*, converged)``.

    The Hessian is formed only where a step is taken and once at the solution.
    """
    lam = torch.zeros(C.shape[1], dtype=C.dtype, device=C.device) if lam0 is None else lam0.clone()
    converged = False
    for it in range(max_iter + 1):
        g, p = _gradient(log_base, C, lam, ridge)
        converged = float(g.abs().max()) <= tol
        if converged or it == max_iter:
            break
        step = -_solve(_hessian(C, p, ridge), g)
        f0 = float(torch.logsumexp(log_base + C @ lam, dim=0)) + 0.5 * ridge * float(lam @ lam)
        slope = float(g @ step)
        t = 1.0
        for _ in range(40):
            trial = lam + t * step
            if float(_objective(log_base, C, trial, ridge)) <= f0 + 1e-4 * t * slope:
                break
            t *= 0.5
        lam = trial
    return lam, _hessian(C, p, ridge), converged


def solve_dual(
    log_base: torch.Tensor,
    C: torch.Tensor,
    ridge: float = 0.0,
    lam0: torch.Tensor | None = None,
    tol: float = 1e-9,
    max_iter: int = 50,
) -> tuple[torch.Tensor, bool]:
    """Damped Newton solve of the dual (no gradients); returns ``(lambda*, converged)``."""
    lam, _, converged = _newton(log_base.detach(), C, ridge, lam0, tol, max_iter)
    return lam, converged


def balance(
    log_base: torch.Tensor,
    C: torch.Tensor,
    ridge: float = 0.0,
    lam0: torch.Tensor | None = None,
    tol: float = 1e-9,
    max_iter: int = 50,
) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Balancing weights (mean 1) as a differentiable function of the log base weights.

    Parameters
    ----------
    log_base : Tensor of shape (n,)
        Log base weights (any additive constant).
    C : Tensor of shape (n, k)
        Balancing features centred at their targets, linearly independent columns.
    ridge : float, default=0.0
        Quadratic penalty on the dual (approximate balance).
    lam0 : Tensor of shape (k,), optional
        Warm start for the dual.
    tol, max_iter
        Newton tolerance on the gradient and iteration limit.

    Returns
    -------
    weights : Tensor of shape (n,)
        Mean-1 weights with gradients with respect to ``log_base``.
    lam : Tensor of shape (k,)
        The dual solution (detached), for warm starts.
    converged : bool
    """
    lam_star, H, converged = _newton(log_base.detach(), C, ridge, lam0, tol, max_iter)
    g, _ = _gradient(log_base, C, lam_star, ridge)
    lam = lam_star - _solve(H, g)
    n = log_base.shape[0]
    return n * torch.softmax(log_base + C @ lam, dim=0), lam_star, converged
