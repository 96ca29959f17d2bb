r"""What E2B learns from the real outcome before training: the noise level and the outcome anchors.

A ridge regression of :math:`y` on the flexible design of :mod:`dowhy_e2b._flexible` (penalty chosen
by leave-one-out error) gives

* the **noise ratio** of the synthetic outcomes, :math:`\hat\sigma^2 / (\hat\sigma_a^2 -
  \hat\sigma^2)`: :math:`\hat\sigma^2` is the leave-one-out error of that regression and
  :math:`\hat\sigma_a^2` the error of one on the treatment spline alone, so the denominator is the
  variance the covariates explain beyond the treatment;
* the **anchors**: each unit's leave-one-out prediction with the treatment set to fixed doses
  (:data:`ANCHOR_QUANTILES` of the treatment) — functions of the covariates fitted to the data, in
  which a unit's own outcome never enters its own value.

Torch-free; everything is deterministic given the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._flexible import ALPHAS, FlexibleDesign, RidgeLOO

__all__ = [
    "ANCHOR_QUANTILES",
    "DEFAULT_NOISE_RATIO",
    "NOISE_RATIO_BOUNDS",
    "OutcomeFit",
    "cross_fitted_anchors",
    "fit_outcome",
]

#: Noise-to-signal ratio of the synthetic outcomes when no outcome is available to calibrate it.
DEFAULT_NOISE_RATIO = 0.3
#: Treatment quantiles at which the fitted outcome becomes an anchored function of the covariates.
ANCHOR_QUANTILES = (0.1, 0.5, 0.9)
#: The calibrated noise ratio is clipped to this range.
NOISE_RATIO_BOUNDS = (1e-3, 1e3)
#: Floor of the covariate signal, as a share of the outcome's variance.
MIN_SIGNAL_SHARE = 1e-3


@dataclass(frozen=True)
class OutcomeFit:
    """The outcome regression of one sample: noise ratio and anchors.

    Attributes
    ----------
    noise_ratio : float
        :math:`\\hat\\sigma^2 / (\\hat\\sigma_a^2 - \\hat\\sigma^2)`, clipped to
        :data:`NOISE_RATIO_BOUNDS`.
    noise_variance : float
        Leave-one-out mean squared error :math:`\\hat\\sigma^2` of the flexible regression.
    signal_variance : float
        The variance the covariates explain beyond the treatment (the denominator).
    alpha : float
        The ridge penalty chosen.
    anchors : ndarray of shape (n, len(doses))
        Leave-one-out predictions at the doses.
    """

    noise_ratio: float
    noise_variance: float
    signal_variance: float
    alpha: float
    anchors: np.ndarray


def _best_alpha(fit: RidgeLOO) -> tuple[float, float]:
    errors = np.mean(fit.loo_residuals(ALPHAS) ** 2, axis=0)
    best = int(np.argmin(errors))
    return float(ALPHAS[best]), float(errors[best])


def fit_outcome(X: np.ndarray, a: np.ndarray, y: np.ndarray, doses: np.ndarray) -> OutcomeFit:
    """Regress ``y`` on the flexible design of ``(X, a)``: noise ratio and anchors at ``doses``.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    a : ndarray of shape (n,)
    y : ndarray of shape (n,)
    doses : ndarray of shape (r,)
        Treatment values at which each unit's leave-one-out prediction becomes an anchor.

    Returns
    -------
    OutcomeFit
    """
    design = FlexibleDesign().fit(X, a)
    fit = RidgeLOO(design.transform(X, a), y)
    alpha, sigma2 = _best_alpha(fit)
    spline = FlexibleDesign(covariates=False).fit(X, a)
    _, sigma2_a = _best_alpha(RidgeLOO(spline.transform(X, a), y))
    signal = max(sigma2_a - sigma2, MIN_SIGNAL_SHARE * float(np.var(y)))
    ratio = float(np.clip(sigma2 / signal, *NOISE_RATIO_BOUNDS)) if signal > 0 else NOISE_RATIO_BOUNDS[0]
    anchors = np.column_stack(
        [fit.loo_predict(design.transform(X, np.full(a.shape[0], t)), alpha) for t in np.asarray(doses)]
    )
    return OutcomeFit(ratio, sigma2, signal, alpha, anchors)


def cross_fitted_anchors(
    X: np.ndarray, a: np.ndarray, y: np.ndarray, doses: np.ndarray, folds: np.ndarray, alpha: float
) -> np.ndarray:
    """Anchors refitted on other folds: each unit's prediction at ``doses`` from the ridge fitted
    (penalty ``alpha``) on the units of the other folds.

    They estimate the same functions as :func:`fit_outcome`'s leave-one-out anchors with other
    estimation noise, so weights tailored to that noise gain nothing on them.
    """
    anchors = np.empty((a.shape[0], np.size(doses)))
    for k in np.unique(folds):
        test = folds == k
        design = FlexibleDesign().fit(X[~test], a[~test])
        fit = RidgeLOO(design.transform(X[~test], a[~test]), y[~test])
        for j, t in enumerate(np.asarray(doses)):
            anchors[test, j] = fit.predict(design.transform(X[test], np.full(int(test.sum()), t)), alpha)
    return anchors
