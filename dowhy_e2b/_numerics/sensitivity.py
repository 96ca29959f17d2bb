r"""Omitted-variable-bias bounds for linear functionals of a weighted spline smooth (pure functions).

The curve of :class:`~dowhy_e2b.AverageDoseResponse` at a dose :math:`t` is linear in the
pseudo-outcomes it smooths: :math:`\hat\mu(t) = \sum_i \ell_i(t) v_i` with smoother weights

.. math::

    \ell_i(t) = d(t)^\top (B^\top S B + \lambda\Omega)^{-1} b(a_i)\, s_i,

where :math:`B` is the spline design at the observed doses, :math:`S` the diagonal of smoothing
weights (normalised to mean 1), :math:`\Omega` the roughness penalty and :math:`d(t)` the design row of
the functional (the curve, its derivative, or a difference of two rows for a contrast). The weight
that unit :math:`i`'s outcome residual gets, times :math:`n`, is the estimated Riesz representer
:math:`\hat\alpha_i` of the functional (Chernozhukov et al. 2022). With the residual variance
:math:`\sigma^2 = E[(Y - g(A, X))^2]` and the representer's second moment :math:`\nu^2 = E[\alpha^2]`,
a hidden confounder that explains a share :math:`R^2_Y` of the outcome's residual variance and a share
:math:`R^2_\alpha` of the long representer's second moment moves the functional by at most

.. math::

    |\theta_{\text{short}} - \theta| \le |\rho|\, S \sqrt{R^2_Y \, \frac{R^2_\alpha}{1 - R^2_\alpha}},
    \qquad S = \sqrt{\sigma^2 \nu^2}.

This module holds those formulas and the robustness value that inverts them; it knows nothing
of pandas, DoWhy or the estimators.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

__all__ = [
    "bias_bound",
    "bias_factor",
    "robustness_value",
    "scale_standard_error",
    "second_moment",
    "smoother_matrix",
]

#: Relative jitter added to the smoother's normal matrix when it is singular.
_JITTER = 1e-10


def smoother_matrix(
    D: np.ndarray, B: np.ndarray, weights: np.ndarray, omega: np.ndarray, penalty: float
) -> np.ndarray:
    r"""Smoother weights :math:`\ell` of shape (m, n): the penalised fit at the rows of ``D`` is
    ``ell @ v`` for any response ``v``.

    Parameters
    ----------
    D : ndarray of shape (m, q)
        Design rows of the functionals (e.g. the spline basis at the reported doses).
    B : ndarray of shape (n, q)
        Design at the observed doses.
    weights : ndarray of shape (n,)
        Smoothing weights (non-negative); normalised to mean 1, as the smoother does.
    omega : ndarray of shape (q, q)
        Roughness penalty matrix.
    penalty : float
        The penalty :math:`\lambda` the fit used.
    """
    w = np.asarray(weights, dtype=float)
    w = w * (w.size / w.sum())
    M = (B * w[:, None]).T @ B + float(penalty) * omega
    try:
        sol = linalg.solve(M, D.T, assume_a="sym")
    except (linalg.LinAlgError, ValueError):  # basis functions without data
        jitter = _JITTER * max(float(np.trace(M)) / M.shape[0], 1e-300)
        sol = linalg.lstsq(M + jitter * np.eye(M.shape[0]), D.T)[0]
    return (B @ sol).T * w[None, :]


def second_moment(values: np.ndarray, unit_weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted mean of squares along the last axis (units)."""
    values = np.asarray(values, dtype=float)
    if unit_weights is None:
        return np.mean(values**2, axis=-1)
    s = np.asarray(unit_weights, dtype=float)
    return (values**2 @ s) / s.sum()


def scale_standard_error(
    residuals: np.ndarray, representer: np.ndarray, unit_weights: np.ndarray | None = None
) -> np.ndarray:
    r"""Delta-method standard error of :math:`\hat S = \sqrt{\hat\sigma^2\hat\nu^2}` for each functional.

    With the plug-in influence functions :math:`\psi_{\sigma^2} = r^2 - \sigma^2` and
    :math:`\psi_{\nu^2} = \alpha^2 - \nu^2`, the influence function of :math:`S` is
    :math:`(\nu^2\psi_{\sigma^2} + \sigma^2\psi_{\nu^2}) / (2S)`.

    Parameters
    ----------
    residuals : ndarray of shape (n,)
        Outcome residuals :math:`y_i - \hat g(a_i, x_i)`.
    representer : ndarray of shape (m, n)
        The Riesz representer of each of ``m`` functionals at the units.
    unit_weights : ndarray of shape (n,), optional
        Sample (frequency) weights.
    """
    r = np.asarray(residuals, dtype=float)
    alpha = np.atleast_2d(np.asarray(representer, dtype=float))
    s = np.ones_like(r) if unit_weights is None else np.asarray(unit_weights, dtype=float)
    total = s.sum()
    sigma2 = float(s @ r**2) / total
    nu2 = (alpha**2 @ s) / total
    scale = np.sqrt(sigma2 * nu2)
    psi = (nu2[:, None] * (r**2 - sigma2)[None, :] + sigma2 * (alpha**2 - nu2[:, None])) / np.where(
        scale > 0, 2 * scale, 1.0
    )[:, None]
    return np.sqrt((psi**2 @ s) / total**2)


def bias_factor(r2_outcome: np.ndarray, r2_treatment: np.ndarray, rho: float = 1.0) -> np.ndarray:
    r""":math:`|\rho|\sqrt{R^2_Y R^2_\alpha / (1 - R^2_\alpha)}`: the bias bound in units of :math:`S`
    (infinite when :math:`R^2_\alpha = 1`)."""
    ry = np.asarray(r2_outcome, dtype=float)
    rd = np.asarray(r2_treatment, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(rd < 1, rd / np.where(rd < 1, 1 - rd, 1.0), np.inf)
        out = abs(float(rho)) * np.sqrt(ry * gain)
    return np.where((ry == 0) | (rd == 0), 0.0, out)


def bias_bound(
    scale: np.ndarray, r2_outcome: np.ndarray, r2_treatment: np.ndarray, rho: float = 1.0
) -> np.ndarray:
    r"""Largest bias :math:`|\rho| S \sqrt{R^2_Y R^2_\alpha/(1-R^2_\alpha)}` (broadcasting)."""
    return np.asarray(scale, dtype=float) * bias_factor(r2_outcome, r2_treatment, rho)


def robustness_value(estimate: float, scale: float, rho: float = 1.0) -> float:
    r"""Smallest equal strength :math:`R^2_Y = R^2_\alpha = r` whose bias bound reaches ``|estimate|``.

    Solves :math:`|\rho| S\, r / \sqrt{1 - r} = |\theta|`: with :math:`q = (\theta / (\rho S))^2`,
    :math:`r = (\sqrt{q^2 + 4q} - q) / 2` (Cinelli & Hazlett's robustness value, for the OVB bound of
    a general functional). ``estimate`` may be an estimate already moved toward 0 by its sampling
    margin, giving the robustness value of a confidence bound. Returns 0 for ``estimate <= 0``
    and 1 when ``rho`` or ``scale`` is 0 (no confounder of any strength reaches it).
    """
    est = float(estimate)
    if not est > 0:
        return 0.0
    denom = abs(float(rho)) * float(scale)
    if not denom > 0:
        return 1.0
    q = (est / denom) ** 2
    return float(2 * q / (np.sqrt(q * q + 4 * q) + q))  # (sqrt(q² + 4q) - q) / 2, without cancellation
